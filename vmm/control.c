/*
 * The tender's side of its daemon once the guest runs: a control thread
 * that notices the daemon going away and lets a new one attach, and the
 * console routing that follows whichever daemon is attached.
 *
 * Threads and the lock: the vCPU thread writes console output and, at the
 * end, reports the exit; the control thread swaps connections.  Both do
 * so under c->lock, so a console write never goes to a pipe that is being
 * replaced and the exit report never races an attach.  The vCPU thread
 * takes no other lock and never waits for the control thread, except in
 * the pause gate (kvm.c) while the daemon has asked it to hold.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "vmm/vmm.h"

#define CONSOLE_BUF_BYTES (64u * 1024) /* held while no daemon is attached */

struct vmm_ctl {
	pthread_mutex_t lock;
	pthread_cond_t started_cv;
	int alive;   /* the thread is past its start-up syscalls */
	int started; /* vmm_ctl_start() was called */
	pthread_t thread;
	struct vmm_vm *vm;
	int conn;       /* the attached daemon, -1 when none */
	int console_fd; /* pipe to the attached daemon, -1 when none */
	int listen_fd;  /* re-attach socket, -1 for none */
	int exit_fd;    /* exit record, -1 for none */
	int stats_fd;   /* the device counters' page, sent with ATTACHED */
	char name[64];
	uint64_t instance;
	/*
	 * Console bytes waiting for a daemon: a ring, oldest dropped first.
	 * Mapped on its own rather than part of this calloc'd struct: calloc
	 * clears what the heap held before, which would make every tender
	 * touch the whole ring at start; a page here costs memory only once a
	 * byte waits in it, which most tenders never see.
	 */
	uint8_t *buf;
	size_t head, len;
	uint64_t dropped;
};

static void buffer_bytes(struct vmm_ctl *c, const uint8_t *p, size_t n)
{
	while (n--) {
		if (c->len == CONSOLE_BUF_BYTES) {
			c->head = (c->head + 1) % CONSOLE_BUF_BYTES;
			c->len--;
			c->dropped++;
		}
		c->buf[(c->head + c->len) % CONSOLE_BUF_BYTES] = *p++;
		c->len++;
	}
}

/* Write the buffered console to fd (whole or not at all: it fits a pipe). */
static void flush_buffer(struct vmm_ctl *c, int fd)
{
	struct iovec iov[2];
	int n = 0;
	size_t first = CONSOLE_BUF_BYTES - c->head;

	if (!c->len)
		return;
	if (first > c->len)
		first = c->len;
	iov[n++] = (struct iovec){ c->buf + c->head, first };
	if (c->len > first)
		iov[n++] = (struct iovec){ c->buf, c->len - first };
	vmm_console_to_fd((void *)(intptr_t)fd, iov, n);
	c->head = c->len = 0;
}

void vmm_ctl_console(void *ctl, const struct iovec *iov, int n)
{
	struct vmm_ctl *c = ctl;
	int i;

	pthread_mutex_lock(&c->lock);
	if (c->console_fd >= 0) {
		size_t want = 0;
		ssize_t r;

		for (i = 0; i < n; i++)
			want += iov[i].iov_len;
		do
			r = writev(c->console_fd, iov, n);
		while (r < 0 && errno == EINTR);
		if (r >= 0 && (size_t)r == want) {
			pthread_mutex_unlock(&c->lock);
			return;
		}
		if (r < 0) {
			/* The daemon is gone: keep what follows until one attaches. */
			close(c->console_fd);
			c->console_fd = -1;
			r = 0;
		}
		/* A short write: buffer the rest. */
		for (i = 0; i < n; i++) {
			size_t skip = (size_t)r < iov[i].iov_len ? (size_t)r : iov[i].iov_len;

			r -= (ssize_t)skip;
			buffer_bytes(c, (const uint8_t *)iov[i].iov_base + skip,
			             iov[i].iov_len - skip);
		}
		if (c->console_fd >= 0)
			flush_buffer(c, c->console_fd);
	} else {
		for (i = 0; i < n; i++)
			buffer_bytes(c, iov[i].iov_base, iov[i].iov_len);
	}
	pthread_mutex_unlock(&c->lock);
}

static void detach(struct vmm_ctl *c)
{
	pthread_mutex_lock(&c->lock);
	if (c->conn >= 0)
		close(c->conn);
	c->conn = -1;
	if (c->console_fd >= 0)
		close(c->console_fd);
	c->console_fd = -1;
	pthread_mutex_unlock(&c->lock);
}

/*
 * A daemon connected: give it the ports' eventfds, a fresh console pipe
 * and the counters' page, then make it the tender's daemon (replacing any older one).
 */
static void attach(struct vmm_ctl *c, int sock)
{
	struct vmm_msg_attached m;
	int fds[VMM_FDS_MAX], pipefd[2];
	unsigned i, nfds = 0;

	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		close(sock);
		return;
	}
	memset(&m, 0, sizeof(m));
	m.hdr.type = VMM_MSG_ATTACHED;
	m.hdr.version = VMM_PROTO_VERSION;
	snprintf(m.name, sizeof(m.name), "%s", c->name);
	m.instance = c->instance;
	m.pid = (uint32_t)getpid();
	m.vcpu_tid = (uint32_t)c->vm->vcpu_tid;
	m.boot_wall_ns = c->vm->boot_wall_ns;
	m.mem_bytes = c->vm->mem_bytes;
	m.nports = c->vm->nports;
	m.paused = (uint32_t)vmm_vm_paused(c->vm);
	for (i = 0; i < c->vm->nports; i++) {
		m.ports[i] = c->vm->ports[i].port;
		fds[nfds++] = c->vm->ports[i].kick_fd;
		fds[nfds++] = c->vm->ports[i].notify_fd;
	}
	fds[nfds++] = pipefd[0];
	if (c->stats_fd >= 0)
		fds[nfds++] = c->stats_fd;
	pthread_mutex_lock(&c->lock);
	m.console_dropped = c->dropped;
	if (vmm_msg_send(sock, &m, sizeof(m), fds, nfds) < 0) {
		pthread_mutex_unlock(&c->lock);
		close(sock);
		close(pipefd[0]);
		close(pipefd[1]);
		return;
	}
	close(pipefd[0]);
	if (c->conn >= 0)
		close(c->conn);
	c->conn = sock;
	if (c->console_fd >= 0)
		close(c->console_fd);
	c->console_fd = pipefd[1];
	flush_buffer(c, c->console_fd);
	c->dropped = 0;
	pthread_mutex_unlock(&c->lock);
}

/* PAUSE or RESUME from the daemon on conn: do it, then say how the vCPU is. */
static void pause_vcpu(struct vmm_ctl *c, int conn, int pause)
{
	struct vmm_msg_paused m;

	memset(&m, 0, sizeof(m));
	m.hdr.type = VMM_MSG_PAUSED;
	m.hdr.version = VMM_PROTO_VERSION;
	m.status = vmm_vm_pause(c->vm, pause, m.reason, sizeof(m.reason));
	m.paused = (uint32_t)vmm_vm_paused(c->vm);
	pthread_mutex_lock(&c->lock);
	if (c->conn == conn)
		vmm_msg_send(conn, &m, sizeof(m), NULL, 0);
	pthread_mutex_unlock(&c->lock);
}

static void *ctl_main(void *arg)
{
	struct vmm_ctl *c = arg;

	pthread_mutex_lock(&c->lock);
	c->alive = 1;
	pthread_cond_broadcast(&c->started_cv);
	while (!c->started)
		pthread_cond_wait(&c->started_cv, &c->lock);
	pthread_mutex_unlock(&c->lock);

	for (;;) {
		struct pollfd p[2];
		int n = 0, conn;

		pthread_mutex_lock(&c->lock);
		conn = c->conn;
		pthread_mutex_unlock(&c->lock);
		if (conn >= 0)
			p[n++] = (struct pollfd){ conn, POLLIN, 0 };
		if (c->listen_fd >= 0)
			p[n++] = (struct pollfd){ c->listen_fd, POLLIN, 0 };
		if (poll(p, (nfds_t)n, -1) < 0)
			continue;
		if (conn >= 0 && p[0].revents) {
			struct vmm_msg_hdr h[32];
			long r = vmm_msg_recv(conn, h, sizeof(h), NULL, NULL);

			/* EOF means the daemon left; PAUSE and RESUME are all it may ask. */
			if (r == 0 || (r < 0 && r != -EINTR && r != -EMSGSIZE))
				detach(c);
			else if (r == (long)sizeof(h[0]) && h[0].version == VMM_PROTO_VERSION &&
			         (h[0].type == VMM_MSG_PAUSE || h[0].type == VMM_MSG_RESUME))
				pause_vcpu(c, conn, h[0].type == VMM_MSG_PAUSE);
		}
		if (c->listen_fd >= 0 && p[n - 1].revents & POLLIN) {
			int s = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC);

			if (s >= 0)
				attach(c, s);
		}
	}
	return NULL;
}

struct vmm_ctl *vmm_ctl_create(struct vmm_vm *vm, char *err, size_t errlen)
{
	struct vmm_ctl *c = calloc(1, sizeof(*c));
	int r;

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->buf = mmap(NULL, CONSOLE_BUF_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
	              -1, 0);
	if (c->buf == MAP_FAILED) {
		snprintf(err, errlen, "cannot map the console's %u-byte buffer: %s",
		         CONSOLE_BUF_BYTES, strerror(errno));
		free(c);
		return NULL;
	}
	c->vm = vm;
	c->conn = c->console_fd = c->listen_fd = c->exit_fd = c->stats_fd = -1;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->started_cv, NULL);
	r = pthread_create(&c->thread, NULL, ctl_main, c);
	if (r != 0) {
		snprintf(err, errlen, "cannot start the control thread: %s", strerror(r));
		munmap(c->buf, CONSOLE_BUF_BYTES);
		free(c);
		return NULL;
	}
	/*
	 * Wait until the thread runs: a new thread makes syscalls the filter
	 * does not allow while all its signals are blocked, which would kill
	 * the tender if the filter came first.
	 */
	pthread_mutex_lock(&c->lock);
	while (!c->alive)
		pthread_cond_wait(&c->started_cv, &c->lock);
	pthread_mutex_unlock(&c->lock);
	return c;
}

void vmm_ctl_start(struct vmm_ctl *c, int conn, int console_fd, int listen_fd, int exit_fd,
                   int stats_fd, const char *name, uint64_t instance)
{
	pthread_mutex_lock(&c->lock);
	c->conn = conn;
	c->console_fd = console_fd;
	c->listen_fd = listen_fd;
	c->exit_fd = exit_fd;
	c->stats_fd = stats_fd;
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->instance = instance;
	c->started = 1;
	pthread_cond_broadcast(&c->started_cv);
	pthread_mutex_unlock(&c->lock);
}

void vmm_ctl_exited(struct vmm_ctl *c, int status, const char *reason)
{
	struct vmm_msg_exited m;

	memset(&m, 0, sizeof(m));
	m.hdr.type = VMM_MSG_EXITED;
	m.hdr.version = VMM_PROTO_VERSION;
	m.status = status;
	snprintf(m.reason, sizeof(m.reason), "%s", reason);
	pthread_mutex_lock(&c->lock);
	if (c->conn >= 0 && vmm_msg_send(c->conn, &m, sizeof(m), NULL, 0) == 0) {
		pthread_mutex_unlock(&c->lock);
		return;
	}
	if (c->exit_fd >= 0) {
		char head[600];
		int n = snprintf(head, sizeof(head), "status %d\nreason %s\n", status, m.reason);

		if (n > 0)
			vmm_console_to_fd((void *)(intptr_t)c->exit_fd,
			                  &(struct iovec){ head, (size_t)n < sizeof(head)
			                                             ? (size_t)n
			                                             : sizeof(head) - 1 },
			                  1);
		flush_buffer(c, c->exit_fd);
	}
	pthread_mutex_unlock(&c->lock);
}
