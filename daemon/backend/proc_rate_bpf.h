/*
 * What the rate limit's BPF program (proc_rate.bpf.c) and shoald
 * (proc_rate.c) share: its maps' values.  Credit is kept in time, in
 * 1/1024 ns: a bucket full holds one second (PROC_RATE_FULL), a packet
 * or a byte costs 1e9 * 1024 / rate of it, and the time that passed
 * adds to it.  64 bits hold any rate's cost of a 64 KiB frame (bytes at
 * 1 a second: 2^56).
 */
#ifndef SHOALD_PROC_RATE_BPF_H
#define SHOALD_PROC_RATE_BPF_H

#include <linux/bpf.h>
#include <linux/types.h>

#define PROC_RATE_SCALE 1024ull
#define PROC_RATE_NICS  4 /* the drops map's room: BE_NICS_MAX (proc_rate.c checks) */
#define PROC_RATE_FULL  (1000000000ull * PROC_RATE_SCALE)

/* The "rate" map: an array of two, [0] what the guest sends, [1] what it receives. */
struct proc_rate_bucket {
	struct bpf_spin_lock lock;
	__u32 pad;
	__u64 last_ns;                 /* when credit was last added; 0: never */
	__s64 pkt_credit, byte_credit; /* may go below 0: a frame's cost is taken whole */
	__u64 pkt_cost, byte_cost;     /* of one; 0: no limit */
};

/* The "drops" map: by the tap's ifindex, frames dropped each way. */
struct proc_rate_drops {
	__u64 tx, rx;
};

#endif
