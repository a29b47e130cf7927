/*
 * Hypercall handlers.  The guest passes the guest-physical address of an
 * argument struct; everything in it is the guest's word and is checked
 * against guest memory before the tender touches it.  A bad argument
 * ends the guest (never the tender) with a reason naming the field.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "vmm/vmm.h"

static const char *const hc_names[] = {
	[SHOAL_HC_CONSOLE] = "console",
	[SHOAL_HC_EXIT] = "exit",
	[SHOAL_HC_ABORT] = "abort",
	[SHOAL_HC_FAULT] = "fault",
};

static enum vmm_hc_outcome stop(struct vmm_hc_result *res, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum vmm_hc_outcome stop(struct vmm_hc_result *res, int status, const char *fmt, ...)
{
	va_list ap;

	res->status = status;
	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	va_end(ap);
	return VMM_HC_STOP;
}

/* Host pointer for guest range [gpa, gpa + len), or NULL if any of it is outside. */
static void *gmem(const struct vmm_guestmem *m, uint64_t gpa, uint64_t len)
{
	if (len > m->size || gpa > m->size - len)
		return NULL;
	return m->base + gpa;
}

/* Copy a guest string of at most max bytes, replacing unprintable bytes. */
static void copy_text(char *dst, size_t cap, const uint8_t *src, uint64_t len)
{
	size_t i, n = len < cap - 1 ? (size_t)len : cap - 1;

	for (i = 0; i < n; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char)src[i] : '?';
	dst[n] = '\0';
}

void vmm_console_to_fd(void *fd_as_ptr, const struct iovec *in, int n)
{
	struct iovec iov[SHOAL_CONSOLE_IOV_MAX], *v = iov;
	int fd = (int)(intptr_t)fd_as_ptr;

	if (n > (int)SHOAL_CONSOLE_IOV_MAX)
		n = SHOAL_CONSOLE_IOV_MAX;
	memcpy(iov, in, sizeof(*in) * (size_t)n);
	while (n > 0) {
		ssize_t r = writev(fd, v, n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return; /* console gone: the guest keeps running */
		}
		while (n > 0 && (size_t)r >= v->iov_len) {
			r -= (ssize_t)v->iov_len;
			v++;
			n--;
		}
		if (n > 0) {
			v->iov_base = (char *)v->iov_base + r;
			v->iov_len -= (size_t)r;
		}
	}
}

static enum vmm_hc_outcome hc_console(const struct vmm_guestmem *m,
                                      const struct shoal_hc_console *a,
                                      const struct vmm_console_sink *console,
                                      struct vmm_hc_result *res)
{
	struct iovec out[SHOAL_CONSOLE_IOV_MAX];
	const struct shoal_iov *gi;
	uint64_t total = 0;
	unsigned i;

	if (a->iovcnt > SHOAL_CONSOLE_IOV_MAX)
		return stop(res, GUEST_EXIT_BADCALL,
		            "bad hypercall console: iovcnt %u is more than %u pieces", a->iovcnt,
		            SHOAL_CONSOLE_IOV_MAX);
	gi = gmem(m, a->iov, (uint64_t)a->iovcnt * sizeof(*gi));
	if (!gi)
		return stop(res, GUEST_EXIT_BADCALL,
		            "bad hypercall console: iov array at 0x%llx (%u pieces) is outside "
		            "guest memory (0x%llx bytes)",
		            (unsigned long long)a->iov, a->iovcnt, (unsigned long long)m->size);
	for (i = 0; i < a->iovcnt; i++) {
		struct shoal_iov v;

		memcpy(&v, &gi[i], sizeof(v));
		if (v.len > SHOAL_CONSOLE_MAX_BYTES || total + v.len > SHOAL_CONSOLE_MAX_BYTES)
			return stop(res, GUEST_EXIT_BADCALL,
			            "bad hypercall console: iov[%u] length %llu takes the write "
			            "over %u bytes",
			            i, (unsigned long long)v.len, SHOAL_CONSOLE_MAX_BYTES);
		out[i].iov_base = gmem(m, v.base, v.len);
		if (!out[i].iov_base)
			return stop(res, GUEST_EXIT_BADCALL,
			            "bad hypercall console: iov[%u] buffer 0x%llx (+%llu bytes) is "
			            "outside guest memory (0x%llx bytes)",
			            i, (unsigned long long)v.base, (unsigned long long)v.len,
			            (unsigned long long)m->size);
		out[i].iov_len = (size_t)v.len;
		total += v.len;
	}
	if (console && a->iovcnt)
		console->write(console->ctx, out, (int)a->iovcnt);
	return VMM_HC_CONTINUE;
}

static enum vmm_hc_outcome hc_abort(const struct vmm_guestmem *m, const struct shoal_hc_abort *a,
                                    struct vmm_hc_result *res)
{
	char file[256], msg[SHOAL_ABORT_MSG_MAX];
	const uint8_t *f, *s;

	f = gmem(m, a->file.base, a->file.len);
	s = gmem(m, a->msg.base, a->msg.len);
	if (!f || !s)
		return stop(res, GUEST_EXIT_BADCALL,
		            "bad hypercall abort: %s string at 0x%llx (+%llu bytes) is outside "
		            "guest memory",
		            !f ? "file" : "message",
		            (unsigned long long)(!f ? a->file.base : a->msg.base),
		            (unsigned long long)(!f ? a->file.len : a->msg.len));
	copy_text(file, sizeof(file), f, a->file.len);
	copy_text(msg, sizeof(msg), s, a->msg.len);
	return stop(res, GUEST_EXIT_ABORT, "guest aborted at %s:%u: %s", file, a->line, msg);
}

void vmm_describe_fault(const struct shoal_hc_fault *f, char *buf, size_t len)
{
	const char *name = shoal_exc_name(f->vector);
	char vec[32];

	if (!name) {
		snprintf(vec, sizeof(vec), "exception %llu", (unsigned long long)f->vector);
		name = vec;
	}
	if (f->vector == 14)
		snprintf(buf, len,
		         "guest fault: %s at rip 0x%llx: %s address 0x%llx%s (error code 0x%llx)",
		         name, (unsigned long long)f->rip,
		         (f->error_code & 2) ? "writing" : "reading", (unsigned long long)f->cr2,
		         f->cr2 < SHOAL_PAGE_SIZE ? " (NULL pointer)" : "",
		         (unsigned long long)f->error_code);
	else
		snprintf(buf, len, "guest fault: %s at rip 0x%llx, rsp 0x%llx (error code 0x%llx)",
		         name, (unsigned long long)f->rip, (unsigned long long)f->rsp,
		         (unsigned long long)f->error_code);
}

enum vmm_hc_outcome vmm_hypercall(const struct vmm_guestmem *m, unsigned nr, uint32_t arg,
                                  const struct vmm_console_sink *console, struct vmm_hc_result *res)
{
	static const uint64_t arg_size[] = {
		[SHOAL_HC_CONSOLE] = sizeof(struct shoal_hc_console),
		[SHOAL_HC_EXIT] = sizeof(struct shoal_hc_exit),
		[SHOAL_HC_ABORT] = sizeof(struct shoal_hc_abort),
		[SHOAL_HC_FAULT] = sizeof(struct shoal_hc_fault),
	};
	const void *p;

	if (nr == 0 || nr > SHOAL_HC_MAX)
		return stop(res, GUEST_EXIT_BADCALL,
		            "bad hypercall: number %u does not exist (1..%u)", nr, SHOAL_HC_MAX);
	p = gmem(m, arg, arg_size[nr]);
	if (!p)
		return stop(res, GUEST_EXIT_BADCALL,
		            "bad hypercall %s: argument struct at 0x%llx (+%llu bytes) is outside "
		            "guest memory (0x%llx bytes)",
		            hc_names[nr], (unsigned long long)arg, (unsigned long long)arg_size[nr],
		            (unsigned long long)m->size);

	switch (nr) {
	case SHOAL_HC_CONSOLE: {
		struct shoal_hc_console a;

		memcpy(&a, p, sizeof(a));
		return hc_console(m, &a, console, res);
	}
	case SHOAL_HC_EXIT: {
		struct shoal_hc_exit a;

		memcpy(&a, p, sizeof(a));
		if (a.code < 0 || a.code > SHOAL_EXIT_CODE_MAX)
			return stop(res, GUEST_EXIT_BADCALL,
			            "bad hypercall exit: code %d is outside 0..%d", a.code,
			            SHOAL_EXIT_CODE_MAX);
		return stop(res, a.code, "guest exited with code %d", a.code);
	}
	case SHOAL_HC_ABORT: {
		struct shoal_hc_abort a;

		memcpy(&a, p, sizeof(a));
		return hc_abort(m, &a, res);
	}
	case SHOAL_HC_FAULT: {
		struct shoal_hc_fault a;

		memcpy(&a, p, sizeof(a));
		vmm_describe_fault(&a, res->reason, sizeof(res->reason));
		res->status = GUEST_EXIT_FAULT;
		return VMM_HC_STOP;
	}
	}
	return VMM_HC_CONTINUE;
}
