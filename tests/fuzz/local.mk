# tests/fuzz/: a libFuzzer harness for each parser of outside input, built
# apart from the normal build: clang (configure's FUZZ_CC) compiles the
# parsers' own sources again, with libFuzzer's coverage and the address
# and undefined-behaviour sanitizers, into fuzz/ of the build tree; the
# rest of a harness's program comes from the normal build's libraries.
# Without a clang that links -fsanitize=fuzzer, FUZZ_SKIP says why and
# these rules skip.  Seeds come from the bad-input corpora (tests/data/)
# and the example guests, through tests/fuzz/seeds.py.
#
#   make fuzz [FUZZ_TIME=60] [FUZZ_RUNS=N] [FUZZ_HARNESSES='spec fat']
#
# runs each harness for FUZZ_TIME seconds (or N executions, if that comes
# first) over its seeds, one after the other, and prints its executions, coverage and crashes; what it finds
# new is kept in fuzz/corpus/NAME/, crashes in fuzz/crashes/.  The
# suite runs each briefly (tests/fuzz/test_fuzz.sh).

FUZZ_ALL = spec config image vmm_proto kvm_backend hypercall rings xenstore fat tokens dns tls
FUZZ_HARNESSES = $(FUZZ_ALL)
FUZZ_TIME = 60
FUZZ_RUNS =
FUZZ_CPPFLAGS = $(AM_CPPFLAGS) $(DAEMON_PATHS) -I$(top_builddir)/vmm $(JANSSON_CFLAGS) \
	$(MHD_CFLAGS) $(GNUTLS_CFLAGS) $(NETTLE_CFLAGS) $(LIBEV_CFLAGS)
FUZZ_CFLAGS = -std=gnu11 -g -O1 -fno-omit-frame-pointer -Wall -Wextra -Wno-unused-parameter -Werror \
	-Wno-gnu-variable-sized-type-not-at-end -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_LINK = $(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@

# What each harness compiles: its own file and the parsers it drives.
FUZZ_VMM_SRC = vmm/util.c vmm/hypercall.c vmm/kvm.c common/image_elf.c common/guest_exit.c \
	common/fail.c common/vmm_proto.c
fuzz_spec_SRC = tests/fuzz/fuzz_spec.c daemon/spec.c
fuzz_spec_LIBS = $(JANSSON_LIBS)
fuzz_config_SRC = tests/fuzz/fuzz_config.c daemon/config.c daemon/placement.c daemon/log.c api/auth.c
FUZZ_DAEMON_ARCHIVES = daemon/libshoald.a api/libapi.a common/libcommon.a metrics/libmetrics.a \
	scheduler/libscheduler.a
fuzz_config_LIBS = -Wl,--start-group daemon/libshoald.a api/libapi.a common/libcommon.a \
	metrics/libmetrics.a scheduler/libscheduler.a -Wl,--end-group $(JANSSON_LIBS) $(LIBEV_LIBS) \
	$(MHD_LIBS) $(GNUTLS_LIBS) $(NETTLE_LIBS) $(SQLITE_LIBS) $(SYSTEMD_LIBS) $(SHOALD_XEN_LIBS) $(SHOALD_BPF_LIBS) $(LIBVIRT_LIBS) -lm
fuzz_image_SRC = tests/fuzz/fuzz_image.c common/image_elf.c
fuzz_kvm_backend_SRC = tests/fuzz/fuzz_kvm_backend.c
fuzz_kvm_backend_LIBS = $(fuzz_config_LIBS)
fuzz_vmm_proto_SRC = tests/fuzz/fuzz_vmm_proto.c vmm/control.c vmm/seccomp.c vmm/jail.c vmm/blk.c vmm/net.c \
	$(FUZZ_VMM_SRC) daemon/backend/proc.c daemon/backend/be_fail.c daemon/log.c daemon/spec.c
fuzz_vmm_proto_LIBS = $(JANSSON_LIBS) -lpthread
fuzz_hypercall_SRC = tests/fuzz/fuzz_hypercall.c vmm/blk.c vmm/net.c $(FUZZ_VMM_SRC)
fuzz_hypercall_LIBS = -lpthread
fuzz_rings_SRC = tests/fuzz/fuzz_rings.c $(FUZZ_VMM_SRC)
fuzz_rings_LIBS = -lpthread
fuzz_xenstore_SRC = tests/fuzz/fuzz_xenstore.c daemon/backend/xen_parse.c \
	unikernel-rt/platform/xen/front_parse.c
fuzz_fat_SRC = tests/fuzz/fuzz_fat.c unikernel-rt/core/fat.c unikernel-rt/core/console.c
fuzz_tokens_SRC = tests/fuzz/fuzz_tokens.c api/auth.c common/proc_status.c
fuzz_tokens_LIBS = $(GNUTLS_LIBS) $(NETTLE_LIBS) $(MHD_LIBS)
fuzz_tls_SRC = tests/fuzz/fuzz_tls.c api/auth.c common/proc_status.c
fuzz_tls_LIBS = $(fuzz_tokens_LIBS)
fuzz_dns_SRC = tests/fuzz/fuzz_dns.c
fuzz_dns_LIBS = $(fuzz_config_LIBS)

fuzz_obj = $(patsubst %.c,fuzz/obj/%.o,$(fuzz_$(1)_SRC))

fuzz/obj/%.o: $(srcdir)/%.c
	$(AM_V_CC)$(MKDIR_P) $(@D) && \
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<
-include $(shell find fuzz/obj -name '*.d' 2>/dev/null)

fuzz/fuzz_spec: $(call fuzz_obj,spec)
	$(AM_V_CCLD)$(FUZZ_LINK) $^ $(fuzz_spec_LIBS)
fuzz/fuzz_config: $(call fuzz_obj,config) $(FUZZ_DAEMON_ARCHIVES)
	$(AM_V_CCLD)$(FUZZ_LINK) $(call fuzz_obj,config) $(fuzz_config_LIBS)
fuzz/fuzz_kvm_backend: $(call fuzz_obj,kvm_backend) $(FUZZ_DAEMON_ARCHIVES)
	$(AM_V_CCLD)$(FUZZ_LINK) $(call fuzz_obj,kvm_backend) $(fuzz_kvm_backend_LIBS)
fuzz/fuzz_image: $(call fuzz_obj,image)
	$(AM_V_CCLD)$(FUZZ_LINK) $^
fuzz/fuzz_vmm_proto: $(call fuzz_obj,vmm_proto)
	$(AM_V_CCLD)$(FUZZ_LINK) $^ $(fuzz_vmm_proto_LIBS)
fuzz/fuzz_hypercall: $(call fuzz_obj,hypercall)
	$(AM_V_CCLD)$(FUZZ_LINK) $^ $(fuzz_hypercall_LIBS)
fuzz/fuzz_rings: $(call fuzz_obj,rings)
	$(AM_V_CCLD)$(FUZZ_LINK) $^ $(fuzz_rings_LIBS)
fuzz/fuzz_xenstore: $(call fuzz_obj,xenstore)
	$(AM_V_CCLD)$(FUZZ_LINK) $^
fuzz/fuzz_fat: $(call fuzz_obj,fat)
	$(AM_V_CCLD)$(FUZZ_LINK) $^
fuzz/fuzz_tokens: $(call fuzz_obj,tokens)
	$(AM_V_CCLD)$(FUZZ_LINK) $^ $(fuzz_tokens_LIBS)
fuzz/fuzz_tls: $(call fuzz_obj,tls)
	$(AM_V_CCLD)$(FUZZ_LINK) $^ $(fuzz_tls_LIBS)
fuzz/fuzz_dns: $(call fuzz_obj,dns) $(FUZZ_DAEMON_ARCHIVES)
	$(AM_V_CCLD)$(FUZZ_LINK) $(call fuzz_obj,dns) $(fuzz_dns_LIBS)

# The seeds: the corpora of tests/data/ in each harness's input format,
# the example guests and mkbadelf's damaged copies, FAT images.
fuzz/seeds/.stamp: $(srcdir)/tests/fuzz/seeds.py $(srcdir)/tests/data/spec-values.txt \
		$(srcdir)/tests/data/api-bad-input.txt $(srcdir)/tests/data/bad-elf.txt \
		$(srcdir)/tests/data/xen-values.txt $(srcdir)/tests/data/xen-front-values.txt \
		$(srcdir)/tests/data/auth-config.txt tests/integration/mkbadelf$(EXEEXT) $(guest_DATA)
	$(AM_V_GEN)rm -rf fuzz/seeds && $(MKDIR_P) fuzz/seeds && \
	python3 $(srcdir)/tests/fuzz/seeds.py '$(srcdir)' . fuzz/seeds && touch $@

# The harnesses and their seeds, or a line saying why not (fuzz/skip).
fuzz-build:
	@rm -f fuzz/skip
	@if test -n '$(FUZZ_SKIP)'; then \
		$(MKDIR_P) fuzz && echo '$(FUZZ_SKIP)' >fuzz/skip && \
		echo "fuzz: skipped: $(FUZZ_SKIP)"; \
	else \
		$(MAKE) $(AM_MAKEFLAGS) -s --no-print-directory $(patsubst %,fuzz/fuzz_%,$(FUZZ_ALL)) \
			fuzz/seeds/.stamp; \
	fi

fuzz: fuzz-build
	@FUZZ_TIME='$(FUZZ_TIME)' FUZZ_RUNS='$(FUZZ_RUNS)' FUZZ_HARNESSES='$(FUZZ_HARNESSES)' top_srcdir='$(abs_top_srcdir)' \
		top_builddir='$(abs_top_builddir)' $(SHELL) $(srcdir)/tests/fuzz/test_fuzz.sh

# The suite's run: each harness briefly (test_fuzz.sh without FUZZ_TIME).
TESTS += tests/fuzz/test_fuzz.sh
tests/fuzz/test_fuzz.log: fuzz-build

clean-local: clean-fuzz
clean-fuzz:
	rm -rf fuzz
.PHONY: fuzz fuzz-build clean-fuzz

EXTRA_DIST += tests/fuzz/local.mk tests/fuzz/test_fuzz.sh tests/fuzz/seeds.py \
	$(patsubst %,tests/fuzz/fuzz_%.c,$(FUZZ_ALL))
