/*
 * shoalctl ui: the web dashboard on a unix-socket-only shoald.  A browser
 * cannot speak to a unix socket, so this forwards a loopback TCP port to
 * shoald's socket, byte for byte, and prints the dashboard's URL.
 *
 * The socket is mode 0660 for a reason: whoever reaches it drives shoald.
 * A loopback port is reachable by every local user, so the proxy listens
 * on loopback only and accepts a connection only from the user who runs
 * it (or root): the connecting socket's owner is read from the kernel's
 * table of TCP sockets (/proc/net/tcp, tcp6), as identd does.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "shoalctl/ctl.h"

#define UI_DEFAULT_LISTEN "127.0.0.1:8470"
#define UI_PAIRS_MAX      64
#define UI_BUF            65536

struct ui_dir {
	int from, to;
	char buf[UI_BUF];
	size_t len;
	int eof; /* from has no more to give: shut `to` down once buf is out */
};

struct ui_pair {
	int used;
	struct ui_dir up, down; /* browser -> shoald, shoald -> browser */
};

static volatile sig_atomic_t ui_stop;

static void on_signal(int sig)
{
	(void)sig;
	ui_stop = 1;
}

/* "ADDR:PORT", "[ADDR6]:PORT" or "PORT" (127.0.0.1); loopback only. */
static int parse_listen(const struct ctl_cmd *cmd, const char *s, struct sockaddr_storage *ss,
                        socklen_t *len)
{
	char host[64] = "127.0.0.1";
	const char *port = s, *colon;
	unsigned long long p;
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	int rc;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end || end[1] != ':' || (size_t)(end - s - 1) >= sizeof(host))
			return ctl_usage_error(cmd, "--listen %s: expected [ADDRESS]:PORT", s);
		memcpy(host, s + 1, (size_t)(end - s - 1));
		host[end - s - 1] = '\0';
		port = end + 2;
	} else if ((colon = strrchr(s, ':'))) {
		if ((size_t)(colon - s) >= sizeof(host))
			return ctl_usage_error(cmd, "--listen %s: the address is too long", s);
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
		port = colon + 1;
	}
	rc = ctl_parse_uint(cmd, "--listen's port", port, 65535, &p);
	if (rc < 0)
		return rc;
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)p);
		*len = sizeof(*in4);
		if ((ntohl(in4->sin_addr.s_addr) >> 24) == 127)
			return 0;
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)p);
		*len = sizeof(*in6);
		if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
			return 0;
	} else
		return ctl_usage_error(cmd, "--listen %s: \"%s\" is not an IP address", s, host);
	return ctl_usage_error(
	    cmd,
	    "--listen %s: only a loopback address (127.0.0.1, ::1): the proxy has no "
	    "authentication; for remote access use shoald's TCP listener",
	    s);
}

/*
 * The owner of the TCP socket at peer that is connected to local, from
 * /proc/net/tcp or tcp6 (addresses in the kernel's byte order, as hex).
 * -1 when it is not found.
 */
static long peer_uid(const struct sockaddr_storage *peer, const struct sockaddr_storage *local)
{
	const char *path = peer->ss_family == AF_INET ? "/proc/net/tcp" : "/proc/net/tcp6";
	char want_l[80], want_r[80], line[512];
	long uid = -1;
	FILE *f;

	if (peer->ss_family == AF_INET) {
		const struct sockaddr_in *p = (const void *)peer, *l = (const void *)local;

		snprintf(want_l, sizeof(want_l), "%08X:%04X", p->sin_addr.s_addr,
		         ntohs(p->sin_port));
		snprintf(want_r, sizeof(want_r), "%08X:%04X", l->sin_addr.s_addr,
		         ntohs(l->sin_port));
	} else {
		const struct sockaddr_in6 *p = (const void *)peer, *l = (const void *)local;
		const uint32_t *pa = (const uint32_t *)&p->sin6_addr,
		               *la = (const uint32_t *)&l->sin6_addr;

		snprintf(want_l, sizeof(want_l), "%08X%08X%08X%08X:%04X", pa[0], pa[1], pa[2],
		         pa[3], ntohs(p->sin6_port));
		snprintf(want_r, sizeof(want_r), "%08X%08X%08X%08X:%04X", la[0], la[1], la[2],
		         la[3], ntohs(l->sin6_port));
	}
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char lo[80], rem[80];
		unsigned st;
		long u;

		/* sl local rem st tx:rx tr:when retrnsmt uid ... */
		if (sscanf(line, " %*s %79s %79s %x %*s %*s %*s %ld", lo, rem, &st, &u) == 4 &&
		    !strcasecmp(lo, want_l) && !strcasecmp(rem, want_r)) {
			uid = u;
			break;
		}
	}
	fclose(f);
	return uid;
}

static void refuse(int fd, const char *why)
{
	char msg[512];
	int n = snprintf(msg, sizeof(msg),
	                 "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\n"
	                 "Connection: close\r\nContent-Length: %zu\r\n\r\n%s\n",
	                 strlen(why) + 1, why);

	if (write(fd, msg, (size_t)n) < 0) {
		/* the browser left; nothing to tell */
	}
	close(fd);
}

static int connect_shoald(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static void pair_close(struct ui_pair *p)
{
	close(p->up.from);
	close(p->up.to);
	memset(p, 0, sizeof(*p));
}

/* Move what can move in one direction; -1 when the pair is done. */
static int pump(struct ui_dir *d, short rev_from, short rev_to)
{
	ssize_t n;

	if ((rev_from & (POLLIN | POLLHUP | POLLERR)) && !d->eof && d->len < UI_BUF) {
		n = read(d->from, d->buf + d->len, UI_BUF - d->len);
		if (n > 0)
			d->len += (size_t)n;
		else if (n == 0 || (errno != EAGAIN && errno != EINTR))
			d->eof = 1;
	}
	if (d->len && (rev_to & POLLOUT)) {
		n = write(d->to, d->buf, d->len);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		if (n > 0) {
			memmove(d->buf, d->buf + n, d->len - (size_t)n);
			d->len -= (size_t)n;
		}
	}
	if (rev_to & POLLERR)
		return -1;
	if (d->eof && !d->len)
		shutdown(d->to, SHUT_WR);
	return 0;
}

int ctl_cmd_ui(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv)
{
	static const struct option lo[] = { { "listen", required_argument, NULL, 'l' },
		                            CTL_GLOBAL_LONGOPTS,
		                            { NULL, 0, NULL, 0 } };
	static struct ui_pair pairs[UI_PAIRS_MAX];
	const char *listen_at = UI_DEFAULT_LISTEN;
	struct sockaddr_storage ss, bound;
	socklen_t sslen = 0, blen = sizeof(bound);
	struct sigaction sa;
	char host[INET6_ADDRSTRLEN];
	int ch, rc, lfd = -1, one = 1, probe;
	unsigned port;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "+l:h", lo, NULL)) != -1) {
		if (ch == 'l') {
			listen_at = optarg;
			continue;
		}
		rc = ctl_opt_common(c, cmd, ch, argv);
		if (rc)
			return rc > 0 ? 0 : rc;
	}
	rc = ctl_want_args(cmd, argc, argv, 0, NULL);
	if (rc < 0)
		return rc;
	if (c->url) {
		/* A shoald on TCP serves the dashboard itself: no proxy, and its files need no
		 * token. */
		size_t n = strlen(c->url);

		printf("the dashboard: %.*s/ui/ (served by shoald itself; the browser asks for its "
		       "token)\n",
		       (int)(n && c->url[n - 1] == '/' ? n - 1 : n), c->url);
		return 0;
	}
	rc = parse_listen(cmd, listen_at, &ss, &sslen);
	if (rc < 0)
		return rc;
	/* shoald must be there now; later connections are each tried anew. */
	probe = connect_shoald(c->socket_path);
	if (probe < 0)
		return ctl_fail(CTL_EXIT_UNREACHABLE, "cannot reach shoald at %s: %s",
		                c->socket_path, strerror(errno));
	close(probe);
	lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (lfd < 0)
		return ctl_fail(CTL_EXIT_FAILED, "ui: socket: %s", strerror(errno));
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&ss, sslen) < 0 || listen(lfd, 64) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&bound, &blen) < 0) {
		rc = ctl_fail(CTL_EXIT_FAILED, "ui: cannot listen on %s: %s", listen_at,
		              strerror(errno));
		close(lfd);
		return rc;
	}
	if (bound.ss_family == AF_INET) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&bound)->sin_addr, host, sizeof(host));
		port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
		printf("shoalctl: the dashboard is at http://%s:%u/ui/ (for user %u only; Ctrl-C "
		       "to stop)\n",
		       host, port, (unsigned)geteuid());
	} else {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&bound)->sin6_addr, host,
		          sizeof(host));
		port = ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);
		printf("shoalctl: the dashboard is at http://[%s]:%u/ui/ (for user %u only; Ctrl-C "
		       "to stop)\n",
		       host, port, (unsigned)geteuid());
	}
	fflush(stdout);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	while (!ui_stop) {
		struct pollfd pfd[1 + 2 * UI_PAIRS_MAX];
		int idx[UI_PAIRS_MAX], n = 1, i;

		pfd[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		for (i = 0; i < UI_PAIRS_MAX; i++) {
			struct ui_pair *p = &pairs[i];

			idx[i] = -1;
			if (!p->used)
				continue;
			idx[i] = n;
			pfd[n++] = (struct pollfd){
				.fd = p->up.from,
				.events = (short)((!p->up.eof && p->up.len < UI_BUF ? POLLIN : 0) |
				                  (p->down.len ? POLLOUT : 0))
			};
			pfd[n++] = (struct pollfd){
				.fd = p->down.from,
				.events =
				    (short)((!p->down.eof && p->down.len < UI_BUF ? POLLIN : 0) |
				            (p->up.len ? POLLOUT : 0))
			};
		}
		if (poll(pfd, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (i = 0; i < UI_PAIRS_MAX; i++) {
			struct ui_pair *p = &pairs[i];
			short rb, rs;

			if (idx[i] < 0 || !p->used)
				continue;
			rb = pfd[idx[i]].revents;     /* the browser's socket */
			rs = pfd[idx[i] + 1].revents; /* shoald's */
			if (pump(&p->up, rb, rs) < 0 || pump(&p->down, rs, rb) < 0 ||
			    (p->up.eof && p->down.eof && !p->up.len && !p->down.len))
				pair_close(p);
		}
		if (pfd[0].revents & POLLIN) {
			struct sockaddr_storage peer;
			socklen_t plen = sizeof(peer);
			int cfd = accept4(lfd, (struct sockaddr *)&peer, &plen,
			                  SOCK_CLOEXEC | SOCK_NONBLOCK);
			long uid;
			int sfd;

			if (cfd < 0)
				continue;
			uid = peer_uid(&peer, &bound);
			if (uid < 0 || (uid != (long)geteuid() && uid != 0)) {
				char why[200];

				if (uid < 0)
					snprintf(
					    why, sizeof(why),
					    "shoalctl ui: cannot tell who is connecting: refused");
				else
					snprintf(why, sizeof(why),
					         "shoalctl ui: this proxy serves user %u only, not "
					         "user %ld",
					         (unsigned)geteuid(), uid);
				refuse(cfd, why);
				continue;
			}
			for (i = 0; i < UI_PAIRS_MAX && pairs[i].used; i++)
				;
			if (i == UI_PAIRS_MAX) {
				refuse(cfd, "shoalctl ui: too many connections");
				continue;
			}
			sfd = connect_shoald(c->socket_path);
			if (sfd < 0) {
				char why[300];

				snprintf(why, sizeof(why),
				         "shoalctl ui: cannot reach shoald at %.200s: %s",
				         c->socket_path, strerror(errno));
				refuse(cfd, why);
				continue;
			}
			pairs[i].used = 1;
			pairs[i].up.from = pairs[i].down.to = cfd;
			pairs[i].up.to = pairs[i].down.from = sfd;
		}
	}
	for (ch = 0; ch < UI_PAIRS_MAX; ch++)
		if (pairs[ch].used)
			pair_close(&pairs[ch]);
	close(lfd);
	return 0;
}
