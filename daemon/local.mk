# daemon/: shoal-vmm (the KVM tender) for now; shoald and its backends join here.

# The tender's syscall filter is compiled at build time (see seccomp_gen.c).
noinst_PROGRAMS += daemon/vmm/seccomp_gen
daemon_vmm_seccomp_gen_SOURCES = daemon/vmm/seccomp_gen.c
daemon_vmm_seccomp_gen_CFLAGS = $(AM_CFLAGS) $(SECCOMP_CFLAGS)
daemon_vmm_seccomp_gen_LDADD = $(SECCOMP_LIBS)

daemon/vmm/vmm_seccomp_bpf.h: daemon/vmm/seccomp_gen$(EXEEXT)
	$(AM_V_GEN)$(MKDIR_P) $(@D) && ./daemon/vmm/seccomp_gen$(EXEEXT) > $@.tmp && mv $@.tmp $@
BUILT_SOURCES += daemon/vmm/vmm_seccomp_bpf.h
CLEANFILES += daemon/vmm/vmm_seccomp_bpf.h

# Pieces of the tender that tests and benchmarks link too.
noinst_LIBRARIES += daemon/vmm/libvmm.a
daemon_vmm_libvmm_a_SOURCES = \
	daemon/vmm/vmm.h \
	daemon/vmm/vmm_proto.h \
	daemon/vmm/elf.c \
	daemon/vmm/hypercall.c \
	daemon/vmm/kvm.c \
	daemon/vmm/proto.c

pkglibexec_PROGRAMS += daemon/vmm/shoal-vmm
daemon_vmm_shoal_vmm_SOURCES = daemon/vmm/main.c daemon/vmm/control.c daemon/vmm/seccomp.c
nodist_daemon_vmm_shoal_vmm_SOURCES = daemon/vmm/vmm_seccomp_bpf.h
daemon_vmm_shoal_vmm_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_builddir)/daemon/vmm
daemon_vmm_shoal_vmm_LDADD = daemon/vmm/libvmm.a -lpthread

# shoald: the daemon, its KVM backend and its API.
DAEMON_PATHS = -DSYSCONFDIR='"$(sysconfdir)"' -DPKGLIBEXECDIR='"$(pkglibexecdir)"' -DPKGDATADIR='"$(pkgdatadir)"'
SHOALD_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(LIBEV_CFLAGS) $(MHD_CFLAGS) $(GNUTLS_CFLAGS) $(SQLITE_CFLAGS) \
	$(SYSTEMD_CFLAGS)

noinst_LIBRARIES += daemon/libshoald.a
daemon_libshoald_a_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir) $(DAEMON_PATHS)
daemon_libshoald_a_CFLAGS = $(SHOALD_CFLAGS)
daemon_libshoald_a_SOURCES = \
	daemon/shoald.h daemon/daemon.h daemon/log.h daemon/spec.h \
	daemon/backend/backend.h \
	daemon/log.c daemon/spec.c daemon/config.c daemon/guest.c daemon/console.c \
	daemon/events.c daemon/store.c daemon/images.c daemon/probe.c daemon/metrics_page.c daemon/placement.c \
	daemon/backend/backend.c daemon/backend/kvm.c daemon/backend/kvm_cpu.c daemon/backend/kvm_cpu.h \
	daemon/backend/xen_cpu.h \
	api/api.h api/api_internal.h api/server.c api/routes.c api/ui.c api/auth.c

# The Xen backend, when configure finds libxl, libxenstore and libxenevtchn.
daemon_libshoald_a_SOURCES += daemon/backend/xen_parse.c daemon/backend/xen_parse.h
if HAVE_XEN
daemon_libshoald_a_SOURCES += daemon/backend/xen.c daemon/backend/xen_build.c daemon/backend/xen_build.h
SHOALD_XEN_LIBS = $(XEN_CPU_LIBS)
endif
daemon_libshoald_a_CFLAGS += $(XEN_CFLAGS)

sbin_PROGRAMS += daemon/shoald
daemon_shoald_SOURCES = daemon/main.c
daemon_shoald_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir) $(DAEMON_PATHS)
daemon_shoald_CFLAGS = $(SHOALD_CFLAGS)
daemon_shoald_LDADD = daemon/libshoald.a daemon/vmm/libvmm.a metrics/libmetrics.a scheduler/libscheduler.a \
	$(JANSSON_LIBS) $(LIBEV_LIBS) \
	$(MHD_LIBS) $(GNUTLS_LIBS) $(SQLITE_LIBS) $(SYSTEMD_LIBS) $(SHOALD_XEN_LIBS) -lnettle -lm

# Placement on Xen (libxl): its own library, linked by shoald's Xen backend
# and by the tests that drive it (tests/unit/test_xen_cpu, tests/xen/xen-cpu-check).
if HAVE_XEN
noinst_LIBRARIES += daemon/backend/libxen_cpu.a
daemon_backend_libxen_cpu_a_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)
daemon_backend_libxen_cpu_a_CFLAGS = $(AM_CFLAGS) $(XEN_CFLAGS)
daemon_backend_libxen_cpu_a_SOURCES = daemon/backend/xen_cpu.c daemon/backend/xen_cpu.h
XEN_CPU_LIBS = daemon/backend/libxen_cpu.a scheduler/libscheduler.a $(XEN_LIBS)
endif
EXTRA_DIST += daemon/backend/xen_cpu.c daemon/backend/xen_cpu.h
