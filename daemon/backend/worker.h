/*
 * A backend's worker thread: its slow calls (a Xen build, libvirt's
 * define and create, destroy) off shoald's loop, one at a time and in the
 * order queued, each job's result handed back to the loop.
 *
 * A job is the backend's own struct with a struct worker_job in it; the
 * backend says what running one is (run, on the worker's thread) and what
 * its result means (done, on the loop, which then owns the job).  The
 * loop and the worker share nothing but the queues: what run() reads
 * must be the job's own, or safe from any thread.
 */
#ifndef SHOAL_DAEMON_BACKEND_WORKER_H
#define SHOAL_DAEMON_BACKEND_WORKER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

struct worker_job {
	struct worker_job *next;
};

/* The job struct of type T that holds the worker_job j as its member m. */
#define WORKER_JOB(j, T, m) ((T *)(void *)((char *)(j)-offsetof(T, m)))

struct worker {
	/* Set before worker_start(). */
	struct ev_loop *loop;
	/*
	 * On the worker's thread: the job's calls.  quitting: shoald is
	 * ending (worker_stop()), and the job may decline (a guest not made
	 * yet need not be).
	 */
	void (*run)(struct worker *w, struct worker_job *j, int quitting);
	/* On the loop: the job's result; the job is done()'s from then on. */
	void (*done)(struct worker *w, struct worker_job *j);
	/* On the loop after each batch of done() calls, or NULL. */
	void (*after)(struct worker *w);
	/*
	 * Says what a job is ("undefine lv1"), for worker_busy(); NULL: the
	 * job is not named.  Called on the loop with the worker's lock held,
	 * so it may read only what the job had when queued.
	 */
	void (*describe)(const struct worker_job *j, char *buf, size_t len);
	void *ctx;

	/* The worker's own. */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int up, quit;
	struct worker_job *queued, **queued_tail, *finished, **finished_tail;
	struct worker_job *running; /* the job run() has, or NULL */
	uint64_t running_since_ns;  /* CLOCK_MONOTONIC */
	unsigned nqueued;
	ev_async done_w;
};

/* Starts the thread (which takes no signal): 0, or an errno value. */
int worker_start(struct worker *w);

/* Queues j after the others; the worker must be up. */
void worker_queue(struct worker *w, struct worker_job *j);

/*
 * On the loop: how long the job under way has run, in ns (0: none), what
 * it is (describe(); "" unnamed) and how many wait behind it.  A call
 * that does not return (libvirtd stuck) shows here, and every job queued
 * after it waits.
 */
uint64_t worker_busy(struct worker *w, char *what, size_t len, unsigned *queued);

/*
 * Ends the worker: what is queued still runs (with quitting set), then
 * the thread is joined.  Returns the jobs done that the loop has not
 * taken, in order, for the caller (done() is not called for them); NULL
 * when there are none or the worker was never up.
 */
struct worker_job *worker_stop(struct worker *w);

#endif
