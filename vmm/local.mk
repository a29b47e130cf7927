# vmm/: shoal-vmm, the KVM tender, a program of its own (one process per
# guest).  It depends on the guest ABI and common/ only.

# The tender's syscall filter is compiled at build time (see seccomp_gen.c).
noinst_PROGRAMS += vmm/seccomp_gen
vmm_seccomp_gen_SOURCES = vmm/seccomp_gen.c
vmm_seccomp_gen_CFLAGS = $(AM_CFLAGS) $(SECCOMP_CFLAGS)
vmm_seccomp_gen_LDADD = $(SECCOMP_LIBS)

if SANITIZERS
SECCOMP_GEN_FLAGS = --sanitizers
endif
vmm/vmm_seccomp_bpf.h: vmm/seccomp_gen$(EXEEXT)
	$(AM_V_GEN)$(MKDIR_P) $(@D) && ./vmm/seccomp_gen$(EXEEXT) $(SECCOMP_GEN_FLAGS) > $@.tmp && mv $@.tmp $@
BUILT_SOURCES += vmm/vmm_seccomp_bpf.h
CLEANFILES += vmm/vmm_seccomp_bpf.h

# The VM and the hypercalls: a library, so that the unit tests and the
# probe-floor benchmark drive them directly.
noinst_LIBRARIES += vmm/libvmm.a

vmm_libvmm_a_SOURCES = \
	vmm/vmm.h \
	vmm/util.h \
	vmm/util.c \
	vmm/jail.h \
	vmm/jail.c \
	vmm/hypercall.c \
	vmm/kvm.c \
	vmm/devs.h \
	vmm/blk.c \
	vmm/net.c

pkglibexec_PROGRAMS += vmm/shoal-vmm
vmm_shoal_vmm_SOURCES = vmm/main.c vmm/control.c vmm/seccomp.c
nodist_vmm_shoal_vmm_SOURCES = vmm/vmm_seccomp_bpf.h
vmm_shoal_vmm_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_builddir)/vmm
vmm_shoal_vmm_LDADD = vmm/libvmm.a common/libcommon.a -lpthread
# A static PIE where the C library allows it (configure.ac says why).
vmm_shoal_vmm_LDFLAGS = $(AM_LDFLAGS) $(VMM_STATIC_LDFLAGS)
# A sanitized build's shoal-vmm: no leak check at exit, no signal stack of the
# sanitizer's own (see the file).
if SANITIZERS
vmm_shoal_vmm_SOURCES += vmm/sanitizer.c
endif

# shoal-proc, the process tender (see proc.h): its guest's filter is
# compiled at build time too, with the system call names of its report.
noinst_PROGRAMS += vmm/proc_seccomp_gen
vmm_proc_seccomp_gen_SOURCES = vmm/proc_seccomp_gen.c
vmm_proc_seccomp_gen_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/unikernel-rt/include
vmm_proc_seccomp_gen_CFLAGS = $(AM_CFLAGS) $(SECCOMP_CFLAGS)
vmm_proc_seccomp_gen_LDADD = $(SECCOMP_LIBS)

vmm/proc_seccomp_bpf.h: vmm/proc_seccomp_gen$(EXEEXT)
	$(AM_V_GEN)$(MKDIR_P) $(@D) && ./vmm/proc_seccomp_gen$(EXEEXT) > $@.tmp && mv $@.tmp $@
BUILT_SOURCES += vmm/proc_seccomp_bpf.h
CLEANFILES += vmm/proc_seccomp_bpf.h

pkglibexec_PROGRAMS += vmm/shoal-proc
vmm_shoal_proc_SOURCES = vmm/proc.h vmm/proc_main.c vmm/proc_load.c vmm/proc_jail.c
nodist_vmm_shoal_proc_SOURCES = vmm/proc_seccomp_bpf.h
vmm_shoal_proc_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_builddir)/vmm
# Static (and position-independent, so that it stays far above the
# guest's addresses): a cold start pays for no dynamic loader.
vmm_shoal_proc_LDFLAGS = -static-pie
# A sanitized build's shoal-proc is not instrumented, and has its own
# copies of the few pieces of the libraries it uses: the guest runs in
# its process, and after the jail the address sanitizer's runtime would
# need what the guest is denied (its allocator maps memory, which the
# filter traps and RLIMIT_AS of 0 refuses).  shoald, which runs it, is.
if SANITIZERS
vmm_shoal_proc_SOURCES += vmm/util.c vmm/hypercall.c vmm/jail.c common/fail.c common/image_elf.c common/vmm_proto.c \
	common/guest_exit.c
vmm_shoal_proc_CFLAGS = $(WARN_CFLAGS) -std=gnu11
vmm_shoal_proc_LDADD =
else
vmm_shoal_proc_LDADD = vmm/libvmm.a common/libcommon.a
endif

# The same tender for callgrind (bench/net.sh, with --no-jail): valgrind
# loads a static-pie at 1 MiB + 32 KiB, where the guest's memory must go,
# so this one is linked static at a fixed 1 GiB (the small code model of
# the C start files keeps it below 2 GiB): guests of up to ~1000 MiB.
# Not in a sanitized build: valgrind and the address sanitizer do not
# run together, and the sanitizers' runtimes do not link statically.
if !SANITIZERS
noinst_PROGRAMS += vmm/shoal-proc-vg
endif
vmm_shoal_proc_vg_SOURCES = $(vmm_shoal_proc_SOURCES)
nodist_vmm_shoal_proc_vg_SOURCES = $(nodist_vmm_shoal_proc_SOURCES)
vmm_shoal_proc_vg_CPPFLAGS = $(vmm_shoal_proc_CPPFLAGS)
vmm_shoal_proc_vg_LDADD = $(vmm_shoal_proc_LDADD)
vmm_shoal_proc_vg_LDFLAGS = -static -no-pie -Wl,-Ttext-segment=0x40000000
