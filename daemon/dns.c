/*
 * Names: shoald as PowerDNS's remote backend.  The DNS server is
 * PowerDNS Authoritative, not code of ours; it asks shoald, over a unix
 * socket of shoald's own (the remote backend's "unix" connector), for the
 * records of a name, one JSON request a line, one JSON answer a line.
 * What shoald answers comes from the registry as it is at that moment:
 * NAME.ZONE and the spec's own names of every guest that is meant to
 * run, with its first NIC's address; the zone's SOA and NS from the
 * configuration.  A name of a guest's own outside the zone is a zone of
 * its own to PowerDNS (its apex has the same SOA and NS).
 *
 * The socket is served on shoald's loop and never blocks it: every
 * descriptor is non-blocking, a request is at most DNS_LINE_MAX bytes,
 * answers wait in a bounded buffer while the peer is slow (and nothing
 * more is read from it meanwhile).  Bad input (not JSON, no method, an
 * unknown one, a line too long) gets {"result": false, "log": [why]};
 * a line too long or an answer that cannot be sent also ends that
 * connection, and nothing else.  While no shoald runs, PowerDNS cannot
 * connect and answers SERVFAIL: never an address from the past.
 *
 * An on-demand guest (its spec's on_demand) sleeps until a query for one
 * of its names: the lookup starts it (once, however many queries come)
 * and its answer waits, with the rest of that connection's requests,
 * until the guest runs, has answered its first probe and has brought up
 * the NIC its address is on (address_nic_up), or SERVFAIL
 * (an answer without "result", which PowerDNS takes for an error) when it
 * cannot start or is not up within dns-wake-timeout-ms.  Once a second
 * the NIC counters of each running on-demand guest are read; still for
 * idle_stop_s, it is stopped again (its writable disks are kept).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/backend/backend.h"
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "metrics/metrics.h"

#define DNS_LINE_MAX  65536     /* a request; PowerDNS's are a few hundred bytes */
#define DNS_OUT_MAX   (1 << 20) /* answers not yet taken by the peer */
#define DNS_CONNS_MAX 256       /* PowerDNS opens one a backend thread */

struct dns_conn {
	struct dns *dns;
	int fd;
	ev_io rio, wio;
	char in[DNS_LINE_MAX];
	size_t inlen;
	char *out;
	size_t outlen, outoff;
	int close_after; /* end the connection once out is sent */
	/* A lookup waiting for an on-demand guest to come up (nothing more is read meanwhile). */
	int waiting;
	ev_check wait_check; /* after each loop iteration: the guest may be up */
	ev_timer wait_timer; /* the deadline, and a look every 10 ms besides */
	uint64_t wait_start_ns, wait_deadline_ns;
	uint64_t wait_probed_ns; /* when the guest's first probe was seen answered; 0: not yet */
	char wait_guest[GUEST_NAME_MAX + 1];
	char wait_name[HOSTNAME_MAX + 2], wait_qname[HOSTNAME_MAX + 2], wait_qtype[17];
	struct dns_conn *next;
};

struct dns {
	struct shoald *d;
	int fd;
	ev_io accept_io;
	struct dns_conn *conns;
	unsigned nconns;
	uint32_t serial;
	ev_timer idle_timer; /* on-demand guests' idle check, once a second */
	uint64_t requests, bad;
	uint64_t wakes, wake_failures, sleeps;
};

/* ---- names and records ---- */

/* The address a guest's names have: its first NIC's (host order); 0: none. */
static uint32_t guest_address(const struct guest *g)
{
	unsigned i;

	for (i = 0; i < g->nnics; i++)
		if (g->nics[i].ipv4)
			return g->nics[i].ipv4;
	return 0;
}

/* Is name (lower case, no final dot) NAME.ZONE of guest g? */
static int is_guest_name(const struct shoald *d, const struct guest *g, const char *name)
{
	size_t n = strlen(g->name);

	return d->cfg.dns_zone[0] && !strncmp(name, g->name, n) && name[n] == '.' &&
	       !strcmp(name + n + 1, d->cfg.dns_zone);
}

/* Is name inside the zone (the zone itself or below it)? */
static int in_zone(const struct shoald *d, const char *name)
{
	size_t n = strlen(name), z = strlen(d->cfg.dns_zone);

	if (!z)
		return 0;
	return !strcmp(name, d->cfg.dns_zone) ||
	       (n > z + 1 && name[n - z - 1] == '.' && !strcmp(name + n - z, d->cfg.dns_zone));
}

json_t *dns_names_json(const struct guest *g)
{
	json_t *a = json_array();
	unsigned i;

	if (!a)
		return json_null();
	if (g->d->cfg.dns_zone[0] && guest_address(g)) {
		char name[GUEST_NAME_MAX + HOSTNAME_MAX + 3];

		snprintf(name, sizeof(name), "%s.%s", g->name, g->d->cfg.dns_zone);
		json_array_append_new(a, json_string(name));
	}
	for (i = 0; i < g->spec.ndns; i++)
		json_array_append_new(a, json_string(g->spec.dns[i]));
	return a;
}

int dns_check(struct shoald *d, const char *name, const struct guest_spec *spec, struct sd_err *err)
{
	const char *zone = d->cfg.dns_zone;
	const struct guest *g;
	unsigned i, j;

	if (spec->on_demand && !zone[0])
		return sd_err_set(
		    err, 400, "invalid_field", "on_demand",
		    "on_demand: this shoald has no dns-zone, so no DNS query could wake "
		    "the guest");
	if (spec->on_demand && !spec->nnics)
		return sd_err_set(err, 400, "invalid_field", "on_demand",
		                  "on_demand: the guest has no NIC, so it has no address for a DNS "
		                  "query to wake it for");

	for (i = 0; i < spec->ndns; i++) {
		const char *n = spec->dns[i];
		char field[32];

		snprintf(field, sizeof(field), "dns[%u]", i);
		if (zone[0] && !strcmp(n, zone))
			return sd_err_set(
			    err, 400, "invalid_field", field,
			    "%s: %s is the zone itself (dns-zone), not a name a guest "
			    "may have",
			    field, n);
		if (zone[0] && in_zone(d, n) && strchr(n, '.') == n + strlen(n) - strlen(zone) - 1)
			return sd_err_set(
			    err, 400, "invalid_field", field,
			    "%s: %s is directly under the zone %s, where the names are "
			    "the guests' own (NAME.%s); use a name below one of them or "
			    "outside the zone",
			    field, n, zone, zone);
		for (g = d->guests; g; g = g->next) {
			if (!strcmp(g->name, name))
				continue;
			for (j = 0; j < g->spec.ndns; j++)
				if (!strcmp(g->spec.dns[j], n))
					return sd_err_set(err, 409, "dns_name_taken", field,
					                  "%s: %s is guest %s's name already",
					                  field, n, g->name);
		}
	}
	return 0;
}

static int qtype_wants(const char *qtype, const char *type)
{
	return !strcmp(qtype, "ANY") || !strcmp(qtype, type);
}

static void add_record(json_t *out, const char *qname, const char *type, const char *content,
                       unsigned ttl)
{
	json_array_append_new(out,
	                      json_pack("{s:s, s:s, s:s, s:I, s:b}", "qtype", type, "qname", qname,
	                                "content", content, "ttl", (json_int_t)ttl, "auth", 1));
}

/* An apex's SOA and NS (the zone, or a guest's name outside it). */
static void add_apex(struct dns *dns, json_t *out, const char *qname, const char *qtype)
{
	const struct shoald_config *c = &dns->d->cfg;
	char soa[2 * HOSTNAME_MAX + 80], ns[HOSTNAME_MAX + 3];

	if (qtype_wants(qtype, "SOA")) {
		/* Refresh, retry and expire matter to secondaries only; the last is the
		 * negative TTL, as short as the records'. */
		snprintf(soa, sizeof(soa), "%s. %s. %u 60 30 3600 %u", c->dns_ns, c->dns_hostmaster,
		         dns->serial, c->dns_ttl);
		add_record(out, qname, "SOA", soa, c->dns_ttl);
	}
	if (qtype_wants(qtype, "NS")) {
		snprintf(ns, sizeof(ns), "%s.", c->dns_ns);
		add_record(out, qname, "NS", ns, c->dns_ttl);
	}
}

/*
 * A guest meant to run answers for its names, and an on-demand one
 * (woken if need be); a stopped one has none.
 */
static int guest_answers(const struct guest *g)
{
	return (g->desired_running || g->spec.on_demand) && !g->delete_after_stop &&
	       guest_address(g);
}

static int state_down(const struct guest *g)
{
	return g->state == GS_STOPPED || g->state == GS_EXITED || g->state == GS_FAILED;
}

/*
 * Is the NIC that has the guest's address up: brought up by the guest,
 * so that a frame for it reaches its stack from now on?  The first probe's
 * answer does not say so: the runtime answers probes from its first
 * instruction on, before main() has opened any device.  A backend that
 * cannot tell (no counters) is taken at its word that the guest runs.
 */
static int address_nic_up(struct guest *g)
{
	struct shoald *d = g->d;
	struct be_dev_stats st[BE_DISKS_MAX + BE_NICS_MAX];
	const char *nic = NULL;
	unsigned i, n;

	/* Seen up once this run: every query after the first is answered without a look. */
	if (g->instance && g->demand_nic_up_instance == g->instance)
		return 1;
	for (i = 0; i < g->nnics && !nic; i++)
		if (g->nics[i].ipv4)
			nic = g->nics[i].name;
	if (!nic || !d->be_ops->dev_stats || !g->be)
		return 1;
	n = d->be_ops->dev_stats(d->be, g, st, BE_DISKS_MAX + BE_NICS_MAX);
	for (i = 0; i < n; i++)
		if (st[i].nic && !strcmp(st[i].name, nic)) {
			if (st[i].up)
				g->demand_nic_up_instance = g->instance;
			return st[i].up;
		}
	return 1;
}

/*
 * Is an on-demand guest up: running, its first probe of this run
 * answered, and the NIC its names give the address of up?
 */
static int demand_ready(const struct guest *g)
{
	return g->state == GS_RUNNING &&
	       (!g->d->cfg.probe_hz || g->probe.last_answer_ns >= g->state_since_ns) &&
	       address_nic_up((struct guest *)g);
}

/*
 * The records of name (lower case, no final dot) of type qtype, into out,
 * named qname.  With sleeping non-NULL, an on-demand guest that is not up
 * adds nothing and is put there, for the caller to wake and wait for.
 */
static void lookup(struct dns *dns, const char *name, const char *qname, const char *qtype,
                   json_t *out, struct guest **sleeping)
{
	struct shoald *d = dns->d;
	const struct guest *g;
	unsigned i;

	if (d->cfg.dns_zone[0] && !strcmp(name, d->cfg.dns_zone)) {
		add_apex(dns, out, qname, qtype);
		return;
	}
	for (g = d->guests; g; g = g->next) {
		int apex = 0, match = is_guest_name(d, g, name);
		char a[16];

		for (i = 0; !match && i < g->spec.ndns; i++)
			if (!strcmp(g->spec.dns[i], name)) {
				match = 1;
				apex = !in_zone(d, name);
			}
		if (!match || !guest_answers(g))
			continue;
		if (apex)
			add_apex(dns, out, qname, qtype);
		if (!qtype_wants(qtype, "A"))
			return;
		if (g->spec.on_demand && sleeping) {
			if (!demand_ready(g)) {
				*sleeping = (struct guest *)g;
				return;
			}
			/* Looked up: traffic is likely to follow, so it is not idle. */
			((struct guest *)g)->demand_quiet_since_ns = now_mono_ns();
		}
		add_record(out, qname, "A", spec_ipv4_str(guest_address(g), a), d->cfg.dns_ttl);
		return;
	}
}

/* Every zone PowerDNS may ask about: dns-zone and the guests' names outside it. */
static json_t *all_domains(struct dns *dns)
{
	struct shoald *d = dns->d;
	const struct guest *g;
	json_t *a = json_array();
	char zone[HOSTNAME_MAX + 4];
	unsigned i;
	int id = 1;

	if (d->cfg.dns_zone[0]) {
		snprintf(zone, sizeof(zone), "%s.", d->cfg.dns_zone);
		json_array_append_new(a, json_pack("{s:i, s:s, s:s, s:I}", "id", id++, "zone", zone,
		                                   "kind", "native", "serial",
		                                   (json_int_t)dns->serial));
	}
	for (g = d->guests; g; g = g->next)
		for (i = 0; i < g->spec.ndns; i++) {
			if (in_zone(d, g->spec.dns[i]) || !guest_answers(g))
				continue;
			snprintf(zone, sizeof(zone), "%s.", g->spec.dns[i]);
			json_array_append_new(a, json_pack("{s:i, s:s, s:s, s:I}", "id", id++,
			                                   "zone", zone, "kind", "native", "serial",
			                                   (json_int_t)dns->serial));
		}
	return a;
}

/*
 * A name PowerDNS sent ("www.example.org."), into out in lower case
 * without the final dot; -1 when it is not a string or too long.
 */
static int name_of(const json_t *v, char out[HOSTNAME_MAX + 2])
{
	const char *s;
	size_t i, n;

	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	n = json_string_length(v);
	if (n != strlen(s) || n > HOSTNAME_MAX + 1)
		return -1;
	for (i = 0; i < n; i++)
		out[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
	if (n > 0 && out[n - 1] == '.')
		n--;
	out[n] = '\0';
	return 0;
}

static json_t *failure(struct dns *dns, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static json_t *failure(struct dns *dns, const char *fmt, ...)
{
	char msg[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	dns->bad++;
	log_debug("DNS backend: %s", msg);
	return json_pack("{s:b, s:[s]}", "result", 0, "log", msg);
}

/* SERVFAIL: an answer without "result" is an error to PowerDNS. */
static json_t *servfail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static json_t *servfail(const char *fmt, ...)
{
	char msg[700];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_info("DNS backend: %s", msg);
	return json_pack("{s:[s]}", "log", msg);
}

static void conn_wait(struct dns_conn *c, struct guest *g, const char *name, const char *qname,
                      const char *qtype, uint64_t start_ns);

/*
 * Wake an on-demand guest for a query about name: start it unless it is
 * on its way already (many queries start it once).  0, or -1 with why in
 * msg.
 */
static int wake(struct dns *dns, struct guest *g, const char *name, char *msg, size_t msglen)
{
	struct shoald *d = dns->d;
	struct shoald_wait *w = NULL;
	struct sd_err err;
	json_t *body = NULL;
	int http;

	if (g->desired_running &&
	    (g->state == GS_PENDING || g->state == GS_STARTING || g->state == GS_RUNNING ||
	     g->state == GS_BACKOFF || (g->state == GS_STOPPING && g->restart_after_stop)))
		return 0; /* on its way up already */
	if (shoald_guest_action(d, g->name, "start", 0, NULL, NULL, &w, &http, &body, &err) < 0) {
		dns->wake_failures++;
		snprintf(msg, msglen, "guest %s could not be woken for %.253s: %.300s", g->name,
		         name, err.message);
		event_emit(d, "wake_failed", g->name, "%s", msg);
		return -1;
	}
	json_decref(body);
	dns->wakes++;
	event_emit(d, "woken", g->name, "guest %s woken by a DNS query for %s (on demand)", g->name,
	           name);
	return 0;
}

/* One request's answer (a new reference); NULL when the answer waits (c->waiting). */
static json_t *answer(struct dns *dns, struct dns_conn *c, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *req, *params, *res = NULL;
	const char *method;
	char name[HOSTNAME_MAX + 2], shown[48];

	dns->requests++;
	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!req)
		return failure(dns, "shoald: the request is not JSON: %s (column %d)", jerr.text,
		               jerr.column);
	if (!json_is_object(req) || !json_is_string(json_object_get(req, "method"))) {
		json_decref(req);
		return failure(dns, "shoald: the request must be an object with a method (a "
		                    "string)");
	}
	method = json_string_value(json_object_get(req, "method"));
	params = json_object_get(req, "parameters");
	if (params && !json_is_object(params)) {
		json_decref(req);
		return failure(dns, "shoald: parameters must be an object");
	}
	if (!strcmp(method, "initialize")) {
		res = json_pack("{s:b}", "result", 1);
	} else if (!strcmp(method, "lookup")) {
		const json_t *qtype = json_object_get(params, "qtype");

		if (name_of(json_object_get(params, "qname"), name) < 0 || !json_is_string(qtype) ||
		    json_string_length(qtype) > 16) {
			json_decref(req);
			return failure(dns,
			               "shoald: lookup needs qname (a name of at most %d "
			               "characters) and qtype (a type's name)",
			               HOSTNAME_MAX + 1);
		}
		{
			struct guest *sleeping = NULL;
			const char *qn = json_string_value(json_object_get(params, "qname"));
			char msg[1000];

			uint64_t t0 = now_mono_ns();

			res = json_array();
			lookup(dns, name, qn, json_string_value(qtype), res, c ? &sleeping : NULL);
			if (sleeping) {
				json_decref(res);
				res = NULL;
				if (wake(dns, sleeping, name, msg, sizeof(msg)) < 0)
					res = servfail("shoald: %s", msg);
				else
					conn_wait(c, sleeping, name, qn, json_string_value(qtype),
					          t0);
				json_decref(req);
				return res;
			}
			res = json_pack("{s:o}", "result", res);
		}
	} else if (!strcmp(method, "list")) {
		/* A zone transfer: the zone's apex and the guests' names in it. */
		const struct guest *g;
		json_t *all = json_array();
		char q[GUEST_NAME_MAX + HOSTNAME_MAX + 4];
		unsigned i;

		if (name_of(json_object_get(params, "zonename"), name) < 0) {
			json_decref(all);
			json_decref(req);
			return failure(dns, "shoald: list needs zonename");
		}
		snprintf(q, sizeof(q), "%s.", name);
		lookup(dns, name, q, "ANY", all, NULL);
		if (dns->d->cfg.dns_zone[0] && !strcmp(name, dns->d->cfg.dns_zone))
			for (g = dns->d->guests; g; g = g->next) {
				char nm[GUEST_NAME_MAX + HOSTNAME_MAX + 3];

				if (!guest_answers(g))
					continue;
				snprintf(nm, sizeof(nm), "%s.%s", g->name, name);
				snprintf(q, sizeof(q), "%s.", nm);
				lookup(dns, nm, q, "ANY", all, NULL);
				for (i = 0; i < g->spec.ndns; i++)
					if (in_zone(dns->d, g->spec.dns[i])) {
						snprintf(q, sizeof(q), "%s.", g->spec.dns[i]);
						lookup(dns, g->spec.dns[i], q, "ANY", all, NULL);
					}
			}
		res = json_pack("{s:o}", "result", json_array_size(all) ? all : json_false());
		if (!json_array_size(all))
			json_decref(all);
	} else if (!strcmp(method, "getAllDomains")) {
		res = json_pack("{s:o}", "result", all_domains(dns));
	} else if (!strcmp(method, "getDomainInfo")) {
		json_t *all, *z;
		size_t i;

		if (name_of(json_object_get(params, "name"), name) < 0) {
			json_decref(req);
			return failure(dns, "shoald: getDomainInfo needs name");
		}
		all = all_domains(dns);
		res = NULL;
		json_array_foreach(all, i, z)
		{
			char zn[HOSTNAME_MAX + 2];

			if (name_of(json_object_get(z, "zone"), zn) == 0 && !strcmp(zn, name)) {
				res = json_pack("{s:O}", "result", z);
				break;
			}
		}
		json_decref(all);
		if (!res)
			res = json_pack("{s:b}", "result", 0);
	} else if (!strcmp(method, "getAllDomainMetadata")) {
		res = json_pack("{s:{}}", "result");
	} else if (!strcmp(method, "getDomainMetadata")) {
		res = json_pack("{s:[]}", "result");
	} else if (!strcmp(method, "getDomainKeys") || !strcmp(method, "getTSIGKey") ||
	           !strcmp(method, "getTSIGKeys") ||
	           !strcmp(method, "getBeforeAndAfterNamesAbsolute")) {
		/* No DNSSEC and no TSIG here: an empty answer, not an error. */
		res = json_pack("{s:b}", "result", 0);
	} else {
		sd_cut(shown, sizeof(shown), method, 40);
		json_decref(req);
		return failure(dns, "shoald: unknown method \"%s\"", shown);
	}
	json_decref(req);
	return res ? res : failure(dns, "shoald: out of memory");
}

/* ---- the socket ---- */

static void conn_free(struct dns_conn *c)
{
	struct dns *dns = c->dns;
	struct dns_conn **pp;

	ev_io_stop(dns->d->loop, &c->rio);
	ev_io_stop(dns->d->loop, &c->wio);
	ev_timer_stop(dns->d->loop, &c->wait_timer);
	ev_check_stop(dns->d->loop, &c->wait_check);
	close(c->fd);
	for (pp = &dns->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	dns->nconns--;
	free(c->out);
	free(c);
}

/*
 * Send what waits; while the peer does not take it, read nothing more
 * from it.  0, or -1 when the connection was ended (freed).
 */
static int conn_flush(struct dns_conn *c)
{
	struct ev_loop *loop = c->dns->d->loop;

	while (c->outoff < c->outlen) {
		ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			ev_io_stop(loop, &c->rio);
			ev_io_start(loop, &c->wio);
			return 0;
		}
		if (n <= 0) {
			conn_free(c);
			return -1;
		}
		c->outoff += (size_t)n;
	}
	c->outoff = c->outlen = 0;
	ev_io_stop(loop, &c->wio);
	if (c->close_after) {
		conn_free(c);
		return -1;
	}
	if (!c->waiting)
		ev_io_start(loop, &c->rio);
	return 0;
}

/* Queue an answer line; 0, or -1 when the peer has let too much wait (ended). */
static int conn_queue(struct dns_conn *c, json_t *res)
{
	char *text = json_dumps(res, JSON_COMPACT);
	size_t n;

	json_decref(res);
	if (!text) {
		conn_free(c);
		return -1;
	}
	n = strlen(text);
	if (c->outlen + n + 1 > DNS_OUT_MAX) {
		free(text);
		log_warnx("DNS backend: a peer leaves more than %d bytes of answers unread; its "
		          "connection is ended",
		          DNS_OUT_MAX);
		conn_free(c);
		return -1;
	}
	if (c->outoff) { /* what was sent goes first */
		memmove(c->out, c->out + c->outoff, c->outlen - c->outoff);
		c->outlen -= c->outoff;
		c->outoff = 0;
	}
	{
		char *o = realloc(c->out, c->outlen + n + 1);

		if (!o) {
			free(text);
			conn_free(c);
			return -1;
		}
		c->out = o;
	}
	memcpy(c->out + c->outlen, text, n);
	c->out[c->outlen + n] = '\n';
	c->outlen += n + 1;
	free(text);
	return 0;
}

static void on_conn_write(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	conn_flush(w->data);
}

/*
 * Answer the complete lines read, in order, until one has to wait for a
 * guest.  0, or -1 when the connection was ended (freed).
 */
static int conn_process(struct dns_conn *c)
{
	struct dns *dns = c->dns;
	size_t start = 0;
	char *nl;
	int r = 0;

	while (!c->waiting && (nl = memchr(c->in + start, '\n', c->inlen - start))) {
		size_t len = (size_t)(nl - (c->in + start));
		const char *line = c->in + start;
		json_t *res;

		start += len + 1;
		while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
			len--;
		if (len == 0)
			continue;
		res = answer(dns, c, line, len);
		if (res && conn_queue(c, res) < 0)
			return -1;
	}
	memmove(c->in, c->in + start, c->inlen - start);
	c->inlen -= start;
	if (!c->waiting && c->inlen == sizeof(c->in)) {
		/* No end of line in a full buffer: nothing to resynchronise on. */
		if (conn_queue(c, failure(dns,
		                          "shoald: a request longer than %d bytes; the "
		                          "connection is ended",
		                          DNS_LINE_MAX)) < 0)
			return -1;
		c->close_after = 1;
		c->inlen = 0;
		ev_io_stop(dns->d->loop, &c->rio);
	}
	if (c->outlen > c->outoff)
		r = conn_flush(c);
	return r;
}

static void on_conn_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct dns_conn *c = w->data;
	ssize_t n;

	(void)loop;
	(void)revents;
	n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		conn_free(c);
		return;
	}
	c->inlen += (size_t)n;
	conn_process(c);
}

/* Milliseconds from since to t, both monotonic; 0 for a t before it. */
static double ms_since(uint64_t t, uint64_t since)
{
	return t > since ? (double)(t - since) / 1e6 : 0.;
}

/* The waiting lookup's guest: up (answer it), unable to come up, or late (SERVFAIL). */
static void wait_look(struct dns_conn *c)
{
	struct ev_loop *loop = c->dns->d->loop;
	struct dns *dns = c->dns;
	struct shoald *d = dns->d;
	struct guest *g = guest_find(d, c->wait_guest);
	uint64_t now = now_mono_ns();
	json_t *res = NULL;

	if (!g || g->delete_after_stop || !g->spec.on_demand) {
		res = servfail("shoald: guest %s, woken for %s, is gone", c->wait_guest,
		               c->wait_name);
	} else if (demand_ready(g)) {
		json_t *records = json_array();

		lookup(dns, c->wait_name, c->wait_qname, c->wait_qtype, records, NULL);
		g->demand_quiet_since_ns = now;
		res = json_pack("{s:o}", "result", records);
		log_debug("DNS backend: %s answered %.1f ms after its query, woken guest %s up "
		          "(running at %.1f ms, its first probe's answer seen at %.1f ms, its NIC "
		          "up at %.1f ms)",
		          c->wait_name, ms_since(now, c->wait_start_ns), g->name,
		          ms_since(g->state_since_ns, c->wait_start_ns),
		          ms_since(c->wait_probed_ns ? c->wait_probed_ns : now, c->wait_start_ns),
		          ms_since(now, c->wait_start_ns));
	} else if (state_down(g) || (!g->desired_running && !g->restart_after_stop)) {
		dns->wake_failures++;
		res = servfail("shoald: guest %s, woken for %s, did not start: %s", g->name,
		               c->wait_name,
		               g->last_reason[0] ? g->last_reason : guest_state_str(g->state));
		event_emit(d, "wake_failed", g->name, "guest %s, woken for %s, did not start: %s",
		           g->name, c->wait_name,
		           g->last_reason[0] ? g->last_reason : guest_state_str(g->state));
	} else if (now >= c->wait_deadline_ns) {
		dns->wake_failures++;
		res = servfail("shoald: guest %s, woken for %s, was not up within %u ms (%s)",
		               g->name, c->wait_name, d->cfg.dns_wake_timeout_ms,
		               guest_state_str(g->state));
		event_emit(d, "wake_failed", g->name,
		           "guest %s, woken for %s, was not up within %u ms (dns-wake-timeout-ms); "
		           "its query got SERVFAIL",
		           g->name, c->wait_name, d->cfg.dns_wake_timeout_ms);
	} else {
		if (g->state == GS_RUNNING && !c->wait_probed_ns &&
		    (!d->cfg.probe_hz || g->probe.last_answer_ns >= g->state_since_ns))
			c->wait_probed_ns = now;
		if (g->state == GS_RUNNING && !c->wait_probed_ns) {
			probe_guest_soon(g);
		} else if (g->state == GS_RUNNING && c->wait_timer.repeat > 0.002) {
			/*
			 * Only its NIC to wait for, and nothing in shoald's loop says
			 * when it comes up (the guest's or its tender's write to the
			 * counters' page): look each millisecond from now on.
			 */
			c->wait_timer.repeat = 0.001;
			ev_timer_again(loop, &c->wait_timer);
		}
		return;
	}
	ev_timer_stop(loop, &c->wait_timer);
	ev_check_stop(loop, &c->wait_check);
	c->waiting = 0;
	if (!res || conn_queue(c, res) < 0) {
		if (!res)
			conn_free(c);
		return;
	}
	/* The requests that came behind it, then reading again. */
	if (conn_process(c) == 0 && !c->waiting && c->outlen == c->outoff)
		ev_io_start(loop, &c->rio);
}

static void on_wait_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	wait_look(t->data);
}

static void on_wait_check(struct ev_loop *loop, ev_check *w, int revents)
{
	(void)loop;
	(void)revents;
	wait_look(w->data);
}

static void conn_wait(struct dns_conn *c, struct guest *g, const char *name, const char *qname,
                      const char *qtype, uint64_t start_ns)
{
	struct shoald *d = c->dns->d;

	c->waiting = 1;
	c->wait_start_ns = start_ns;
	c->wait_deadline_ns = c->wait_start_ns + d->cfg.dns_wake_timeout_ms * 1000000ull;
	c->wait_probed_ns = 0;
	snprintf(c->wait_guest, sizeof(c->wait_guest), "%s", g->name);
	snprintf(c->wait_name, sizeof(c->wait_name), "%s", name);
	snprintf(c->wait_qname, sizeof(c->wait_qname), "%s", qname);
	snprintf(c->wait_qtype, sizeof(c->wait_qtype), "%s", qtype);
	ev_io_stop(d->loop, &c->rio);
	/*
	 * What brings the guest up (its tender's start, its probe's answer)
	 * comes through the loop: a look after each iteration answers at once;
	 * the timer wakes the loop for the deadline.
	 */
	ev_check_start(d->loop, &c->wait_check);
	ev_timer_set(&c->wait_timer, 0.01, 0.01);
	ev_timer_start(d->loop, &c->wait_timer);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct dns *dns = w->data;

	(void)revents;
	for (;;) {
		struct dns_conn *c;
		int fd = accept4(dns->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("DNS backend socket %s: accept", dns->d->cfg.dns_socket);
			return;
		}
		if (dns->nconns >= DNS_CONNS_MAX) {
			log_warnx("DNS backend: %d connections already; another is refused",
			          DNS_CONNS_MAX);
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->dns = dns;
		c->fd = fd;
		ev_io_init(&c->rio, on_conn_read, fd, EV_READ);
		ev_io_init(&c->wio, on_conn_write, fd, EV_WRITE);
		ev_timer_init(&c->wait_timer, on_wait_timer, 0.01, 0.01);
		ev_check_init(&c->wait_check, on_wait_check);
		/* After the other check watchers: a backend may take in probe answers there. */
		ev_set_priority(&c->wait_check, EV_MINPRI);
		c->rio.data = c->wio.data = c->wait_timer.data = c->wait_check.data = c;
		c->next = dns->conns;
		dns->conns = c;
		dns->nconns++;
		ev_io_start(loop, &c->rio);
	}
}

/* Its NICs' packets both ways, as the backend counts them; -1: it cannot tell. */
static int64_t nic_packets(struct shoald *d, struct guest *g)
{
	struct be_dev_stats st[BE_DISKS_MAX + BE_NICS_MAX];
	uint64_t sum = 0;
	unsigned n, k;

	if (!d->be_ops->dev_stats || !g->be)
		return -1;
	n = d->be_ops->dev_stats(d->be, g, st, BE_DISKS_MAX + BE_NICS_MAX);
	for (k = 0; k < n; k++)
		if (st[k].nic)
			sum += st[k].rx_packets + st[k].tx_packets;
	return (int64_t)(sum & INT64_MAX);
}

/* Once a second: each running on-demand guest whose NICs have been still for idle_stop_s sleeps. */
static void on_idle_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct dns *dns = t->data;
	struct shoald *d = dns->d;
	uint64_t now = now_mono_ns();
	struct guest *g, *next;

	(void)loop;
	(void)revents;
	for (g = d->guests; g; g = next) {
		struct shoald_wait *w = NULL;
		struct sd_err err;
		json_t *body = NULL;
		int64_t packets;
		int http;

		next = g->next;
		if (!g->spec.on_demand || g->state != GS_RUNNING || !g->desired_running)
			continue;
		packets = nic_packets(d, g);
		if (packets < 0)
			continue;
		if (g->demand_instance != g->instance || (uint64_t)packets != g->demand_packets) {
			/* A new run, or traffic: still from now on. */
			if (g->demand_instance != g->instance || !g->demand_quiet_since_ns)
				g->demand_quiet_since_ns = now;
			if ((uint64_t)packets != g->demand_packets)
				g->demand_quiet_since_ns = now;
			g->demand_instance = g->instance;
			g->demand_packets = (uint64_t)packets;
			continue;
		}
		if (now - g->demand_quiet_since_ns < (uint64_t)g->spec.idle_stop_s * 1000000000u)
			continue;
		dns->sleeps++;
		event_emit(
		    d, "asleep", g->name,
		    "guest %s asleep: its NICs were still for %u s (on demand, idle_stop_s); "
		    "the next DNS query for it wakes it",
		    g->name, g->spec.idle_stop_s);
		if (shoald_guest_action(d, g->name, "stop", 0, NULL, NULL, &w, &http, &body, &err) <
		    0)
			log_warnx("guest %s: cannot put it to sleep: %s", g->name, err.message);
		json_decref(body);
	}
}

int dns_start(struct shoald *d, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = d->cfg.dns_socket;
	struct dns *dns;
	int fd;

	if (!d->cfg.dns_zone[0])
		return 0;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "dns-socket %s is too long", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "dns-socket: %s", strerror(errno));
		return -1;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		snprintf(err, errlen, "cannot remove the old dns-socket %s: %s", path,
		         strerror(errno));
		goto fail;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, errlen, "cannot bind dns-socket %s: %s", path, strerror(errno));
		goto fail;
	}
	if (d->cfg.dns_socket_group[0]) {
		struct group *gr = getgrnam(d->cfg.dns_socket_group);

		if (!gr || chown(path, 0, gr->gr_gid) < 0) {
			snprintf(err, errlen, "cannot give dns-socket %s to group %s: %s", path,
			         d->cfg.dns_socket_group, gr ? strerror(errno) : "no such group");
			goto fail;
		}
	}
	if (chmod(path, 0660) < 0 || listen(fd, 128) < 0) {
		snprintf(err, errlen, "dns-socket %s: %s", path, strerror(errno));
		goto fail;
	}
	dns = calloc(1, sizeof(*dns));
	if (!dns) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	dns->d = d;
	dns->fd = fd;
	/* The SOA's serial: a new shoald is a new version of the zone. */
	dns->serial = (uint32_t)(d->start_wall_ns / 1000000000u);
	ev_io_init(&dns->accept_io, on_accept, fd, EV_READ);
	dns->accept_io.data = dns;
	ev_io_start(d->loop, &dns->accept_io);
	ev_timer_init(&dns->idle_timer, on_idle_tick, 1., 1.);
	dns->idle_timer.data = dns;
	ev_timer_start(d->loop, &dns->idle_timer);
	d->dns = dns;
	log_info("DNS: zone %s, PowerDNS's remote backend on %s", d->cfg.dns_zone, path);
	return 0;
fail:
	close(fd);
	return -1;
}

void dns_stop(struct shoald *d)
{
	struct dns *dns = d->dns;

	if (!dns)
		return;
	while (dns->conns)
		conn_free(dns->conns);
	ev_io_stop(d->loop, &dns->accept_io);
	ev_timer_stop(d->loop, &dns->idle_timer);
	close(dns->fd);
	unlink(d->cfg.dns_socket);
	free(dns);
	d->dns = NULL;
}

unsigned dns_waiting(const struct shoald *d)
{
	const struct dns_conn *c;
	unsigned n = 0;

	for (c = d->dns ? d->dns->conns : NULL; c; c = c->next)
		n += c->waiting;
	return n;
}

json_t *dns_stats_json(const struct shoald *d)
{
	if (!d->dns)
		return json_null();
	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "zone", d->cfg.dns_zone,
	                 "connections", (json_int_t)d->dns->nconns, "requests",
	                 (json_int_t)d->dns->requests, "bad_requests", (json_int_t)d->dns->bad,
	                 "wakes", (json_int_t)d->dns->wakes, "wake_failures",
	                 (json_int_t)d->dns->wake_failures, "sleeps", (json_int_t)d->dns->sleeps);
}

void dns_metrics(struct shoald *d, struct metrics_buf *b)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} counters[] = {
		{ "shoal_dns_requests_total", "requests from PowerDNS's remote backend",
		  offsetof(struct dns, requests) },
		{ "shoal_dns_bad_requests_total",
		  "requests on the DNS backend socket that were not understood",
		  offsetof(struct dns, bad) },
		{ "shoal_dns_wakes_total", "on-demand guests started by a DNS query",
		  offsetof(struct dns, wakes) },
		{ "shoal_dns_wake_failures_total",
		  "DNS queries for an on-demand guest answered SERVFAIL: it could not start or was "
		  "not up in time",
		  offsetof(struct dns, wake_failures) },
		{ "shoal_dns_sleeps_total",
		  "on-demand guests stopped for their NICs' being still for idle_stop_s",
		  offsetof(struct dns, sleeps) },
	};
	size_t i;

	if (!d->dns)
		return;
	for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		metrics_prom_family(b, counters[i].name, METRICS_PROM_COUNTER, counters[i].help);
		metrics_prom_counter(b, counters[i].name, NULL, 0,
		                     *(const uint64_t *)((const char *)d->dns + counters[i].off));
	}
}
