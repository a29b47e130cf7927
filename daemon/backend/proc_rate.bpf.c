/*
 * The proc backend's rate limit, in the host kernel (proc_rate.h): two
 * cls_bpf programs in direct-action mode, shoal_tx on a guest's taps'
 * ingress (what the guest sends) and shoal_rx on their egress (what it
 * receives).  A frame goes when each limited bucket holds at least one of
 * it, and then costs its whole size (a TCP segment of 64 KiB through the
 * tap's offload counts as its segments), as in the KVM tender's
 * (vmm/net.c); else it is dropped and counted.  Built by clang -target
 * bpf, loaded by shoald with libbpf.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "daemon/backend/proc_rate_bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct proc_rate_bucket);
} rate SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PROC_RATE_NICS);
	__type(key, __u32);
	__type(value, struct proc_rate_drops);
} drops SEC(".maps");

/* Credit (at most full) after elapsed ns: full once the time covers what it lacks, whatever its
 * debt (the product is taken only below that, so it cannot overflow). */
static __always_inline __s64 refill(__s64 credit, __u64 cost, __u64 elapsed)
{
	__u64 lack = (__u64)((__s64)PROC_RATE_FULL - credit);

	if (!cost)
		return credit;
	if (elapsed >= lack / PROC_RATE_SCALE)
		return (__s64)PROC_RATE_FULL;
	return credit + (__s64)(elapsed * PROC_RATE_SCALE);
}

static __always_inline int limit(struct __sk_buff *skb, __u32 way)
{
	struct proc_rate_bucket *b = bpf_map_lookup_elem(&rate, &way);
	__u64 now = bpf_ktime_get_ns(), elapsed, segs = skb->gso_segs ? skb->gso_segs : 1;
	struct proc_rate_drops *d;
	__u32 ifindex = skb->ifindex;
	int pass;

	if (!b)
		return TC_ACT_OK;
	bpf_spin_lock(&b->lock);
	elapsed = b->last_ns && now > b->last_ns ? now - b->last_ns : 0;
	if (!b->last_ns || now > b->last_ns)
		b->last_ns = now;
	b->pkt_credit = refill(b->pkt_credit, b->pkt_cost, elapsed);
	b->byte_credit = refill(b->byte_credit, b->byte_cost, elapsed);
	pass = (!b->pkt_cost || b->pkt_credit >= (__s64)b->pkt_cost) &&
	       (!b->byte_cost || b->byte_credit >= (__s64)b->byte_cost);
	if (pass) {
		b->pkt_credit -= (__s64)(segs * b->pkt_cost);
		b->byte_credit -= (__s64)((__u64)skb->len * b->byte_cost);
	}
	bpf_spin_unlock(&b->lock);
	if (pass)
		return TC_ACT_OK;
	d = bpf_map_lookup_elem(&drops, &ifindex);
	if (d) {
		if (way)
			__sync_fetch_and_add(&d->rx, 1);
		else
			__sync_fetch_and_add(&d->tx, 1);
	}
	return TC_ACT_SHOT;
}

SEC("tc")
int shoal_tx(struct __sk_buff *skb)
{
	return limit(skb, 0);
}

SEC("tc")
int shoal_rx(struct __sk_buff *skb)
{
	return limit(skb, 1);
}

char LICENSE[] SEC("license") = "GPL";
