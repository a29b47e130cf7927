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
	daemon/backend/hostdev.c daemon/backend/hostdev.h daemon/backend/xen_cpu.h daemon/backend/xen_weight.h

# The Xen backend, when configure finds libxl, libxenstore and libxenevtchn.
daemon_libshoald_a_SOURCES += daemon/backend/xen_parse.c daemon/backend/xen_parse.h
if HAVE_XEN
daemon_libshoald_a_SOURCES += daemon/backend/xen.c daemon/backend/xen_build.c daemon/backend/xen_build.h \
	daemon/backend/xen_dev.c daemon/backend/xen_dev.h daemon/backend/xen_probe.c daemon/backend/xen_probe.h
SHOALD_XEN_LIBS = $(XEN_CPU_LIBS)
endif
daemon_libshoald_a_CFLAGS += $(XEN_CFLAGS)

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
	$(SQLITE_LIBS) $(SYSTEMD_LIBS) $(SHOALD_XEN_LIBS) $(LIBVIRT_LIBS) -lm

# Placement on Xen (libxl): its own library, linked by shoald's Xen backend
# and by the tests that drive it (tests/unit/test_xen_cpu, tests/xen/xen-cpu-check).
if HAVE_XEN
noinst_LIBRARIES += daemon/backend/libxen_cpu.a
daemon_backend_libxen_cpu_a_CFLAGS = $(AM_CFLAGS) $(XEN_CFLAGS)
daemon_backend_libxen_cpu_a_SOURCES = daemon/backend/xen_cpu.c daemon/backend/xen_cpu.h
XEN_CPU_LIBS = daemon/backend/libxen_cpu.a scheduler/libscheduler.a $(XEN_LIBS)
endif
EXTRA_DIST += daemon/backend/xen_cpu.c daemon/backend/xen_cpu.h
