# metrics/: latency histograms and per-guest probe windows.
# A pure library (no daemon headers) and its unit tests.

noinst_LIBRARIES += metrics/libmetrics.a
metrics_libmetrics_a_SOURCES = \
	metrics/metrics.h \
	metrics/metrics_int.h \
	metrics/hist.c \
	metrics/guest.c

# UNIT_CPPFLAGS comes from tests/local.mk; make expands it when used, so
# the order of the includes in Makefile.am does not matter.
METRICS_TESTS = \
	tests/unit/test_metrics_hist \
	tests/unit/test_metrics_window
check_PROGRAMS += $(METRICS_TESTS)
TESTS += $(METRICS_TESTS)

tests_unit_test_metrics_hist_SOURCES = tests/unit/test_metrics_hist.c tests/unit/metrics_testlib.h
tests_unit_test_metrics_hist_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_metrics_hist_LDADD = metrics/libmetrics.a $(CMOCKA_LIBS) -lm

tests_unit_test_metrics_window_SOURCES = tests/unit/test_metrics_window.c tests/unit/metrics_testlib.h
tests_unit_test_metrics_window_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_metrics_window_LDADD = metrics/libmetrics.a $(CMOCKA_LIBS) -lm
