# bench/: every benchmark's rules, in one place.  They print figures with
# their baseline beside them and are never pass/fail timing tests.  The
# ones that drive shoald link tests/lib's runners (libtestlib.a).

noinst_LIBRARIES += bench/libbench.a
bench_libbench_a_SOURCES = bench/benchlib.c bench/benchlib.h
BENCH_SHOALD_LDADD = bench/libbench.a tests/lib/libtestlib.a common/libcommon.a $(JANSSON_LIBS)

noinst_PROGRAMS += bench/boot
bench_boot_SOURCES = bench/boot.c
bench_boot_LDADD = bench/libbench.a common/libcommon.a

# The probe floor: a guest with no runtime, and the bench around it (it
# runs a bare vCPU in its own process through the tender's VM library).
bench/floor-guest.kvm: bench/floor-guest.S bench/floor-guest.ld $(top_srcdir)/unikernel-rt/include/shoal/abi.h
	$(AM_V_CCAS)$(MKDIR_P) $(@D) && \
	$(CC) $(RT_GUEST_CPP) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -Wl,-T,$(srcdir)/bench/floor-guest.ld \
		-o $@ $<
noinst_DATA = bench/floor-guest.kvm
EXTRA_DIST += bench/floor-guest.S bench/floor-guest.ld
CLEANFILES += bench/floor-guest.kvm

noinst_PROGRAMS += bench/probe-floor
bench_probe_floor_SOURCES = bench/probe-floor.c
bench_probe_floor_CPPFLAGS = $(AM_CPPFLAGS) $(JANSSON_CFLAGS)
bench_probe_floor_LDADD = vmm/libvmm.a $(BENCH_SHOALD_LDADD) -lpthread

noinst_PROGRAMS += bench/deploy
bench_deploy_SOURCES = bench/deploy.c
bench_deploy_CPPFLAGS = $(AM_CPPFLAGS) $(JANSSON_CFLAGS)
bench_deploy_LDADD = $(BENCH_SHOALD_LDADD)

# shoald's CPU while probing 100, 500 and 1,000 guests, beside probing off.
noinst_PROGRAMS += bench/probe-cost
bench_probe_cost_SOURCES = bench/probe-cost.c bench/fleet.c bench/fleet.h
bench_probe_cost_CPPFLAGS = $(AM_CPPFLAGS) $(JANSSON_CFLAGS)
bench_probe_cost_LDADD = $(BENCH_SHOALD_LDADD)

# Latency guests beside batch guests, placement off then on, same run.
noinst_PROGRAMS += bench/placement
bench_placement_SOURCES = bench/placement.c bench/fleet.c bench/fleet.h
bench_placement_CPPFLAGS = $(AM_CPPFLAGS) $(JANSSON_CFLAGS)
bench_placement_LDADD = $(BENCH_SHOALD_LDADD)

# metrics/: memory per guest, record and query cost.
noinst_PROGRAMS += bench/metrics
bench_metrics_SOURCES = bench/metrics.c
bench_metrics_LDADD = metrics/libmetrics.a

# scheduler/: the time of one plan at 64 CPUs / 5,000 guests beside its baselines.
noinst_PROGRAMS += bench/sched-plan
bench_sched_plan_SOURCES = bench/sched-plan.c
bench_sched_plan_LDADD = scheduler/libschedsim.a scheduler/libscheduler.a bench/libbench.a \
	common/libcommon.a -lm

# A guest's disk reads (blkcheck through shoal-vmm's blkif back-end) beside pread on the host.
noinst_PROGRAMS += bench/blk
bench_blk_SOURCES = bench/blk.c
bench_blk_LDADD = bench/libbench.a common/libcommon.a

# An idle guest with a NIC and two disks beside one with none: each
# tender's CPU over 10 s, probes on and off (make bench-idle).
EXTRA_DIST += bench/idle.sh
.PHONY: bench-idle
bench-idle: all
	SHOAL_BUILD=$(abs_top_builddir) $(SHELL) $(top_srcdir)/bench/idle.sh

# Names through PowerDNS with shoald as its remote backend: a static
# record, a running guest's name, a sleeping on-demand guest's woken by
# the query, a sleeping site's page (needs root, pdns-server; make
# bench-dns DNS_ARGS='20 proc').
EXTRA_DIST += bench/dns.sh
# The soak: MINUTES of churn beside BACKGROUND guests with devices, and the
# curves of what shoald and the host hold (make bench-soak SOAK_ARGS='10 200 30').
EXTRA_DIST += bench/soak.sh
.PHONY: bench-soak
bench-soak: all
	SHOAL_BUILD=$(abs_top_builddir) $(SHELL) $(top_srcdir)/bench/soak.sh $(SOAK_ARGS)
.PHONY: bench-dns
bench-dns: all
	SHOAL_BUILD=$(abs_top_builddir) $(SHELL) $(top_srcdir)/bench/dns.sh $(DNS_ARGS)

# HTTP and UDP through a NIC: the site guest beside nginx, the echo guest
# beside a host UDP echo, in network namespaces of the script's own, on
# kvm (where /dev/kvm is) and proc, with the proc guest's instructions a
# request from callgrind (needs root, ab; installs nginx-light and
# valgrind when missing).  make bench-net NET_ARGS='--platform proc'.
bench-net: all
	SHOAL_BUILD=$(abs_top_builddir) $(SHELL) $(top_srcdir)/bench/net.sh $(NET_ARGS)
.PHONY: bench-net
EXTRA_DIST += bench/net.sh

# What a deploy script pays to run shoalctl once: `shoalctl ls` on the
# socket, --version and the --url path's start beside /bin/true, with the
# shared libraries each loads (python3).  make bench-ctl-start
# CTL_START_ARGS='300 /path/to/another/shoalctl'.
EXTRA_DIST += bench/ctl-start.sh
.PHONY: bench-ctl-start
bench-ctl-start: all
	SHOAL_BUILD=$(abs_top_builddir) $(SHELL) $(top_srcdir)/bench/ctl-start.sh $(CTL_START_ARGS)

# The 2,000-guest run: bench/deploy with a NIC and a read-only disk a
# guest at 1, 500, 1,000 and 2,000 guests (bench/scale.sh from a fresh
# clone does the set-up too).  make bench-scale SCALE_SAMPLES=30.
EXTRA_DIST += bench/scale.sh
SCALE_SAMPLES = 60
.PHONY: bench-scale
bench-scale: all
	$(abs_top_builddir)/bench/deploy --devices --memory-mib 8 --levels 1,500,1000,2000 -n $(SCALE_SAMPLES)
