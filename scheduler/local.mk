# scheduler/: placement.  A pure library (no daemon or metrics headers),
# the simulator that drives it on a model host, its unit tests and a
# benchmark.

noinst_LIBRARIES += scheduler/libscheduler.a
scheduler_libscheduler_a_SOURCES = \
	scheduler/scheduler.h \
	scheduler/sched_int.h \
	scheduler/state.c \
	scheduler/load.c \
	scheduler/admit.c \
	scheduler/plan.c

