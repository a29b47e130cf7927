# metrics/: latency histograms, per-guest probe windows, Prometheus text.
# A pure library (no daemon headers), its unit tests and a benchmark.

noinst_LIBRARIES += metrics/libmetrics.a
metrics_libmetrics_a_SOURCES = \
	metrics/metrics.h \
	metrics/metrics_int.h \
	metrics/hist.c \
	metrics/guest.c \
	metrics/prom.c

# UNIT_CPPFLAGS comes from tests/local.mk; make expands it when used, so
# the order of the includes in Makefile.am does not matter.
METRICS_TESTS = \
	tests/unit/test_metrics_hist \
	tests/unit/test_metrics_window \
	tests/unit/test_metrics_prom \
	tests/unit/test_metrics_promtool
check_PROGRAMS += $(METRICS_TESTS)
TESTS += $(METRICS_TESTS)

tests_unit_test_metrics_hist_SOURCES = tests/unit/test_metrics_hist.c tests/unit/metrics_testlib.h
tests_unit_test_metrics_hist_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_metrics_hist_LDADD = metrics/libmetrics.a $(CMOCKA_LIBS) -lm

tests_unit_test_metrics_window_SOURCES = tests/unit/test_metrics_window.c tests/unit/metrics_testlib.h
tests_unit_test_metrics_window_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_metrics_window_LDADD = metrics/libmetrics.a $(CMOCKA_LIBS) -lm

tests_unit_test_metrics_prom_SOURCES = tests/unit/test_metrics_prom.c tests/unit/metrics_testlib.h
tests_unit_test_metrics_prom_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_metrics_prom_LDADD = metrics/libmetrics.a $(CMOCKA_LIBS) -lm

# Runs promtool on a page when it is installed, says SKIP otherwise.
tests_unit_test_metrics_promtool_SOURCES = tests/unit/test_metrics_promtool.c tests/unit/metrics_testlib.h
tests_unit_test_metrics_promtool_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_metrics_promtool_LDADD = metrics/libmetrics.a $(CMOCKA_LIBS) -lm

# Prints figures (memory per guest, record and query cost); never pass/fail.
noinst_PROGRAMS += bench/metrics
bench_metrics_SOURCES = bench/metrics.c
bench_metrics_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)
bench_metrics_LDADD = metrics/libmetrics.a
