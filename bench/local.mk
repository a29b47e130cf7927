# bench/: benchmarks.  They print figures with their baseline beside them
# and are never pass/fail timing tests.

noinst_LIBRARIES += bench/libbench.a
bench_libbench_a_SOURCES = bench/benchlib.c bench/benchlib.h
bench_libbench_a_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)

noinst_PROGRAMS += bench/boot
bench_boot_SOURCES = bench/boot.c
bench_boot_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)
bench_boot_LDADD = bench/libbench.a daemon/vmm/libvmm.a

# The probe floor: a guest with no runtime, and the bench around it.
bench/floor-guest.kvm: bench/floor-guest.S bench/floor-guest.ld $(top_srcdir)/unikernel-rt/include/shoal/abi.h
	$(AM_V_CCAS)$(MKDIR_P) $(@D) && \
	$(CC) $(RT_GUEST_CPP) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -Wl,-T,$(srcdir)/bench/floor-guest.ld \
		-o $@ $<
noinst_DATA = bench/floor-guest.kvm
EXTRA_DIST += bench/floor-guest.S bench/floor-guest.ld
CLEANFILES += bench/floor-guest.kvm

noinst_PROGRAMS += bench/probe-floor
bench_probe_floor_SOURCES = bench/probe-floor.c tests/lib/httpc.c tests/lib/shoald_run.c
bench_probe_floor_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir) $(JANSSON_CFLAGS)
bench_probe_floor_LDADD = bench/libbench.a daemon/vmm/libvmm.a $(JANSSON_LIBS) -lpthread

noinst_PROGRAMS += bench/deploy
bench_deploy_SOURCES = bench/deploy.c tests/lib/httpc.c tests/lib/shoald_run.c
bench_deploy_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir) $(JANSSON_CFLAGS)
bench_deploy_LDADD = bench/libbench.a daemon/vmm/libvmm.a $(JANSSON_LIBS)

# shoald's CPU while probing 100, 500 and 1,000 guests, beside probing off.
noinst_PROGRAMS += bench/probe-cost
bench_probe_cost_SOURCES = bench/probe-cost.c bench/fleet.c bench/fleet.h tests/lib/httpc.c tests/lib/shoald_run.c
bench_probe_cost_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir) $(JANSSON_CFLAGS)
bench_probe_cost_LDADD = bench/libbench.a daemon/vmm/libvmm.a $(JANSSON_LIBS)

# Latency guests beside batch guests, placement off then on, same run.
noinst_PROGRAMS += bench/placement
bench_placement_SOURCES = bench/placement.c bench/fleet.c bench/fleet.h tests/lib/httpc.c tests/lib/shoald_run.c
bench_placement_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir) $(JANSSON_CFLAGS)
bench_placement_LDADD = bench/libbench.a daemon/vmm/libvmm.a $(JANSSON_LIBS)
