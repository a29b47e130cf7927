# tests/: every test's rules, in one place: unit tests (cmocka, TAP
# output) of each component, integration tests on /dev/kvm, the dashboard
# in a browser, and Xen under QEMU (tests/xen/local.mk).

UNIT_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS)

# ---- unit: metrics/ ----
METRICS_TESTS = \
	tests/unit/test_metrics_hist \
	tests/unit/test_metrics_window \
	tests/unit/test_metrics_prom \
	tests/unit/test_metrics_promtool
check_PROGRAMS += $(METRICS_TESTS)
TESTS += $(METRICS_TESTS)
METRICS_TEST_LDADD = metrics/libmetrics.a $(CMOCKA_LIBS) -lm
tests_unit_test_metrics_hist_SOURCES = tests/unit/test_metrics_hist.c tests/unit/metrics_testlib.h
tests_unit_test_metrics_hist_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_metrics_hist_LDADD = $(METRICS_TEST_LDADD)
tests_unit_test_metrics_window_SOURCES = tests/unit/test_metrics_window.c tests/unit/metrics_testlib.h
tests_unit_test_metrics_window_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_metrics_window_LDADD = $(METRICS_TEST_LDADD)
tests_unit_test_metrics_prom_SOURCES = tests/unit/test_metrics_prom.c tests/unit/metrics_testlib.h
tests_unit_test_metrics_prom_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_metrics_prom_LDADD = $(METRICS_TEST_LDADD)
# Runs promtool on a page when it is installed, says SKIP otherwise.
tests_unit_test_metrics_promtool_SOURCES = tests/unit/test_metrics_promtool.c tests/unit/metrics_testlib.h
tests_unit_test_metrics_promtool_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_metrics_promtool_LDADD = $(METRICS_TEST_LDADD)

# ---- unit: scheduler/ ----
SCHED_TESTS = \
	tests/unit/test_sched_state \
	tests/unit/test_sched_admit \
	tests/unit/test_sched_plan \
	tests/unit/test_sched_sim
check_PROGRAMS += $(SCHED_TESTS)
TESTS += $(SCHED_TESTS)
SCHED_TEST_LDADD = scheduler/libschedsim.a scheduler/libscheduler.a $(CMOCKA_LIBS) -lm
tests_unit_test_sched_state_SOURCES = tests/unit/test_sched_state.c tests/unit/sched_testlib.h
tests_unit_test_sched_state_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_sched_state_LDADD = $(SCHED_TEST_LDADD)
tests_unit_test_sched_admit_SOURCES = tests/unit/test_sched_admit.c tests/unit/sched_testlib.h
tests_unit_test_sched_admit_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_sched_admit_LDADD = $(SCHED_TEST_LDADD)
tests_unit_test_sched_plan_SOURCES = tests/unit/test_sched_plan.c tests/unit/sched_testlib.h
tests_unit_test_sched_plan_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_sched_plan_LDADD = $(SCHED_TEST_LDADD)
# 64 CPUs / 5,000 guests through the simulator; a few seconds.
tests_unit_test_sched_sim_SOURCES = tests/unit/test_sched_sim.c tests/unit/sched_testlib.h
tests_unit_test_sched_sim_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_sched_sim_LDADD = $(SCHED_TEST_LDADD)

# ---- unit: shoalctl/ (its own checks and formatting, a corpus of values) ----
check_PROGRAMS += tests/unit/test_shoalctl
TESTS += tests/unit/test_shoalctl
tests_unit_test_shoalctl_SOURCES = tests/unit/test_shoalctl.c tests/unit/corpus_testlib.h shoalctl/ctl.h \
	shoalctl/opts.c shoalctl/fmt.c
tests_unit_test_shoalctl_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_shoalctl_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_test_shoalctl_LDADD = $(JANSSON_LIBS) $(CMOCKA_LIBS) -lm
EXTRA_DIST += tests/data/shoalctl-values.txt
# shoalctl's own HTTP/1.1 on the unix socket, against a scripted server (the corpus of answers).
check_PROGRAMS += tests/unit/test_shoalctl_http
TESTS += tests/unit/test_shoalctl_http
tests_unit_test_shoalctl_http_SOURCES = tests/unit/test_shoalctl_http.c tests/unit/corpus_testlib.h \
	shoalctl/ctl.h shoalctl/http_internal.h shoalctl/http.c shoalctl/http_unix.c \
	shoalctl/http_remote.c shoalctl/opts.c shoalctl/fmt.c
tests_unit_test_shoalctl_http_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_shoalctl_http_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_test_shoalctl_http_LDADD = $(JANSSON_LIBS) $(CMOCKA_LIBS) $(DL_LIBS) -lm
EXTRA_DIST += tests/data/shoalctl-answers.txt
# shoalctl site's plan: a real tree split across images, and what is refused.
check_PROGRAMS += tests/unit/test_shoalctl_site
TESTS += tests/unit/test_shoalctl_site
tests_unit_test_shoalctl_site_SOURCES = tests/unit/test_shoalctl_site.c shoalctl/ctl.h \
	shoalctl/site_plan.c shoalctl/opts.c shoalctl/fmt.c
tests_unit_test_shoalctl_site_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_shoalctl_site_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_test_shoalctl_site_LDADD = $(JANSSON_LIBS) $(CMOCKA_LIBS) -lm

# Xen under QEMU, with shoald in Dom0.
include tests/xen/local.mk

# libFuzzer harnesses of the parsers of outside input (make fuzz), built by clang.
include tests/fuzz/local.mk

# ---- unit: common/ (the image check) ----
check_PROGRAMS += tests/unit/test_image
TESTS += tests/unit/test_image
tests_unit_test_image_SOURCES = tests/unit/test_image.c
tests_unit_test_image_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_image_LDADD = common/libcommon.a $(CMOCKA_LIBS)

# Integration: real guests on /dev/kvm through shoal-vmm.
check_PROGRAMS += tests/integration/mkbadelf tests/integration/test_tender
tests_integration_mkbadelf_SOURCES = tests/integration/mkbadelf.c
tests_integration_test_tender_SOURCES = tests/integration/test_tender.c
tests_integration_test_tender_LDADD = bench/libbench.a common/libcommon.a

TESTS += \
	tests/integration/guests.sh \
	tests/integration/blk.sh \
	tests/integration/fat.sh \
	tests/integration/bad-elf.sh \
	tests/integration/runtime.sh \
	tests/integration/test_tender
EXTRA_DIST += tests/tap.sh tests/lib/fnv.py tests/data/bad-elf.txt tests/integration/blk.sh tests/integration/fat.sh \
	tests/integration/guests.sh tests/integration/bad-elf.sh tests/integration/runtime.sh

# Integration: lwIP in a guest, over its loopback interface (tcploop;
# says SKIP when lwIP was not built, see scripts/lwip.sh).
TESTS += tests/integration/test_lwip_loopback.sh

# Integration: the proc platform, guests as sandboxed processes run by
# shoal-proc (no /dev/kvm needed): the examples as their KVM twins, the
# jail, a hostile guest, and the event ports through eventfds.
check_PROGRAMS += tests/integration/test_proc
tests_integration_test_proc_SOURCES = tests/integration/test_proc.c
tests_integration_test_proc_LDADD = bench/libbench.a common/libcommon.a
TESTS += tests/integration/proc.sh tests/integration/test_proc
EXTRA_DIST += tests/integration/proc.sh

# Integration: the proc rate limit's program on frames the kernel runs it
# on by BPF_PROG_TEST_RUN (root), its buckets' arithmetic frame by frame;
# built where shoald has the program (configure: clang's bpf target, libbpf).
if HAVE_PROC_RATE
check_PROGRAMS += tests/integration/test_proc_rate
tests_integration_test_proc_rate_SOURCES = tests/integration/test_proc_rate.c
tests_integration_test_proc_rate_CFLAGS = $(AM_CFLAGS) $(LIBBPF_CFLAGS)
tests_integration_test_proc_rate_LDADD = $(LIBBPF_LIBS)
TESTS += tests/integration/test_proc_rate
endif
EXTRA_DIST += tests/integration/test_proc_rate.c

# Integration: shoald --backend=proc, its guests deployed, probed, paused,
# ended, restarted and refused through the real API (no /dev/kvm needed).
TESTS += tests/integration/test_proc_shoald.sh
# Integration: shoald --backend=libvirt on libvirt's in-process test driver.
TESTS += tests/integration/test_libvirt_shoald.sh
EXTRA_DIST += tests/integration/test_libvirt_shoald.sh
EXTRA_DIST += tests/integration/test_proc_shoald.sh
EXTRA_DIST += tests/integration/test_lwip_loopback.sh

# Integration: a NIC on KVM (the echo guest on a tap inside a network
# namespace of the test's own; says SKIP without lwIP, /dev/kvm or the
# right to make a namespace).
TESTS += tests/integration/net.sh
EXTRA_DIST += tests/integration/net.sh

# Integration: the site guest, a static HTTP/1.1 server over FAT disks, on a
# tap inside a network namespace of the test's own (says SKIP without
# lwIP, /dev/kvm or the right to make a namespace; its load check SKIPs
# without ab).
TESTS += tests/integration/site.sh
EXTRA_DIST += tests/integration/site.sh
# The same checks on the proc platform (shoal-proc; no /dev/kvm needed).
TESTS += tests/integration/site-proc.sh
EXTRA_DIST += tests/integration/site-proc.sh

check_PROGRAMS += tests/unit/test_vmm_hypercall tests/unit/test_rt_heap
TESTS += tests/unit/test_vmm_hypercall tests/unit/test_rt_heap
tests_unit_test_vmm_hypercall_SOURCES = tests/unit/test_vmm_hypercall.c
tests_unit_test_vmm_hypercall_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_vmm_hypercall_LDADD = vmm/libvmm.a common/libcommon.a $(CMOCKA_LIBS)
# The guest runtime's portable pieces, compiled for the host.
tests_unit_test_rt_heap_SOURCES = tests/unit/test_rt_heap.c \
	unikernel-rt/core/heap.c unikernel-rt/core/console.c
tests_unit_test_rt_heap_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_rt_heap_LDADD = $(CMOCKA_LIBS)
# The FAT reader over images mkfs.fat and mtools make at test time (the
# test's own rt_malloc, on the host heap, so that valgrind sees the mount).
check_PROGRAMS += tests/unit/test_rt_fat
TESTS += tests/unit/test_rt_fat
tests_unit_test_rt_fat_SOURCES = tests/unit/test_rt_fat.c \
	unikernel-rt/core/fat.c unikernel-rt/core/console.c
tests_unit_test_rt_fat_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_rt_fat_LDADD = $(CMOCKA_LIBS)

# The Xen backend's pure pieces (built with or without Xen).
check_PROGRAMS += tests/unit/test_xen_parse
TESTS += tests/unit/test_xen_parse
tests_unit_test_xen_parse_SOURCES = tests/unit/test_xen_parse.c tests/unit/corpus_testlib.h daemon/backend/xen_parse.c
tests_unit_test_xen_parse_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_xen_parse_LDADD = $(CMOCKA_LIBS)
EXTRA_DIST += tests/data/xen-values.txt

# The runtime's Xen front-end values (built for the host too).
check_PROGRAMS += tests/unit/test_rt_xen_front
TESTS += tests/unit/test_rt_xen_front
tests_unit_test_rt_xen_front_SOURCES = tests/unit/test_rt_xen_front.c \
	unikernel-rt/platform/xen/front_parse.c
tests_unit_test_rt_xen_front_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_rt_xen_front_LDADD = $(CMOCKA_LIBS)
EXTRA_DIST += tests/data/xen-front-values.txt

# Integration: guests that read and write their disks through shoald's API.
TESTS += tests/integration/test_disks_guest.sh
EXTRA_DIST += tests/integration/test_disks_guest.sh
TESTS += tests/integration/test_nics.sh
EXTRA_DIST += tests/integration/test_nics.sh
# The soak, short: churn beside a standing fleet with devices; nothing left behind.
TESTS += tests/integration/test_soak.sh
EXTRA_DIST += tests/integration/test_soak.sh tests/lib/soak.py tests/lib/soakrun.sh
# Names: PowerDNS, started by the test, with shoald as its remote backend;
# holdreap keeps a tender's end from shoald while the test queries.
TESTS += tests/integration/test_dns.sh
EXTRA_DIST += tests/integration/test_dns.sh
check_PROGRAMS += tests/integration/holdreap
tests_integration_holdreap_SOURCES = tests/integration/holdreap.c
# Loop devices and bridge ports as the Xen backend's hotplug makes them, on this host.
check_PROGRAMS += tests/integration/hostdev-check
tests_integration_hostdev_check_SOURCES = tests/integration/hostdev-check.c \
	daemon/backend/hostdev.c daemon/backend/be_fail.c
TESTS += tests/integration/test_hostdev.sh
EXTRA_DIST += tests/integration/test_hostdev.sh
TESTS += tests/integration/test_site_shoald.sh
TESTS += tests/integration/test_placement_causes.sh
EXTRA_DIST += tests/integration/test_placement_causes.sh
TESTS += tests/integration/test_placement_outside.sh
EXTRA_DIST += tests/integration/test_placement_outside.sh
EXTRA_DIST += tests/integration/test_site_shoald.sh

# Integration: the tenders' jail, seen from the host and tried from inside
# it by jail-probe (each platform: kvm, and proc through the wrapper).
check_PROGRAMS += tests/integration/jail-probe
tests_integration_jail_probe_SOURCES = tests/integration/jail-probe.c
# Never sanitized: it enters a tender's empty root and pid namespace as
# the tender's uid, where the sanitizers' runtime finds none of what it
# reads (it spun there for minutes instead of trying its calls).
tests_integration_jail_probe_CFLAGS = $(WARN_CFLAGS) -std=gnu11
tests_integration_jail_probe_LDFLAGS =
TESTS += tests/integration/test_jail.sh tests/integration/proc/test_jail.sh
EXTRA_DIST += tests/integration/test_jail.sh tests/integration/proc/test_jail.sh

# Integration: a tender that breaks the control protocol, in place of shoal-vmm.
check_PROGRAMS += tests/integration/hostile-tender
tests_integration_hostile_tender_SOURCES = tests/integration/hostile-tender.c
tests_integration_hostile_tender_LDADD = common/libcommon.a
TESTS += tests/integration/test_hostile_tender.sh
EXTRA_DIST += tests/integration/test_hostile_tender.sh

# Integration: the real shoald with real guests, through its API.
# What the integration tests and the benchmarks share: an HTTP client of
# the unix socket, shoald and tender runners (built with `make`, since the
# benchmarks link it too).
noinst_LIBRARIES += tests/lib/libtestlib.a
tests_lib_libtestlib_a_SOURCES = tests/lib/httpc.c tests/lib/httpc.h tests/lib/corpus.c tests/lib/corpus.h tests/lib/shoald_run.c \
	tests/lib/shoald_run.h tests/lib/sdapi.c tests/lib/sdapi.h tests/lib/sdtest.h tests/lib/tap.h
tests_lib_libtestlib_a_CPPFLAGS = $(AM_CPPFLAGS) $(JANSSON_CFLAGS)
TESTLIB = tests/lib/libtestlib.a $(JANSSON_LIBS)

check_PROGRAMS += tests/integration/test_daemon
TESTS += tests/integration/test_daemon
tests_integration_test_daemon_SOURCES = tests/integration/test_daemon.c
tests_integration_test_daemon_CPPFLAGS = $(AM_CPPFLAGS) $(JANSSON_CFLAGS)
tests_integration_test_daemon_LDADD = $(TESTLIB) -lpthread

check_PROGRAMS += tests/integration/test_disks
TESTS += tests/integration/test_disks
tests_integration_test_disks_SOURCES = tests/integration/test_disks.c
tests_integration_test_disks_CPPFLAGS = $(AM_CPPFLAGS) $(JANSSON_CFLAGS) $(SQLITE_CFLAGS)
tests_integration_test_disks_LDADD = $(TESTLIB) $(SQLITE_LIBS)

check_PROGRAMS += tests/integration/test_api_input
TESTS += tests/integration/test_api_input
tests_integration_test_api_input_SOURCES = tests/integration/test_api_input.c
tests_integration_test_api_input_CPPFLAGS = $(AM_CPPFLAGS) $(JANSSON_CFLAGS)
tests_integration_test_api_input_LDADD = $(TESTLIB)
EXTRA_DIST += tests/data/api-bad-input.txt

check_PROGRAMS += tests/integration/test_placement
TESTS += tests/integration/test_placement
tests_integration_test_placement_SOURCES = tests/integration/test_placement.c
tests_integration_test_placement_CPPFLAGS = $(AM_CPPFLAGS) $(JANSSON_CFLAGS)
tests_integration_test_placement_LDADD = $(TESTLIB)

check_PROGRAMS += tests/integration/test_latency
TESTS += tests/integration/test_latency
tests_integration_test_latency_SOURCES = tests/integration/test_latency.c
tests_integration_test_latency_CPPFLAGS = $(AM_CPPFLAGS) $(JANSSON_CFLAGS)
tests_integration_test_latency_LDADD = $(TESTLIB)

# Integration: who may use the API (unix socket callers, TCP with TLS and tokens).
check_PROGRAMS += tests/integration/test_auth
TESTS += tests/integration/test_auth
tests_integration_test_auth_SOURCES = tests/integration/test_auth.c
tests_integration_test_auth_CPPFLAGS = $(AM_CPPFLAGS) $(JANSSON_CFLAGS) $(CURL_CFLAGS)
tests_integration_test_auth_LDADD = $(TESTLIB) $(CURL_LIBS)
EXTRA_DIST += tests/data/auth-config.txt
# The TLS listener scanned by sslscan (scripts/deps.sh): Mozilla's intermediate profile, nothing else.
TESTS += tests/integration/test_tls_scan.sh
EXTRA_DIST += tests/integration/test_tls_scan.sh

# Integration: shoalctl against the real shoald, and contrib/.
check_PROGRAMS += tests/integration/jsonq
tests_integration_jsonq_SOURCES = tests/integration/jsonq.c
tests_integration_jsonq_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_integration_jsonq_LDADD = $(JANSSON_LIBS)
TESTS += tests/integration/test_shoalctl.sh
EXTRA_DIST += tests/integration/test_shoalctl.sh
# shoalctl site: FAT images of a tree read back with mtools, bad trees
# refused, and site deploy to a real shoald (fatcat standing in for site).
TESTS += tests/integration/test_shoalctl_site.sh
EXTRA_DIST += tests/integration/test_shoalctl_site.sh

# Every C file formatted as .clang-format says (clang-format, from scripts/deps.sh).
TESTS += tests/lint/test_format.sh
EXTRA_DIST += tests/lint/test_format.sh .clang-format

# Integration: the API against its contract, api/openapi.yaml (python3-yaml).
TESTS += tests/integration/test_contract.sh
EXTRA_DIST += tests/integration/test_contract.sh tests/integration/test_contract.py \
	tests/data/contract.yaml

# The dashboard in headless Chromium (playwright-core from npm, into the build tree).
TESTS += tests/browser/test_dashboard.sh
EXTRA_DIST += tests/browser/test_dashboard.sh tests/browser/test_dashboard.js tests/browser/package.json tests/browser/package-lock.json
CLEANFILES += tests/browser/dashboard.png tests/timing.lock
# What test_dashboard.sh installs from npm into the build tree (only out of tree:
# in a build in the source tree package.json is the source).
distclean-local: distclean-ui
distclean-ui:
	test '$(abs_srcdir)' = '$(abs_builddir)' || \
		rm -rf tests/browser/node_modules tests/browser/package.json tests/browser/package-lock.json tests/browser/npm.log
.PHONY: distclean-ui

# The contract, api/openapi.yaml, linted by Redocly's CLI (npm, into the build tree).
TESTS += tests/openapi/test_openapi_lint.sh
EXTRA_DIST += tests/openapi/test_openapi_lint.sh tests/openapi/package.json tests/openapi/package-lock.json \
	tests/openapi/redocly.yaml tests/openapi/.redocly.lint-ignore.yaml
# What test_openapi_lint.sh installs from npm into the build tree (in a build
# in the source tree, package.json and its lock file are the source and stay).
distclean-local: distclean-openapi
distclean-openapi:
	test '$(abs_srcdir)' = '$(abs_builddir)' || \
		rm -rf tests/openapi/node_modules tests/openapi/package.json tests/openapi/package-lock.json tests/openapi/npm.log
	test '$(abs_srcdir)' != '$(abs_builddir)' || rm -rf tests/openapi/node_modules tests/openapi/npm.log
.PHONY: distclean-openapi

# contrib/: the Grafana dashboard's queries against a real shoald's
# /metrics, and the Prometheus scrape configuration (promtool).
TESTS += tests/integration/test_grafana.sh
EXTRA_DIST += tests/integration/test_grafana.sh tests/integration/grafana_check.py tests/lib/shoald.sh tests/lib/shoalapi.py tests/lib/netns.sh tests/lib/pdns.sh
# A real Prometheus scrapes a real shoald through the scrape configuration's
# TLS job, and every query of the dashboard runs on what it scraped.
TESTS += tests/integration/test_prometheus.sh
EXTRA_DIST += tests/integration/test_prometheus.sh

# shoald's configuration: a sound one, and each kind of bad one, refused by name.
TESTS += tests/integration/test_config.sh
EXTRA_DIST += tests/integration/test_config.sh

# pause and resume of real KVM guests, through a shoald restart.
TESTS += tests/integration/test_pause.sh
EXTRA_DIST += tests/integration/test_pause.sh

# The adaptive probe rate: slow where nothing happens, a breach seen within 2 s.
TESTS += tests/integration/test_probe_adaptive.sh
EXTRA_DIST += tests/integration/test_probe_adaptive.sh

# A guest whose events storm: detected, bounded, ended, restarted (KVM).
TESTS += tests/integration/test_storm.sh
EXTRA_DIST += tests/integration/test_storm.sh
TESTS += tests/integration/test_hostile_guests.sh
EXTRA_DIST += tests/integration/test_hostile_guests.sh

# contrib/deploy/: the CI deploy scripts against a real shoald (jq).
TESTS += tests/integration/test_deploy.sh
EXTRA_DIST += tests/integration/test_deploy.sh
TESTS += tests/integration/test_many_guests.sh
EXTRA_DIST += tests/integration/test_many_guests.sh

# The state store under faults: damaged stores refused with the recovery
# steps, the backups restored, a full state file system (a tmpfs the test
# mounts; SKIPs that part where it cannot).
TESTS += tests/integration/test_state_faults.sh
EXTRA_DIST += tests/integration/test_state_faults.sh

# Packaging: make install into a DESTDIR (layout, systemd-analyze verify on
# the installed unit, uninstall), the tarball's contents, and the man pages
# (lint, and every option and command of the programs in them).
TESTS += tests/integration/test_install.sh tests/integration/test_man.sh
EXTRA_DIST += tests/integration/test_install.sh tests/integration/test_man.sh

# systemd for real: systemd as PID 1 in a container (systemd-nspawn on a
# Debian 12 root that scripts/debian-root.sh makes with debootstrap and
# keeps in /var/cache/shoal-test), running make install's unit.
TESTS += tests/integration/test_systemd.sh
EXTRA_DIST += tests/integration/test_systemd.sh

# Xen: a hand probe of a guest's event channel from Dom0 (used in Xen in QEMU).
if HAVE_XEN
noinst_PROGRAMS += tests/xen/evtchn-ping
tests_xen_evtchn_ping_SOURCES = tests/xen/evtchn-ping.c
tests_xen_evtchn_ping_CFLAGS = $(AM_CFLAGS) $(XEN_CFLAGS)
tests_xen_evtchn_ping_LDADD = $(XEN_LIBS)
endif
EXTRA_DIST += tests/xen/evtchn-ping.c

# Placement on Xen: the pure parts (unit), and a checker run inside Dom0
# against real domains (tests/xen/xen-cpu-check.sh, in the Xen harness).
if HAVE_XEN
check_PROGRAMS += tests/unit/test_xen_cpu
TESTS += tests/unit/test_xen_cpu
tests_unit_test_xen_cpu_SOURCES = tests/unit/test_xen_cpu.c
tests_unit_test_xen_cpu_CPPFLAGS = $(UNIT_CPPFLAGS) $(XEN_CFLAGS)
tests_unit_test_xen_cpu_LDADD = $(XEN_CPU_LIBS) $(CMOCKA_LIBS)
noinst_PROGRAMS += tests/xen/xen-cpu-check tests/xen/evtchn-rtt
tests_xen_xen_cpu_check_SOURCES = tests/xen/xen-cpu-check.c
tests_xen_xen_cpu_check_CPPFLAGS = $(AM_CPPFLAGS) $(XEN_CFLAGS)
tests_xen_xen_cpu_check_LDADD = $(XEN_CPU_LIBS)
# Static: it also runs inside a busybox Linux guest; so never sanitized,
# whose runtimes link only dynamically.
tests_xen_evtchn_rtt_SOURCES = tests/xen/evtchn-rtt.c
tests_xen_evtchn_rtt_CFLAGS = $(WARN_CFLAGS) -std=gnu11
tests_xen_evtchn_rtt_LDFLAGS = -static
endif
EXTRA_DIST += tests/xen/xen-cpu-check.sh tests/xen/xen-place-effect.sh


# The libvirt backend on libvirt's in-process test driver (test:///default).
if HAVE_LIBVIRT
check_PROGRAMS += tests/unit/test_libvirt
TESTS += tests/unit/test_libvirt
tests_unit_test_libvirt_SOURCES = tests/unit/test_libvirt.c daemon/backend/libvirt.c \
	daemon/backend/worker.c daemon/backend/be_fail.c daemon/backend/xen_parse.c daemon/spec.c daemon/log.c daemon/clock.c
tests_unit_test_libvirt_CPPFLAGS = $(UNIT_CPPFLAGS) $(DAEMON_PATHS)
tests_unit_test_libvirt_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(LIBEV_CFLAGS) $(LIBVIRT_CFLAGS)
tests_unit_test_libvirt_LDADD = common/libcommon.a $(LIBVIRT_LIBS) $(LIBEV_LIBS) $(JANSSON_LIBS) \
	$(CMOCKA_LIBS)
if HAVE_XEN
tests_unit_test_libvirt_SOURCES += daemon/backend/xen_probe.c daemon/backend/xen_dev.c \
	daemon/backend/hostdev.c
tests_unit_test_libvirt_CFLAGS += $(XEN_CFLAGS)
tests_unit_test_libvirt_LDADD += $(XEN_LIBS)
endif
endif
EXTRA_DIST += tests/unit/test_libvirt.c

# ---- unit: daemon/ (its pure pieces: guest specs, the probe engine's heap) ----
# A backend's worker thread: jobs in order off the loop, results on it.
check_PROGRAMS += tests/unit/test_worker
TESTS += tests/unit/test_worker
tests_unit_test_worker_SOURCES = tests/unit/test_worker.c daemon/backend/worker.c daemon/clock.c
tests_unit_test_worker_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_worker_CFLAGS = $(AM_CFLAGS) $(LIBEV_CFLAGS)
tests_unit_test_worker_LDADD = $(LIBEV_LIBS) $(CMOCKA_LIBS) -lpthread

# Guest specs, over a corpus of good and bad ones.
check_PROGRAMS += tests/unit/test_spec
TESTS += tests/unit/test_spec
tests_unit_test_spec_SOURCES = tests/unit/test_spec.c tests/unit/corpus_testlib.h daemon/spec.c daemon/spec.h
tests_unit_test_spec_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_spec_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_test_spec_LDADD = $(JANSSON_LIBS) $(CMOCKA_LIBS)
EXTRA_DIST += tests/data/spec-values.txt
# A guest console's ring: grown as output comes, the last bytes kept in order.
check_PROGRAMS += tests/unit/test_console_ring
TESTS += tests/unit/test_console_ring
tests_unit_test_console_ring_SOURCES = tests/unit/test_console_ring.c daemon/console.c daemon/log.c
tests_unit_test_console_ring_CPPFLAGS = $(UNIT_CPPFLAGS) $(JANSSON_CFLAGS)
tests_unit_test_console_ring_LDADD = $(JANSSON_LIBS) $(CMOCKA_LIBS)
# realloc is wrapped so that a test can make an insert run out of memory.
check_PROGRAMS += tests/unit/test_probe_heap
TESTS += tests/unit/test_probe_heap
tests_unit_test_probe_heap_SOURCES = tests/unit/test_probe_heap.c daemon/probe_heap.c daemon/probe_heap.h
tests_unit_test_probe_heap_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_probe_heap_LDFLAGS = $(AM_LDFLAGS) -Wl,--wrap=realloc
tests_unit_test_probe_heap_LDADD = $(CMOCKA_LIBS)
# The proc backend's own pieces: its report, the end it tells, the sweep of records.
check_PROGRAMS += tests/unit/test_proc_tender
TESTS += tests/unit/test_proc_tender
tests_unit_test_proc_tender_SOURCES = tests/unit/test_proc_tender.c daemon/backend/proc.c \
	daemon/backend/proc.h daemon/backend/be_fail.c daemon/log.c daemon/spec.c
tests_unit_test_proc_tender_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_proc_tender_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(LIBEV_CFLAGS)
tests_unit_test_proc_tender_LDADD = common/libcommon.a $(JANSSON_LIBS) $(CMOCKA_LIBS)

# ---- the test matrix: each guest test once per platform ----
# The tests above run on KVM (SHOAL_TEST_PLATFORM=kvm, set for every test
# by Makefile.am; without /dev/kvm they SKIP with the reason).  Those that
# deploy guests through shoald run again on proc, guests as sandboxed
# processes (no /dev/kvm needed), through these wrappers, each its own
# entry: `make check` lists each test once per platform, and each test's
# output names its platform ("# platform: proc").  Checks that hold on KVM
# only (a restarted shoald re-attaching its tenders) SKIP on proc with
# the reason.  doc/testing.md has the matrix.
PROC_COLUMN = \
	tests/integration/proc/test_daemon.sh \
	tests/integration/proc/test_systemd.sh \
	tests/integration/proc/test_disks.sh \
	tests/integration/proc/test_api_input.sh \
	tests/integration/proc/test_latency.sh \
	tests/integration/proc/test_pause.sh \
	tests/integration/proc/test_probe_adaptive.sh \
	tests/integration/proc/test_shoalctl.sh \
	tests/integration/proc/test_disks_guest.sh \
	tests/integration/proc/test_deploy.sh \
	tests/integration/proc/test_state_faults.sh \
	tests/integration/proc/test_grafana.sh \
	tests/integration/proc/test_prometheus.sh \
	tests/integration/proc/test_nics.sh \
	tests/integration/proc/test_dns.sh \
	tests/integration/proc/test_net_rate.sh \
	tests/integration/proc/test_soak.sh \
	tests/integration/proc/test_storm.sh \
	tests/integration/proc/test_hostile_guests.sh \
	tests/integration/proc/test_placement_outside.sh
TESTS += $(PROC_COLUMN)
EXTRA_DIST += $(PROC_COLUMN)

# scripts/test.sh runs the integration tests (both columns) in a sanitized
# build (_build-asan, configure --enable-sanitizers) and the rest here;
# these print each half of TESTS.
# test_systemd installs shoal into a Debian root and boots it there: the
# plain build's binaries, as an operator's, not the sanitized ones (whose
# runtime the root does not have).
PLAIN_BUILD_TESTS = tests/integration/test_systemd.sh tests/integration/proc/test_systemd.sh
print-tests-integration:
	@echo $(filter-out $(PLAIN_BUILD_TESTS),$(filter tests/integration/%,$(TESTS)))
print-tests-rest:
	@echo $(filter-out tests/integration/%,$(TESTS)) $(filter $(PLAIN_BUILD_TESTS),$(TESTS))
print-tests-all:
	@echo $(TESTS)
.PHONY: print-tests-integration print-tests-rest print-tests-all
