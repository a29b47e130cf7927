/*
 * A backend's worker thread (worker.h): a queue of jobs in, a queue of
 * done ones out, and an ev_async that wakes the loop for the second.
 */
#include <signal.h>

#include "daemon/backend/worker.h"
#include "daemon/daemon.h"

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct worker_job *j;
		int quitting;

		while (!w->queued && !w->quit)
			pthread_cond_wait(&w->cv, &w->mu);
		if (!w->queued)
			break;
		j = w->queued;
		w->queued = j->next;
		if (!w->queued)
			w->queued_tail = &w->queued;
		j->next = NULL;
		w->nqueued--;
		w->running = j;
		w->running_since_ns = now_mono_ns();
		quitting = w->quit;
		pthread_mutex_unlock(&w->mu);
		w->run(w, j, quitting);
		pthread_mutex_lock(&w->mu);
		w->running = NULL;
		*w->finished_tail = j;
		w->finished_tail = &j->next;
		ev_async_send(w->loop, &w->done_w);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* The done jobs, taken from the worker's queue in order. */
static struct worker_job *take_finished(struct worker *w)
{
	struct worker_job *list;

	pthread_mutex_lock(&w->mu);
	list = w->finished;
	w->finished = NULL;
	w->finished_tail = &w->finished;
	pthread_mutex_unlock(&w->mu);
	return list;
}

static void on_done(struct ev_loop *loop, ev_async *a, int revents)
{
	struct worker *w = a->data;
	struct worker_job *list = take_finished(w);

	(void)loop;
	(void)revents;
	while (list) {
		struct worker_job *j = list;

		list = j->next;
		j->next = NULL;
		w->done(w, j);
	}
	if (w->after)
		w->after(w);
}

int worker_start(struct worker *w)
{
	sigset_t all, old;
	int r;

	w->queued = w->finished = NULL;
	w->queued_tail = &w->queued;
	w->finished_tail = &w->finished;
	w->quit = 0;
	w->running = NULL;
	w->nqueued = 0;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	ev_async_init(&w->done_w, on_done);
	w->done_w.data = w;
	ev_async_start(w->loop, &w->done_w);
	/* Signals are the loop's: the worker takes none. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&w->thread, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		ev_async_stop(w->loop, &w->done_w);
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		return r;
	}
	w->up = 1;
	return 0;
}

void worker_queue(struct worker *w, struct worker_job *j)
{
	j->next = NULL;
	pthread_mutex_lock(&w->mu);
	*w->queued_tail = j;
	w->queued_tail = &j->next;
	w->nqueued++;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

uint64_t worker_busy(struct worker *w, char *what, size_t len, unsigned *queued)
{
	uint64_t ns = 0;

	if (len)
		what[0] = 0;
	*queued = 0;
	if (!w->up)
		return 0;
	pthread_mutex_lock(&w->mu);
	if (w->running) {
		ns = now_mono_ns() - w->running_since_ns;
		if (ns == 0)
			ns = 1;
		if (w->describe && len)
			w->describe(w->running, what, len);
	}
	*queued = w->nqueued;
	pthread_mutex_unlock(&w->mu);
	return ns;
}

struct worker_job *worker_stop(struct worker *w)
{
	struct worker_job *left;

	if (!w->up)
		return NULL;
	pthread_mutex_lock(&w->mu);
	w->quit = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	w->up = 0;
	ev_async_stop(w->loop, &w->done_w);
	left = take_finished(w);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	return left;
}
