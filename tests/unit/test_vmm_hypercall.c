/*
 * Unit tests of the tender's hypercall handlers against a real block of
 * "guest memory": good calls do what they say, every bad address, length
 * or count stops the guest with GUEST_EXIT_BADCALL and a reason naming it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/vmm.h"

#define MEM (1u << 20)

struct fixture {
	struct vmm_guestmem m;
	int pipe[2];
	struct vmm_hc_result res;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->m.base = calloc(1, MEM);
	f->m.size = MEM;
	assert_int_equal(pipe(f->pipe), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	close(f->pipe[0]);
	close(f->pipe[1]);
	free(f->m.base);
	free(f);
	return 0;
}

static void put(struct fixture *f, uint64_t gpa, const void *p, size_t n)
{
	memcpy(f->m.base + gpa, p, n);
}

static enum vmm_hc_outcome call(struct fixture *f, unsigned nr, uint32_t arg)
{
	struct vmm_console_sink sink = { vmm_console_to_fd, (void *)(intptr_t)f->pipe[1] };

	memset(&f->res, 0, sizeof(f->res));
	return vmm_hypercall(&f->m, nr, arg, &sink, &f->res);
}

static void console_writes_pieces(void **state)
{
	struct fixture *f = *state;
	struct shoal_iov iov[2] = { { 0x2000, 6 }, { 0x3000, 5 } };
	struct shoal_hc_console a = { 0x1000, 2, 0 };
	char out[32] = { 0 };

	put(f, 0x2000, "hello ", 6);
	put(f, 0x3000, "world", 5);
	put(f, 0x1000, iov, sizeof(iov));
	put(f, 0x100, &a, sizeof(a));
	assert_int_equal(call(f, SHOAL_HC_CONSOLE, 0x100), VMM_HC_CONTINUE);
	assert_int_equal(read(f->pipe[0], out, sizeof(out)), 11);
	assert_string_equal(out, "hello world");
}

static void console_empty_is_fine(void **state)
{
	struct fixture *f = *state;
	struct shoal_hc_console a = { 0, 0, 0 };

	put(f, 0x100, &a, sizeof(a));
	assert_int_equal(call(f, SHOAL_HC_CONSOLE, 0x100), VMM_HC_CONTINUE);
}

static void expect_badcall(struct fixture *f, unsigned nr, uint32_t arg, const char *text)
{
	assert_int_equal(call(f, nr, arg), VMM_HC_STOP);
	assert_int_equal(f->res.status, GUEST_EXIT_BADCALL);
	if (!strstr(f->res.reason, text))
		fail_msg("reason \"%s\" lacks \"%s\"", f->res.reason, text);
}

static void console_rejects_bad_buffer(void **state)
{
	struct fixture *f = *state;
	struct shoal_iov iov = { MEM - 2, 3 };
	struct shoal_hc_console a = { 0x1000, 1, 0 };

	put(f, 0x1000, &iov, sizeof(iov));
	put(f, 0x100, &a, sizeof(a));
	expect_badcall(f, SHOAL_HC_CONSOLE, 0x100,
	               "iov[0] buffer 0xffffe (+3 bytes) is outside guest memory");
}

static void console_rejects_wrapping_buffer(void **state)
{
	struct fixture *f = *state;
	struct shoal_iov iov = { ~0ull - 1, 4 };
	struct shoal_hc_console a = { 0x1000, 1, 0 };

	put(f, 0x1000, &iov, sizeof(iov));
	put(f, 0x100, &a, sizeof(a));
	expect_badcall(f, SHOAL_HC_CONSOLE, 0x100, "outside guest memory");
}

static void console_rejects_huge_length(void **state)
{
	struct fixture *f = *state;
	struct shoal_iov iov[2] = { { 0x2000, 40000 }, { 0x2000, 40000 } };
	struct shoal_hc_console a = { 0x1000, 2, 0 };

	put(f, 0x1000, iov, sizeof(iov));
	put(f, 0x100, &a, sizeof(a));
	expect_badcall(f, SHOAL_HC_CONSOLE, 0x100,
	               "iov[1] length 40000 takes the write over 65536 bytes");
}

static void console_rejects_too_many_pieces(void **state)
{
	struct fixture *f = *state;
	struct shoal_hc_console a = { 0x1000, SHOAL_CONSOLE_IOV_MAX + 1, 0 };

	put(f, 0x100, &a, sizeof(a));
	expect_badcall(f, SHOAL_HC_CONSOLE, 0x100, "iovcnt 65 is more than 64 pieces");
}

static void console_rejects_bad_iov_array(void **state)
{
	struct fixture *f = *state;
	struct shoal_hc_console a = { MEM - 16, 2, 0 };

	put(f, 0x100, &a, sizeof(a));
	expect_badcall(f, SHOAL_HC_CONSOLE, 0x100,
	               "iov array at 0xffff0 (2 pieces) is outside guest memory");
}

static void rejects_argument_outside(void **state)
{
	expect_badcall(*state, SHOAL_HC_CONSOLE, MEM - 8,
	               "argument struct at 0xffff8 (+16 bytes) is outside");
}

static void rejects_unknown_numbers(void **state)
{
	expect_badcall(*state, 0, 0x100, "number 0 does not exist");
	expect_badcall(*state, SHOAL_HC_MAX + 1, 0x100, "does not exist");
	expect_badcall(*state, 255, 0x100, "number 255 does not exist");
}

static void exit_carries_code(void **state)
{
	struct fixture *f = *state;
	struct shoal_hc_exit a = { 42, 0 };

	put(f, 0x100, &a, sizeof(a));
	assert_int_equal(call(f, SHOAL_HC_EXIT, 0x100), VMM_HC_STOP);
	assert_int_equal(f->res.status, 42);
}

static void exit_rejects_reserved_codes(void **state)
{
	struct fixture *f = *state;
	struct shoal_hc_exit a = { 200, 0 };

	put(f, 0x100, &a, sizeof(a));
	expect_badcall(f, SHOAL_HC_EXIT, 0x100, "code 200 is outside 0..199");
	a.code = -1;
	put(f, 0x100, &a, sizeof(a));
	expect_badcall(f, SHOAL_HC_EXIT, 0x100, "code -1 is outside");
}

static void abort_reports_and_sanitises(void **state)
{
	struct fixture *f = *state;
	struct shoal_hc_abort a = { { 0x2000, 6 }, { 0x3000, 9 }, 17, 0 };

	put(f, 0x2000, "main.c", 6);
	put(f, 0x3000, "bad\nthing", 9);
	put(f, 0x100, &a, sizeof(a));
	assert_int_equal(call(f, SHOAL_HC_ABORT, 0x100), VMM_HC_STOP);
	assert_int_equal(f->res.status, GUEST_EXIT_ABORT);
	assert_string_equal(f->res.reason, "guest aborted at main.c:17: bad?thing");
}

static void abort_rejects_bad_strings(void **state)
{
	struct fixture *f = *state;
	struct shoal_hc_abort a = { { 0x2000, 6 }, { MEM, 1 }, 17, 0 };

	put(f, 0x100, &a, sizeof(a));
	expect_badcall(f, SHOAL_HC_ABORT, 0x100,
	               "message string at 0x100000 (+1 bytes) is outside");
}

static void fault_is_described(void **state)
{
	struct fixture *f = *state;
	struct shoal_hc_fault a = { 14, 2, 0x100123, 8, 0x202, 0x1ff000, 0x10 };

	put(f, 0x100, &a, sizeof(a));
	assert_int_equal(call(f, SHOAL_HC_FAULT, 0x100), VMM_HC_STOP);
	assert_int_equal(f->res.status, GUEST_EXIT_FAULT);
	assert_string_equal(f->res.reason, "guest fault: page fault (#PF) at rip 0x100123: writing "
	                                   "address 0x10 (NULL pointer) (error code 0x2)");
	a.vector = 99;
	put(f, 0x100, &a, sizeof(a));
	call(f, SHOAL_HC_FAULT, 0x100);
	assert_non_null(strstr(f->res.reason, "exception 99 at rip 0x100123"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(console_writes_pieces, setup, teardown),
		cmocka_unit_test_setup_teardown(console_empty_is_fine, setup, teardown),
		cmocka_unit_test_setup_teardown(console_rejects_bad_buffer, setup, teardown),
		cmocka_unit_test_setup_teardown(console_rejects_wrapping_buffer, setup, teardown),
		cmocka_unit_test_setup_teardown(console_rejects_huge_length, setup, teardown),
		cmocka_unit_test_setup_teardown(console_rejects_too_many_pieces, setup, teardown),
		cmocka_unit_test_setup_teardown(console_rejects_bad_iov_array, setup, teardown),
		cmocka_unit_test_setup_teardown(rejects_argument_outside, setup, teardown),
		cmocka_unit_test_setup_teardown(rejects_unknown_numbers, setup, teardown),
		cmocka_unit_test_setup_teardown(exit_carries_code, setup, teardown),
		cmocka_unit_test_setup_teardown(exit_rejects_reserved_codes, setup, teardown),
		cmocka_unit_test_setup_teardown(abort_reports_and_sanitises, setup, teardown),
		cmocka_unit_test_setup_teardown(abort_rejects_bad_strings, setup, teardown),
		cmocka_unit_test_setup_teardown(fault_is_described, setup, teardown),
	};

	return cmocka_run_group_tests_name("vmm_hypercall", tests, NULL, NULL);
}
