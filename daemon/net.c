/*
 * Guests' NICs on the host's side: which bridges they may be on (the
 * configuration's allow-list), and the addresses, MACs and tap names the
 * daemon hands out and keeps with each guest (see net_assign in
 * daemon.h).  The taps themselves are the backend's (kvm_net.c).
 */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "daemon/daemon.h"

static uint32_t mask_of(unsigned prefix_len)
{
	return prefix_len ? 0xffffffffu << (32 - prefix_len) : 0;
}

/* Does a NIC of another guest, or one of out[0, n), have this address or MAC? */
static const char *address_holder(struct shoald *d, const char *name, const struct guest_nic *out,
                                  unsigned n, uint32_t ipv4, const uint8_t *mac)
{
	const struct guest *g;
	unsigned i;

	for (i = 0; i < n; i++)
		if ((ipv4 && out[i].ipv4 == ipv4) || (mac && !memcmp(out[i].mac, mac, 6)))
			return name;
	for (g = d->guests; g; g = g->next) {
		if (!strcmp(g->name, name))
			continue;
		for (i = 0; i < g->nnics; i++)
			if ((ipv4 && g->nics[i].ipv4 == ipv4) ||
			    (mac && !memcmp(g->nics[i].mac, mac, 6)))
				return g->name;
	}
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The pool's lowest address that no other guest's NIC nor out[0, n)
 * holds and that is not the gateway; 0 when it is full.  The addresses
 * in use are gathered and sorted once (asking address_holder() for each
 * candidate made a deploy cost grow with the square of the guests on a
 * bridge); without memory for that, it asks.
 */
static uint32_t pool_lowest_free(struct shoald *d, const char *name, const struct guest_nic *out,
                                 unsigned n, const struct bridge_conf *b, uint32_t mask)
{
	const uint32_t last = b->net | ~mask; /* the broadcast address */
	const struct guest *g;
	size_t cap = n + 1, used = 0, k;
	uint32_t *a, host;

	for (g = d->guests; g; g = g->next)
		cap += g->nnics;
	a = malloc(cap * sizeof(*a));
	if (!a) {
		for (host = b->net + 1; host < last; host++)
			if (host != b->gateway && !address_holder(d, name, out, n, host, NULL))
				return host;
		return 0;
	}
	for (k = 0; k < n; k++)
		a[used++] = out[k].ipv4;
	for (g = d->guests; g; g = g->next)
		for (k = 0; strcmp(g->name, name) && k < g->nnics; k++)
			a[used++] = g->nics[k].ipv4;
	a[used++] = b->gateway;
	qsort(a, used, sizeof(*a), cmp_u32);
	host = b->net + 1;
	for (k = 0; k < used && host < last; k++)
		if (a[k] == host)
			host++;
		else if (a[k] > host)
			break;
	free(a);
	return host < last ? host : 0;
}

static int tap_taken(struct shoald *d, const char *name, const struct guest_nic *out, unsigned n,
                     const char *tap)
{
	const struct guest *g;
	unsigned i;

	for (i = 0; i < n; i++)
		if (!strcmp(out[i].tap, tap))
			return 1;
	for (g = d->guests; g; g = g->next)
		for (i = 0; strcmp(g->name, name) && i < g->nnics; i++)
			if (!strcmp(g->nics[i].tap, tap))
				return 1;
	return 0;
}

static uint32_t fnv1a(const char *s, uint32_t salt)
{
	uint32_t h = 2166136261u ^ salt;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

/*
 * A tap is named after its guest: "sh-NAME.J" while that fits in an
 * interface name, else "sh-" and the name's first six characters and four
 * hex digits of its hash ("sh-webser1a2b.0"), another hash on a clash.
 */
_Static_assert(SPEC_NICS_MAX <= 10, "a tap's name has room for a one-digit NIC index");

static void tap_name(struct shoald *d, const char *name, unsigned j, const struct guest_nic *out,
                     unsigned n, char tap[16])
{
	/* One character, which the compiler can see fits (J < SPEC_NICS_MAX). */
	char digit = (char)('0' + j % 10);
	uint32_t salt;

	if (strlen(name) <= 10) {
		snprintf(tap, 16, "sh-%s.%c", name, digit);
		if (!tap_taken(d, name, out, n, tap))
			return;
	}
	for (salt = 0;; salt++) {
		snprintf(tap, 16, "sh-%.6s%04x.%c", name, (unsigned)(fnv1a(name, salt) & 0xffff),
		         digit);
		if (!tap_taken(d, name, out, n, tap))
			return;
	}
}

/* A random locally administered unicast MAC nobody has. */
static int random_mac(struct shoald *d, const char *name, const struct guest_nic *out, unsigned n,
                      uint8_t mac[6])
{
	unsigned tries;

	for (tries = 0; tries < 1000; tries++) {
		if (getrandom(mac, 6, 0) != 6)
			return -1;
		mac[0] = (uint8_t)((mac[0] & 0xfc) | 0x02);
		if (!address_holder(d, name, out, n, 0, mac))
			return 0;
	}
	return -1;
}

int net_assign(struct shoald *d, const char *name, const struct guest *existing,
               const struct guest_spec *spec, struct guest_nic *out, struct sd_err *err)
{
	unsigned i, j;

	for (i = 0; i < spec->nnics; i++) {
		const struct spec_nic *sn = &spec->nics[i];
		const struct bridge_conf *b = bridge_conf_find(&d->cfg, sn->bridge);
		const struct guest_nic *before = NULL;
		struct guest_nic *n = &out[i];
		uint32_t mask = b ? mask_of(b->prefix_len) : 0;
		char field[40], a[16], a2[16];
		const char *who;

		memset(n, 0, sizeof(*n));
		snprintf(n->name, sizeof(n->name), "%s", sn->name);
		snprintf(n->bridge, sizeof(n->bridge), "%s", sn->bridge);
		snprintf(field, sizeof(field), "net[%u].bridge", i);
		if (!b)
			return sd_err_set(
			    err, 400, "bridge_not_allowed", field,
			    "%s: guests may not have NICs on %s: it is not one of this "
			    "host's bridges (shoald.conf's bridge settings)",
			    field, sn->bridge);
		for (j = 0; existing && j < existing->nnics; j++)
			if (!strcmp(existing->nics[j].name, sn->name) &&
			    !strcmp(existing->nics[j].bridge, sn->bridge))
				before = &existing->nics[j];

		/* The address: the spec's, or the one it had, or the pool's lowest free one. */
		snprintf(field, sizeof(field), "net[%u].ipv4", i);
		if (sn->ipv4) {
			n->ipv4 = sn->ipv4;
			n->prefix_len = sn->prefix_len ? sn->prefix_len : b->prefix_len;
			if (!n->prefix_len)
				return sd_err_set(
				    err, 400, "invalid_field", field,
				    "%s: bridge %s has no pool to take the prefix from: "
				    "give it (A.B.C.D/P)",
				    field, b->name);
			if (b->prefix_len &&
			    ((sn->ipv4 & mask) != b->net || n->prefix_len != b->prefix_len))
				return sd_err_set(err, 400, "invalid_field", field,
				                  "%s: %s/%u is not in bridge %s's network %s/%u",
				                  field, spec_ipv4_str(sn->ipv4, a), n->prefix_len,
				                  b->name, spec_ipv4_str(b->net, a2),
				                  b->prefix_len);
			if (b->prefix_len && (sn->ipv4 == b->net || sn->ipv4 == (b->net | ~mask) ||
			                      sn->ipv4 == b->gateway))
				return sd_err_set(
				    err, 400, "invalid_field", field,
				    "%s: %s is the network's own address, its broadcast "
				    "or its gateway",
				    field, spec_ipv4_str(sn->ipv4, a));
			n->gateway = b->prefix_len ? b->gateway : 0;
		} else if (before && before->ipv4 && b->prefix_len &&
		           (before->ipv4 & mask) == b->net && before->ipv4 != b->gateway &&
		           !address_holder(d, name, out, i, before->ipv4, NULL)) {
			n->ipv4 = before->ipv4;
			n->prefix_len = b->prefix_len;
			n->gateway = b->gateway;
		} else if (b->prefix_len) {
			uint32_t host = pool_lowest_free(d, name, out, i, b, mask);

			if (!host)
				return sd_err_set(
				    err, 409, "pool_exhausted", field,
				    "%s: bridge %s's pool %s/%u has no free address left", field,
				    b->name, spec_ipv4_str(b->net, a), b->prefix_len);
			n->ipv4 = host;
			n->prefix_len = b->prefix_len;
			n->gateway = b->gateway;
		}
		if (n->ipv4 && (who = address_holder(d, name, out, i, n->ipv4, NULL)))
			return sd_err_set(err, 409, "address_taken", field,
			                  "%s: %s is %s's already", field,
			                  spec_ipv4_str(n->ipv4, a),
			                  who == name ? "another NIC of this guest" : who);

		/* The MAC: the spec's, or the one it had, or a new one. */
		snprintf(field, sizeof(field), "net[%u].mac", i);
		if (memcmp(sn->mac, "\0\0\0\0\0\0", 6)) {
			memcpy(n->mac, sn->mac, 6);
			if ((who = address_holder(d, name, out, i, 0, n->mac)))
				return sd_err_set(err, 409, "mac_taken", field,
				                  "%s: that MAC is %s's already", field,
				                  who == name ? "another NIC of this guest" : who);
		} else if (before && !address_holder(d, name, out, i, 0, before->mac)) {
			memcpy(n->mac, before->mac, 6);
		} else if (random_mac(d, name, out, i, n->mac) < 0) {
			return sd_err_set(err, 500, "internal", field,
			                  "%s: no random MAC to be had", field);
		}

		if (before && !tap_taken(d, name, out, i, before->tap))
			snprintf(n->tap, sizeof(n->tap), "%s", before->tap);
		else
			tap_name(d, name, i, out, i, n->tap);
	}
	return 0;
}

json_t *net_nics_json(const struct guest *g)
{
	json_t *a = json_array();
	unsigned i;

	for (i = 0; a && i < g->nnics; i++) {
		const struct guest_nic *n = &g->nics[i];
		char ip[16], gw[16], mac[18], cidr[24];
		json_t *o;

		snprintf(cidr, sizeof(cidr), "%s/%u", spec_ipv4_str(n->ipv4, ip), n->prefix_len);
		o = json_pack("{s:s, s:s, s:s, s:s}", "name", n->name, "bridge", n->bridge, "tap",
		              n->tap, "mac", spec_mac_str(n->mac, mac));
		if (!o)
			continue;
		json_object_set_new(o, "ipv4", n->ipv4 ? json_string(cidr) : json_null());
		json_object_set_new(o, "gateway",
		                    n->gateway ? json_string(spec_ipv4_str(n->gateway, gw))
		                               : json_null());
		json_array_append_new(a, o);
	}
	return a;
}
