/*
 * The proc backend's network rate limit (proc_rate.h): the BPF object
 * built from proc_rate.bpf.c, embedded in shoald, loaded with libbpf once
 * a guest starts, its buckets set, and its programs attached to the
 * guest's taps with libbpf's bpf_tc_* (netlink; no tc command).  shoald
 * then keeps only the counters' map: the filters hold the programs, the
 * programs their maps, and the tap the filters, so all of it goes with
 * the tap when the guest ends, however it ends.
 *
 * What one guest costs the kernel: two programs of 104 instructions (a
 * page of JIT code each), an array of two buckets (408 bytes), a hash of
 * up to four NICs' counters (1,408) and the object's BTF, about 10 KiB in
 * all; on each tap, a clsact qdisc and two filters.
 */
#include "config.h"

#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/backend/backend.h"
#include "daemon/backend/proc_rate.h"

#ifdef HAVE_PROC_RATE
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "daemon/backend/proc_rate_bpf.h"
#include "daemon/log.h"
#include "daemon/backend/proc_rate.bpf.inc" /* proc_rate_obj[]: the object, from the build */

_Static_assert(PROC_RATE_NICS >= BE_NICS_MAX, "the drops map has room for every NIC of a guest");

int proc_rate_built(char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	return 1;
}

/* libbpf's own lines (a verifier's log among them) at debug: the caller says what failed. */
static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	log_debug("libbpf: %s", line);
	return 0;
}

static void bucket_set(struct proc_rate_bucket *b, uint64_t pps, uint64_t bytes_per_s)
{
	memset(b, 0, sizeof(*b));
	/* A rate past 1e12 a second would cost nothing: the least cost is 1. */
	b->pkt_cost = pps ? (PROC_RATE_FULL / pps ? PROC_RATE_FULL / pps : 1) : 0;
	b->byte_cost =
	    bytes_per_s ? (PROC_RATE_FULL / bytes_per_s ? PROC_RATE_FULL / bytes_per_s : 1) : 0;
	/* Full to begin with, as the KVM tender's buckets. */
	b->pkt_credit = b->byte_credit = (int64_t)PROC_RATE_FULL;
}

/* Both hooks' filters off tap and its clsact qdisc with them (it was made for the limit). */
static void detach(int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
	            .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);

	bpf_tc_hook_destroy(&hook);
}

static int attach_one(int ifindex, enum bpf_tc_attach_point at, int prog_fd)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = at);
	LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd, .handle = PROC_RATE_HANDLE,
	            .priority = PROC_RATE_PRIO);
	int r = bpf_tc_hook_create(&hook);

	if (r < 0 && r != -EEXIST)
		return r;
	return bpf_tc_attach(&hook, &opts);
}

int proc_rate_attach(const char *const *taps, unsigned n, uint64_t pps, uint64_t bytes_per_s,
                     int *ifindex, char *why, size_t whylen)
{
	struct bpf_object *obj;
	struct proc_rate_bucket b;
	struct proc_rate_drops zero = { 0, 0 };
	int rate_fd, drops_fd, tx_fd, rx_fd, r, fd = -1;
	unsigned i, done = 0;
	uint32_t k;

	libbpf_set_print(libbpf_log);
	obj = bpf_object__open_mem(proc_rate_obj, sizeof(proc_rate_obj), NULL);
	if (!obj)
		return be_fail_errno(why, whylen,
		                     "net_rate: cannot open the rate limit's BPF object");
	r = bpf_object__load(obj);
	if (r < 0) {
		errno = -r;
		be_fail_errno(
		    why, whylen,
		    "net_rate: the kernel did not load the rate limit's BPF program "
		    "(it needs CAP_BPF and CAP_NET_ADMIN; shoald's debug log has libbpf's "
		    "account)");
		goto out;
	}
	rate_fd = bpf_object__find_map_fd_by_name(obj, "rate");
	drops_fd = bpf_object__find_map_fd_by_name(obj, "drops");
	tx_fd = bpf_program__fd(bpf_object__find_program_by_name(obj, "shoal_tx"));
	rx_fd = bpf_program__fd(bpf_object__find_program_by_name(obj, "shoal_rx"));
	if (rate_fd < 0 || drops_fd < 0 || tx_fd < 0 || rx_fd < 0) {
		be_fail(why, whylen,
		        "net_rate: the rate limit's BPF object lacks its maps or programs");
		goto out;
	}
	bucket_set(&b, pps, bytes_per_s);
	for (k = 0; k < 2; k++)
		if (bpf_map_update_elem(rate_fd, &k, &b, BPF_ANY) < 0) {
			be_fail_errno(why, whylen, "net_rate: cannot set the rate limit's buckets");
			goto out;
		}
	for (i = 0; i < n; i++, done++) {
		ifindex[i] = (int)if_nametoindex(taps[i]);
		k = (uint32_t)ifindex[i];
		if (!ifindex[i]) {
			be_fail_errno(why, whylen, "net_rate: tap %s", taps[i]);
			goto out;
		}
		if (bpf_map_update_elem(drops_fd, &k, &zero, BPF_ANY) < 0) {
			be_fail_errno(why, whylen, "net_rate: cannot count tap %s's drops",
			              taps[i]);
			goto out;
		}
		r = attach_one(ifindex[i], BPF_TC_INGRESS, tx_fd);
		if (r >= 0)
			r = attach_one(ifindex[i], BPF_TC_EGRESS, rx_fd);
		if (r < 0) {
			errno = -r;
			detach(ifindex[i]);
			be_fail_errno(
			    why, whylen,
			    "net_rate: cannot attach the rate limit to tap %s (the kernel "
			    "needs sch_ingress/clsact and cls_bpf)",
			    taps[i]);
			goto out;
		}
	}
	fd = dup(drops_fd);
	if (fd < 0)
		be_fail_errno(why, whylen, "net_rate: cannot keep the rate limit's counters");
out:
	if (fd < 0)
		for (i = 0; i < done; i++)
			detach(ifindex[i]);
	bpf_object__close(obj);
	return fd;
}

void proc_rate_detach(const char *tap)
{
	int ifindex = (int)if_nametoindex(tap);

	if (ifindex)
		detach(ifindex);
}

int proc_rate_find(const char *tap, int *ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = PROC_RATE_HANDLE, .priority = PROC_RATE_PRIO);
	struct bpf_prog_info info;
	uint32_t ids[8], len = sizeof(info), i;
	int prog_fd, fd = -1;

	hook.ifindex = (int)if_nametoindex(tap);
	if (!hook.ifindex)
		return -1;
	libbpf_set_print(libbpf_log);
	if (bpf_tc_query(&hook, &opts) < 0 || !opts.prog_id)
		return -1;
	prog_fd = bpf_prog_get_fd_by_id(opts.prog_id);
	if (prog_fd < 0)
		return -1;
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = 8;
	info.map_ids = (uint64_t)(uintptr_t)ids;
	/* Ours by its name, then its counters by theirs. */
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) == 0 && !strcmp(info.name, "shoal_tx"))
		for (i = 0; i < info.nr_map_ids && i < 8 && fd < 0; i++) {
			struct bpf_map_info mi;
			uint32_t ml = sizeof(mi);
			int m = bpf_map_get_fd_by_id(ids[i]);

			memset(&mi, 0, sizeof(mi));
			if (m >= 0 && bpf_obj_get_info_by_fd(m, &mi, &ml) == 0 &&
			    !strcmp(mi.name, "drops"))
				fd = m;
			else if (m >= 0)
				close(m);
		}
	close(prog_fd);
	if (fd >= 0)
		*ifindex = hook.ifindex;
	return fd;
}

int proc_rate_drops(int map_fd, int ifindex, uint64_t *tx, uint64_t *rx)
{
	struct proc_rate_drops d;
	uint32_t k = (uint32_t)ifindex;

	if (map_fd < 0 || bpf_map_lookup_elem(map_fd, &k, &d) < 0)
		return -1;
	*tx = d.tx;
	*rx = d.rx;
	return 0;
}

#else /* !HAVE_PROC_RATE */

int proc_rate_built(char *why, size_t whylen)
{
	snprintf(why, whylen, "%s", PROC_RATE_MISSING);
	return 0;
}

int proc_rate_attach(const char *const *taps, unsigned n, uint64_t pps, uint64_t bytes_per_s,
                     int *ifindex, char *why, size_t whylen)
{
	(void)taps;
	(void)n;
	(void)pps;
	(void)bytes_per_s;
	(void)ifindex;
	return be_fail(why, whylen, "net_rate: %s", PROC_RATE_MISSING);
}

void proc_rate_detach(const char *tap)
{
	(void)tap;
}

int proc_rate_find(const char *tap, int *ifindex)
{
	(void)tap;
	(void)ifindex;
	return -1;
}

int proc_rate_drops(int map_fd, int ifindex, uint64_t *tx, uint64_t *rx)
{
	(void)map_fd;
	(void)ifindex;
	(void)tx;
	(void)rx;
	return -1;
}
#endif
