/*
 * Unit tests of a backend's worker thread (daemon/backend/worker.c): jobs
 * run in the order queued, on a thread that is not the loop's, while the
 * loop goes on; their results come back on the loop in the same order;
 * a stop runs what is queued with quitting set and hands back what the
 * loop has not taken.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "daemon/backend/worker.h"

#define NJOBS 64

struct job {
	int id;
	struct worker_job link; /* not the first field, on purpose */
	unsigned sleep_ms;
	int quitting;   /* as run() was told */
	int off_loop;   /* run() ran on another thread than the loop's */
	int run_order;  /* the how-manieth run() it was */
	int done_order; /* the how-manieth done() it was, on the loop */
};

struct fixture {
	struct ev_loop *loop;
	struct worker w;
	pthread_t loop_thread;
	struct job jobs[NJOBS];
	int runs, dones, afters;
	pthread_mutex_t mu; /* runs: the worker's; dones: the loop's */
};

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void run(struct worker *w, struct worker_job *wj, int quitting)
{
	struct fixture *f = w->ctx;
	struct job *j = WORKER_JOB(wj, struct job, link);

	j->quitting = quitting;
	j->off_loop = !pthread_equal(pthread_self(), f->loop_thread);
	pthread_mutex_lock(&f->mu);
	j->run_order = ++f->runs;
	pthread_mutex_unlock(&f->mu);
	if (j->sleep_ms)
		sleep_ms(j->sleep_ms);
}

static void done(struct worker *w, struct worker_job *wj)
{
	struct fixture *f = w->ctx;
	struct job *j = WORKER_JOB(wj, struct job, link);

	assert_true(pthread_equal(pthread_self(), f->loop_thread));
	j->done_order = ++f->dones;
	if (f->dones == NJOBS)
		ev_break(f->loop, EVBREAK_ALL);
}

static void describe(const struct worker_job *wj, char *buf, size_t len)
{
	const struct job *j = WORKER_JOB(wj, const struct job, link);

	snprintf(buf, len, "job %d", j->id);
}

static void after(struct worker *w)
{
	struct fixture *f = w->ctx;

	f->afters++;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int i;

	assert_non_null(f);
	f->loop = ev_loop_new(EVFLAG_AUTO);
	assert_non_null(f->loop);
	f->loop_thread = pthread_self();
	pthread_mutex_init(&f->mu, NULL);
	f->w.loop = f->loop;
	f->w.run = run;
	f->w.done = done;
	f->w.after = after;
	f->w.describe = describe;
	f->w.ctx = f;
	for (i = 0; i < NJOBS; i++)
		f->jobs[i].id = i;
	assert_int_equal(worker_start(&f->w), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	worker_stop(&f->w);
	ev_loop_destroy(f->loop);
	pthread_mutex_destroy(&f->mu);
	free(f);
	return 0;
}

/* A timer that counts its ticks while the worker is busy. */
static int ticks;
static void on_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
	ticks++;
}

static void on_deadline(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)t;
	(void)revents;
	fail_msg("the jobs' results did not all come back within 10 s");
	ev_break(loop, EVBREAK_ALL);
}

static void jobs_run_in_order_off_the_loop(void **state)
{
	struct fixture *f = *state;
	ev_timer tick, deadline;
	int i;

	/* The first job takes 300 ms: the loop's 10 ms timer goes on meanwhile. */
	f->jobs[0].sleep_ms = 300;
	for (i = 0; i < NJOBS; i++)
		worker_queue(&f->w, &f->jobs[i].link);
	ticks = 0;
	ev_timer_init(&tick, on_tick, 0.01, 0.01);
	ev_timer_start(f->loop, &tick);
	ev_timer_init(&deadline, on_deadline, 10., 0.);
	ev_timer_start(f->loop, &deadline);
	ev_run(f->loop, 0);
	ev_timer_stop(f->loop, &tick);
	ev_timer_stop(f->loop, &deadline);

	assert_int_equal(f->dones, NJOBS);
	for (i = 0; i < NJOBS; i++) {
		assert_int_equal(f->jobs[i].run_order, i + 1);
		assert_int_equal(f->jobs[i].done_order, i + 1);
		assert_true(f->jobs[i].off_loop);
		assert_false(f->jobs[i].quitting);
	}
	assert_true(f->afters >= 1);
	assert_true(f->afters <= NJOBS);
	/* 300 ms of a job on the worker: the loop's timer ticked through most of it. */
	print_message("# loop ticks while the first job ran 300 ms: %d, after() calls: %d\n", ticks,
	              f->afters);
	assert_true(ticks >= 10);
}

/* What the worker has under way, how long it has run and what waits behind it. */
static void busy_names_the_job_under_way_and_counts_the_rest(void **state)
{
	struct fixture *f = *state;
	char what[32];
	unsigned queued = 99;
	uint64_t ns;
	int i;

	assert_int_equal(worker_busy(&f->w, what, sizeof(what), &queued), 0);
	assert_string_equal(what, "");
	assert_int_equal(queued, 0);
	f->jobs[0].sleep_ms = 1000;
	for (i = 0; i < 4; i++)
		worker_queue(&f->w, &f->jobs[i].link);
	sleep_ms(150);
	ns = worker_busy(&f->w, what, sizeof(what), &queued);
	assert_true(ns >= 100000000u);
	assert_true(ns < 1000000000u);
	assert_string_equal(what, "job 0");
	assert_int_equal(queued, 3);
	/* Once every job is through: nothing under way, nothing queued. */
	for (i = 0; i < 500 && worker_busy(&f->w, what, sizeof(what), &queued); i++)
		sleep_ms(10);
	assert_int_equal(worker_busy(&f->w, what, sizeof(what), &queued), 0);
	assert_string_equal(what, "");
	assert_int_equal(queued, 0);
}

static void a_stop_runs_what_is_queued_quitting_and_hands_back_the_rest(void **state)
{
	struct fixture *f = *state;
	struct worker_job *left;
	int i, n = 0;

	/* The first one is under way when the stop comes; the rest wait behind it. */
	f->jobs[0].sleep_ms = 200;
	for (i = 0; i < 8; i++)
		worker_queue(&f->w, &f->jobs[i].link);
	sleep_ms(50);
	left = worker_stop(&f->w);
	assert_false(f->w.up);
	assert_int_equal(f->dones, 0); /* the loop never ran: nothing was taken */
	assert_false(f->jobs[0].quitting);
	for (i = 1; i < 8; i++)
		assert_true(f->jobs[i].quitting);
	for (; left; left = left->next, n++)
		assert_int_equal(WORKER_JOB(left, struct job, link)->id, n);
	assert_int_equal(n, 8);
	/* A second stop is nothing. */
	assert_null(worker_stop(&f->w));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(jobs_run_in_order_off_the_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(busy_names_the_job_under_way_and_counts_the_rest,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(
		    a_stop_runs_what_is_queued_quitting_and_hands_back_the_rest, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
