# daemon/: shoald, its registry, supervisor, probe engine, placement,
# stores and consoles, and its backends behind one ops table.  It links
# the API server (api/), the pure libraries (scheduler/, metrics/) and the
# shared contracts (common/); the KVM tender is a program of its own (vmm/).

DAEMON_PATHS = -DSYSCONFDIR='"$(sysconfdir)"' -DPKGLIBEXECDIR='"$(pkglibexecdir)"' -DPKGDATADIR='"$(pkgdatadir)"'
SHOALD_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(LIBEV_CFLAGS) $(SQLITE_CFLAGS) $(SYSTEMD_CFLAGS) $(NETTLE_CFLAGS)

noinst_LIBRARIES += daemon/libshoald.a
daemon_libshoald_a_CPPFLAGS = $(AM_CPPFLAGS) $(DAEMON_PATHS)
daemon_libshoald_a_CFLAGS = $(SHOALD_CFLAGS)
daemon_libshoald_a_SOURCES = \
	daemon/shoald.h daemon/daemon.h daemon/log.h daemon/spec.h \
	daemon/backend/backend.h \
	daemon/log.c daemon/spec.c daemon/config.c daemon/guest.c daemon/console.c \
	daemon/events.c daemon/store.c daemon/images.c daemon/probe.c daemon/metrics_page.c daemon/placement.c \
	daemon/probe_heap.c daemon/probe_heap.h daemon/net.c daemon/dns.c daemon/clock.c \
	daemon/backend/backend.c daemon/backend/be_fail.c daemon/backend/kvm.c daemon/backend/kvm_cpu.c daemon/backend/kvm_cpu.h daemon/backend/kvm_net.c daemon/backend/kvm_net.h \
	daemon/backend/proc.c daemon/backend/proc.h \
	daemon/backend/proc_rate.c daemon/backend/proc_rate.h daemon/backend/proc_rate_bpf.h \
	daemon/backend/hostdev.c daemon/backend/hostdev.h daemon/backend/xen_cpu.h daemon/backend/xen_weight.h \
	daemon/backend/worker.c daemon/backend/worker.h

# The Xen backend, when configure finds libxl, libxenstore and libxenevtchn.
daemon_libshoald_a_SOURCES += daemon/backend/xen_parse.c daemon/backend/xen_parse.h
if HAVE_XEN
daemon_libshoald_a_SOURCES += daemon/backend/xen.c daemon/backend/xen_build.c daemon/backend/xen_build.h \
	daemon/backend/xen_dev.c daemon/backend/xen_dev.h daemon/backend/xen_probe.c daemon/backend/xen_probe.h
SHOALD_XEN_LIBS = $(XEN_CPU_LIBS)
endif
daemon_libshoald_a_CFLAGS += $(XEN_CFLAGS)

# The proc backend's rate limit: its BPF program, built by clang's bpf
# target and embedded in shoald as an array (proc_rate.bpf.inc), which
# libbpf loads from memory: nothing to install or find at run time.
EXTRA_DIST += daemon/backend/proc_rate.bpf.c
if HAVE_PROC_RATE
daemon_libshoald_a_CFLAGS += $(LIBBPF_CFLAGS)
SHOALD_BPF_LIBS = $(LIBBPF_LIBS)
BUILT_SOURCES += daemon/backend/proc_rate.bpf.inc
CLEANFILES += daemon/backend/proc_rate.bpf.o daemon/backend/proc_rate.bpf.inc
daemon/backend/proc_rate.bpf.o: $(srcdir)/daemon/backend/proc_rate.bpf.c $(srcdir)/daemon/backend/proc_rate_bpf.h
	$(AM_V_CC)$(MKDIR_P) $(@D) && \
	$(BPF_CC) -O2 -g -target bpf $(BPF_CPPFLAGS) -I$(top_srcdir) -c -o $@ $(srcdir)/daemon/backend/proc_rate.bpf.c
daemon/backend/proc_rate.bpf.inc: daemon/backend/proc_rate.bpf.o
	$(AM_V_GEN){ echo '/* Made by the build from proc_rate.bpf.o. */'; \
	  echo 'static const unsigned char proc_rate_obj[] __attribute__((aligned(8))) = {'; \
	  od -An -v -tx1 daemon/backend/proc_rate.bpf.o | sed 's/\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '};'; } >$@.tmp && mv $@.tmp $@
endif

# The libvirt backend, when configure finds libvirt.
if HAVE_LIBVIRT
daemon_libshoald_a_SOURCES += daemon/backend/libvirt.c
endif
daemon_libshoald_a_CFLAGS += $(LIBVIRT_CFLAGS)
EXTRA_DIST += daemon/backend/libvirt.c

sbin_PROGRAMS += daemon/shoald
daemon_shoald_SOURCES = daemon/main.c
daemon_shoald_CPPFLAGS = $(AM_CPPFLAGS) $(DAEMON_PATHS)
daemon_shoald_CFLAGS = $(SHOALD_CFLAGS)
daemon_shoald_LDADD = api/libapi.a daemon/libshoald.a common/libcommon.a metrics/libmetrics.a \
	scheduler/libscheduler.a $(JANSSON_LIBS) $(LIBEV_LIBS) $(MHD_LIBS) $(GNUTLS_LIBS) $(NETTLE_LIBS) \
	$(SQLITE_LIBS) $(SYSTEMD_LIBS) $(SHOALD_XEN_LIBS) $(SHOALD_BPF_LIBS) $(LIBVIRT_LIBS) -lm

# Placement on Xen (libxl): its own library, linked by shoald's Xen backend
# and by the tests that drive it (tests/unit/test_xen_cpu, tests/xen/xen-cpu-check).
if HAVE_XEN
noinst_LIBRARIES += daemon/backend/libxen_cpu.a
daemon_backend_libxen_cpu_a_CFLAGS = $(AM_CFLAGS) $(XEN_CFLAGS)
daemon_backend_libxen_cpu_a_SOURCES = daemon/backend/xen_cpu.c daemon/backend/xen_cpu.h
XEN_CPU_LIBS = daemon/backend/libxen_cpu.a scheduler/libscheduler.a $(XEN_LIBS)
endif
EXTRA_DIST += daemon/backend/xen_cpu.c daemon/backend/xen_cpu.h
