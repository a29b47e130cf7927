# scheduler/: placement.  A pure library (no daemon or metrics headers) and
# the simulator that drives it on a model host; its tests are in
# tests/local.mk, its benchmark in bench/local.mk.

noinst_LIBRARIES += scheduler/libscheduler.a
scheduler_libscheduler_a_SOURCES = \
	scheduler/scheduler.h \
	scheduler/sched_int.h \
	scheduler/state.c \
	scheduler/load.c \
	scheduler/admit.c \
	scheduler/plan.c

# The simulator: a library (the tests and the bench link it too) and the
# program around it.
noinst_LIBRARIES += scheduler/libschedsim.a
scheduler_libschedsim_a_SOURCES = scheduler/sim.h scheduler/simlib.c

noinst_PROGRAMS += scheduler/sim
scheduler_sim_SOURCES = scheduler/sim.c
scheduler_sim_LDADD = scheduler/libschedsim.a scheduler/libscheduler.a -lm
