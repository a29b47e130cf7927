# metrics/: latency histograms, per-guest probe windows, Prometheus text.
# A pure library (no daemon headers); its tests are in tests/local.mk, its
# benchmark in bench/local.mk.

noinst_LIBRARIES += metrics/libmetrics.a
metrics_libmetrics_a_SOURCES = \
	metrics/metrics.h \
	metrics/metrics_int.h \
	metrics/hist.c \
	metrics/guest.c \
	metrics/prom.c
