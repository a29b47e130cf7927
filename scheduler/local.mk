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

# The simulator: a library (the tests and the bench link it too) and the
# program around it.
noinst_LIBRARIES += scheduler/libschedsim.a
scheduler_libschedsim_a_SOURCES = scheduler/sim.h scheduler/simlib.c

noinst_PROGRAMS += scheduler/sim
scheduler_sim_SOURCES = scheduler/sim.c
scheduler_sim_LDADD = scheduler/libschedsim.a scheduler/libscheduler.a -lm

# Unit tests (cmocka, TAP).  UNIT_CPPFLAGS comes from tests/local.mk.
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

# Prints the time of one plan at 64 CPUs / 5,000 guests beside its
# baselines; never pass/fail.
noinst_PROGRAMS += bench/sched-plan
bench_sched_plan_SOURCES = bench/sched-plan.c
bench_sched_plan_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)
bench_sched_plan_LDADD = scheduler/libschedsim.a scheduler/libscheduler.a bench/libbench.a \
	daemon/vmm/libvmm.a -lm
