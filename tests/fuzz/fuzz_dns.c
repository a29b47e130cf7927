/*
 * libFuzzer harness of shoald's PowerDNS remote backend (daemon/dns.c):
 * what PowerDNS writes on dns-socket, one JSON request a line, read as
 * the socket delivers it.  The input's first byte is the size of the
 * pieces the rest arrives in (0: all at once), as recv would cut it; each
 * piece goes through the connection's own reading (conn_process: lines
 * put together, a request too long, the answers queued and sent) to the
 * peer's end of a socket pair, where every answer line must be a JSON
 * object with "result" or "log".  The registry holds a guest named in the
 * zone, one with names of its own inside and outside it, a stopped one
 * and an on-demand one that is up (a sleeping one would be started, which
 * needs a backend).  Seeds: the requests PowerDNS sends and the bad ones
 * tests/integration/test_dns.sh sends (seeds.py).
 *
 * The file is included, not linked, to reach its static handlers; the
 * rest of the daemon comes from its library.
 */
#include "daemon/dns.c"

#include <fcntl.h>

static struct shoald d;
static struct dns *dns;

static struct guest *add_guest(const char *name, uint32_t ipv4, int running)
{
	struct guest *g = calloc(1, sizeof(*g));

	if (!g)
		abort();
	g->d = &d;
	snprintf(g->name, sizeof(g->name), "%s", name);
	g->nnics = 1;
	g->nics[0].ipv4 = ipv4;
	g->desired_running = running;
	g->state = running ? GS_RUNNING : GS_STOPPED;
	g->next = d.guests;
	d.guests = g;
	d.nguests++;
	return g;
}

static void setup(void)
{
	struct guest *g;

	snprintf(d.cfg.dns_zone, sizeof(d.cfg.dns_zone), "guests.example");
	snprintf(d.cfg.dns_ns, sizeof(d.cfg.dns_ns), "ns.guests.example");
	snprintf(d.cfg.dns_hostmaster, sizeof(d.cfg.dns_hostmaster), "hostmaster.guests.example");
	d.cfg.dns_ttl = 5;
	d.cfg.probe_hz = 0; /* an on-demand guest that runs is up */
	/* A backend with no device counters: every NIC counts as up. */
	static const struct backend_ops no_devices = { .name = "fuzz" };

	d.be_ops = &no_devices;
	d.loop = ev_loop_new(EVFLAG_AUTO);
	dns = calloc(1, sizeof(*dns));
	if (!d.loop || !dns)
		abort();
	dns->d = &d;
	dns->fd = -1;
	dns->serial = 1700000000;
	d.dns = dns;
	add_guest("web", 0x0a000002, 1);
	g = add_guest("shop", 0x0a000003, 1);
	g->spec.dns = calloc(2, sizeof(*g->spec.dns));
	if (!g->spec.dns)
		abort();
	g->spec.ndns = 2;
	snprintf(g->spec.dns[0], sizeof(g->spec.dns[0]), "www.example.org");
	snprintf(g->spec.dns[1], sizeof(g->spec.dns[1]), "shop.guests.example");
	add_guest("off", 0x0a000004, 0);
	g = add_guest("lazy", 0x0a000005, 1);
	g->spec.on_demand = 1;
	/* The daemon's debug lines (one a bad request) would only slow the run down. */
	stderr = fopen("/dev/null", "w");
	if (!stderr)
		abort();
}

/* Check the complete answer lines in buf[0, *len), keeping a partial last one. */
static void answers(char *buf, size_t *len)
{
	size_t start = 0;
	char *nl;

	while ((nl = memchr(buf + start, '\n', *len - start))) {
		size_t n = (size_t)(nl - (buf + start));
		json_t *j = json_loadb(buf + start, n, 0, NULL);

		if (!json_is_object(j) ||
		    (!json_object_get(j, "result") && !json_is_array(json_object_get(j, "log"))))
			abort();
		json_decref(j);
		start += n + 1;
	}
	memmove(buf, buf + start, *len - start);
	*len -= start;
}

/* Read what the connection sent to the peer (non-blocking) and check it. */
static void drain(int peer, char *buf, size_t *len, size_t cap)
{
	ssize_t n;

	while ((n = recv(peer, buf + *len, cap - *len, 0)) > 0) {
		*len += (size_t)n;
		answers(buf, len);
		if (*len == cap) /* one answer longer than the buffer: none is */
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[1 << 16];
	size_t piece, outlen = 0;
	struct dns_conn *c;
	int sp[2], alive = 1, asked;

	if (!dns)
		setup();
	if (size < 1)
		return 0;
	piece = data[0] ? data[0] : size;
	data++, size--;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sp) < 0)
		abort();
	/* As on_accept makes one. */
	c = calloc(1, sizeof(*c));
	if (!c)
		abort();
	c->dns = dns;
	c->fd = sp[0];
	ev_io_init(&c->rio, on_conn_read, c->fd, EV_READ);
	ev_io_init(&c->wio, on_conn_write, c->fd, EV_WRITE);
	ev_timer_init(&c->wait_timer, on_wait_timer, 0.01, 0.01);
	ev_check_init(&c->wait_check, on_wait_check);
	c->rio.data = c->wio.data = c->wait_timer.data = c->wait_check.data = c;
	c->next = dns->conns;
	dns->conns = c;
	dns->nconns++;
	ev_io_start(d.loop, &c->rio);
	while (size && alive) {
		size_t n = piece < size ? piece : size;

		/* Not read while its answers wait for the peer: taken, they go on (on_conn_write).
		 */
		if (!ev_is_active(&c->rio)) {
			if (c->waiting || !ev_is_active(&c->wio))
				abort();
			drain(sp[1], out, &outlen, sizeof(out));
			alive = conn_flush(c) == 0;
			continue;
		}

		if (n > sizeof(c->in) - c->inlen)
			n = sizeof(c->in) - c->inlen;
		/*
		 * Only a line completed or the buffer filled makes an answer
		 * (or ends the connection): a piece without either is not
		 * looked for at the peer, which would be a recv for nothing
		 * for each of a one-byte cut's pieces.
		 */
		asked = memchr(data, '\n', n) || c->inlen + n == sizeof(c->in);
		memcpy(c->in + c->inlen, data, n);
		c->inlen += n;
		data += n, size -= n;
		alive = conn_process(c) == 0;
		if (asked || !alive || ev_is_active(&c->wio))
			drain(sp[1], out, &outlen, sizeof(out));
		/* A waiting lookup is never made here (no guest sleeps); the rest is unread. */
		if (alive && (c->waiting || c->inlen == sizeof(c->in)))
			abort();
	}
	if (alive)
		conn_free(c);
	drain(sp[1], out, &outlen, sizeof(out));
	close(sp[1]);
	if (dns->conns || dns->nconns)
		abort();
	return 0;
}
