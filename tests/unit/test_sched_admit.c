/*
 * Unit tests of admission: every refusal with its code and sentence
 * (bad request, bad snapshot, already placed, pinned CPUs that do not
 * exist or are Dom0's, memory exhausted with the Dom0 reserve counted,
 * the per-class vCPU limit), and where admitted guests go: latency apart
 * from batch, latency spread, batch packed, memory and CPUs in one node,
 * operator pins, a host too small for two sets.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sched_testlib.h"

/* 16 CPUs (8 SMT cores, siblings 8 apart), Dom0 on core 0: latency CPUs 1-5 and 9-13, batch 6-7 and
 * 14-15. */
static struct world *host16(void)
{
	struct world *w = world_new(16, 1, 2, 2, 65536);

	world_start(w);
	return w;
}

/* 4 CPUs, no SMT, Dom0 on cpu 0: latency cpus 1-2, batch cpu 3; limits set by the test. */
static struct world *host4(unsigned latency_cap, unsigned batch_cap)
{
	struct world *w = world_new(4, 1, 1, 1, 65536);

	w->cfg.latency_vcpus_per_cpu = latency_cap;
	w->cfg.batch_vcpus_per_cpu = batch_cap;
	world_start(w);
	return w;
}

static void refuses_malformed_requests(void **state)
{
	static const struct {
		int what;
		const char *says;
	} cases[] = {
		{ 0, "vcpus is 0" },
		{ 1, "vcpus is 33" },
		{ 2, "memory_mib is 0" },
		{ 3, "slo_us is 0" },
		{ 4, "neither an id nor a name" },
		{ 5, "not NUL-terminated" },
		{ 6, "class is 7" },
	};
	struct world *w = host16();
	struct sched_snapshot snap = world_snapshot(w);
	struct sched_admission a;
	struct sched_guest g;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		guest_init(&g, SCHED_CLASS_LATENCY, "a-1");
		switch (cases[i].what) {
		case 0:
			g.vcpus = 0;
			break;
		case 1:
			g.vcpus = SCHED_VCPUS_MAX + 1;
			break;
		case 2:
			g.memory_mib = 0;
			break;
		case 3:
			g.slo_us = 0;
			break;
		case 4:
			g.name[0] = 0;
			g.id = 0;
			break;
		case 5:
			memset(g.name, 'x', sizeof(g.name));
			break;
		case 6:
			g.cls = (enum sched_class)7;
			break;
		}
		assert_int_equal(sched_admit(w->s, &snap, &g, &a), -EINVAL);
		assert_int_equal(a.refusal, SCHED_REFUSE_BAD_GUEST);
		assert_int_equal(a.vcpus, 0);
		assert_int_equal(a.cpu[0], -1);
		assert_reason(a.reason, cases[i].says);
	}
	assert_int_equal(sched_admit(w->s, &snap, NULL, &a), -EINVAL);
	assert_int_equal(sched_admit(w->s, NULL, &g, &a), -EINVAL);
	assert_int_equal(sched_admit(w->s, &snap, &g, NULL), -EINVAL);
	world_free(w);
}

static void refuses_a_malformed_snapshot(void **state)
{
	struct world *w = host16();
	struct sched_admission a;
	struct sched_guest g;

	(void)state;
	world_put(w, SCHED_CLASS_LATENCY, "l-1", 3, 0.01);
	w->g[0].cpu[0] = 900;
	guest_init(&g, SCHED_CLASS_LATENCY, "a-1");
	assert_int_equal(world_admit(w, &g, &a), -EINVAL);
	assert_int_equal(a.refusal, SCHED_REFUSE_BAD_SNAPSHOT);
	assert_reason(a.reason, "snapshot guest 0 (l-1)");
	assert_reason(a.reason, "cpu 900");
	world_free(w);
}

static void refuses_a_guest_already_placed(void **state)
{
	struct world *w = host16();
	struct sched_admission a;
	struct sched_guest g;

	(void)state;
	world_add(w, SCHED_CLASS_LATENCY, "a-1");
	guest_init(&g, SCHED_CLASS_BATCH, "a-1");
	assert_int_equal(world_admit(w, &g, &a), -EEXIST);
	assert_int_equal(a.refusal, SCHED_REFUSE_EXISTS);
	assert_reason(a.reason, "a-1 is already placed");
	/* The same name with another id is another guest. */
	g.id = 7;
	assert_int_equal(world_admit(w, &g, &a), 0);
	world_free(w);
}

static void refuses_pins_to_cpus_that_do_not_exist(void **state)
{
	struct world *w = host16();
	struct sched_admission a;
	struct sched_guest g;

	(void)state;
	guest_init(&g, SCHED_CLASS_LATENCY, "a-1");
	sched_cpuset_add(&g.pin, 3);
	sched_cpuset_add(&g.pin, 70);
	assert_int_equal(world_admit(w, &g, &a), -EINVAL);
	assert_int_equal(a.refusal, SCHED_REFUSE_NO_SUCH_CPU);
	assert_reason(a.reason,
	              "pinned to cpu 70, which the host does not have (it has cpus 0-15)");
	guest_init(&g, SCHED_CLASS_LATENCY, "a-1");
	sched_cpuset_add(&g.pin, 16);
	assert_int_equal(world_admit(w, &g, &a), -EINVAL);
	assert_int_equal(a.refusal, SCHED_REFUSE_NO_SUCH_CPU);
	world_free(w);
}

static void refuses_pins_to_dom0_cpus(void **state)
{
	struct world *w = host16();
	struct sched_admission a;
	struct sched_guest g;

	(void)state;
	guest_init(&g, SCHED_CLASS_BATCH, "b-1");
	sched_cpuset_add(&g.pin, 8); /* cpu 0's sibling: Dom0 has the whole core */
	assert_int_equal(world_admit(w, &g, &a), -EINVAL);
	assert_int_equal(a.refusal, SCHED_REFUSE_DOM0_CPU);
	assert_reason(a.reason, "pinned to cpu 8, which is kept for Dom0");
	world_free(w);
}

static void refuses_when_memory_is_exhausted(void **state)
{
	struct world *w = world_new(4, 1, 1, 1, 1024);
	struct sched_admission a;
	struct sched_guest g;

	(void)state;
	w->host.dom0_memory_mib[0] = 256;
	world_start(w);
	/* 1000 MiB would fit the host, not what Dom0 leaves. */
	guest_init(&g, SCHED_CLASS_LATENCY, "big");
	g.memory_mib = 1000;
	assert_int_equal(world_admit(w, &g, &a), -ENOMEM);
	assert_int_equal(a.refusal, SCHED_REFUSE_MEMORY);
	assert_reason(a.reason,
	              "memory exhausted: the guest needs 1000 MiB and 768 MiB are free for guests");
	assert_reason(a.reason, "256 MiB kept for Dom0");
	g.memory_mib = 700;
	assert_int_equal(world_admit(w, &g, &a), 0);
	guest_init(&g, SCHED_CLASS_BATCH, "more");
	g.memory_mib = 100;
	assert_int_equal(world_admit(w, &g, &a), -ENOMEM);
	assert_reason(a.reason,
	              "68 MiB are free for guests (1024 MiB on the host, 256 MiB kept for Dom0, "
	              "700 MiB used by 1 guests)");
	g.memory_mib = 68;
	assert_int_equal(world_admit(w, &g, &a), 0);
	world_free(w);
}

static void refuses_latency_guests_over_the_class_limit(void **state)
{
	struct world *w = host4(2, 256);
	struct sched_admission a;
	struct sched_guest g;
	char name[16];
	int i;

	(void)state;
	for (i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "l-%d", i);
		world_add(w, SCHED_CLASS_LATENCY, name);
	}
	/* The batch set has one core, its minimum: it lends nothing. */
	guest_init(&g, SCHED_CLASS_LATENCY, "l-4");
	assert_int_equal(world_admit(w, &g, &a), -ENOSPC);
	assert_int_equal(a.refusal, SCHED_REFUSE_OVERCOMMIT);
	assert_reason(
	    a.reason,
	    "CPU overcommit limit for latency guests: none of the 2 latency CPUs has room "
	    "for another vCPU (limit 2 per CPU)");
	assert_int_equal(sched_cpu_role(w->s, 3), SCHED_ROLE_BATCH);
	/* Batch guests still fit where they belong. */
	world_add(w, SCHED_CLASS_BATCH, "b-0");
	world_free(w);
}

static void refuses_part_of_a_multi_vcpu_guest(void **state)
{
	struct world *w = host4(2, 256);
	struct sched_admission a;
	struct sched_guest g;

	(void)state;
	world_add(w, SCHED_CLASS_LATENCY, "l-0");
	guest_init(&g, SCHED_CLASS_LATENCY, "wide");
	g.vcpus = 4; /* 3 places left */
	assert_int_equal(world_admit(w, &g, &a), -ENOSPC);
	assert_reason(a.reason, "room for only 3 of its 4 vCPUs");
	assert_int_equal(a.vcpus, 0);
	g.vcpus = 3;
	assert_int_equal(world_admit(w, &g, &a), 0);
	world_free(w);
}

static void batch_set_borrows_an_empty_core_then_refuses(void **state)
{
	struct world *w = host4(256, 2);
	struct sched_admission a;
	struct sched_guest g;

	(void)state;
	world_add(w, SCHED_CLASS_BATCH, "b-0");
	world_add(w, SCHED_CLASS_BATCH, "b-1");
	assert_int_equal(sched_cpu_role(w->s, 1), SCHED_ROLE_LATENCY);
	guest_init(&g, SCHED_CLASS_BATCH, "b-2");
	assert_int_equal(world_admit(w, &g, &a), 0);
	assert_reason(a.reason, "took empty core of cpu 1 from the latency set");
	assert_int_equal(a.cpu[0], 1);
	assert_int_equal(sched_cpu_role(w->s, 1), SCHED_ROLE_BATCH);
	world_add(w, SCHED_CLASS_BATCH, "b-3");
	/* One latency core left, the minimum: no more lending. */
	guest_init(&g, SCHED_CLASS_BATCH, "b-4");
	assert_int_equal(world_admit(w, &g, &a), -ENOSPC);
	assert_reason(a.reason, "CPU overcommit limit for batch guests: none of the 2 batch CPUs");
	assert_int_equal(sched_cpu_role(w->s, 2), SCHED_ROLE_LATENCY);
	world_free(w);
}

static void refuses_pinned_guests_over_the_limit(void **state)
{
	struct world *w = host4(1, 256);
	struct sched_admission a;
	struct sched_guest g;

	(void)state;
	guest_init(&g, SCHED_CLASS_LATENCY, "p-0");
	sched_cpuset_add(&g.pin, 2);
	assert_int_equal(world_admit(w, &g, &a), 0);
	assert_int_equal(a.cpu[0], 2);
	guest_init(&g, SCHED_CLASS_LATENCY, "p-1");
	sched_cpuset_add(&g.pin, 2);
	assert_int_equal(world_admit(w, &g, &a), -ENOSPC);
	assert_reason(
	    a.reason,
	    "none of the CPUs it is pinned to has room for another vCPU (limit 1 per CPU)");
	world_free(w);
}

static void latency_guests_are_kept_apart_from_batch(void **state)
{
	struct world *w = host16();
	unsigned c, cls_on[16][2] = { { 0 } };
	size_t i;
	char name[16];

	(void)state;
	for (i = 0; i < 60; i++) {
		snprintf(name, sizeof(name), "g-%zu", i);
		world_add(w, i % 3 ? SCHED_CLASS_LATENCY : SCHED_CLASS_BATCH, name);
	}
	for (i = 0; i < w->n; i++) {
		int cpu = w->g[i].cpu[0];

		cls_on[cpu][w->g[i].cls]++;
		assert_int_equal(sched_cpu_role(w->s, (unsigned)cpu),
		                 w->g[i].cls == SCHED_CLASS_LATENCY ? SCHED_ROLE_LATENCY
		                                                    : SCHED_ROLE_BATCH);
	}
	for (c = 0; c < 16; c++) {
		assert_false(cls_on[c][0] && cls_on[c][1]);
		/* Whole cores: a CPU and its SMT sibling have the same role. */
		assert_int_equal(sched_cpu_role(w->s, c),
		                 sched_cpu_role(w->s, (unsigned)sibling_of(w, (int)c)));
	}
	assert_int_equal(cls_on[0][0] + cls_on[0][1] + cls_on[8][0] + cls_on[8][1], 0);
	assert_int_equal(sched_cpu_role(w->s, 0), SCHED_ROLE_DOM0);
	world_free(w);
}

static void latency_guests_spread_over_the_latency_set(void **state)
{
	struct world *w = host16();
	struct sched_admission a;
	struct sched_guest g;
	unsigned c, on[16] = { 0 };
	size_t i;
	char name[16];

	(void)state;
	for (i = 0; i < 30; i++) {
		snprintf(name, sizeof(name), "l-%zu", i);
		guest_init(&g, SCHED_CLASS_LATENCY, name);
		assert_int_equal(world_admit(w, &g, &a), 0);
		on[a.cpu[0]]++;
	}
	assert_reason(a.reason, "the least loaded of 10 latency CPUs");
	for (c = 0; c < 16; c++)
		assert_int_equal(on[c], sched_cpu_role(w->s, c) == SCHED_ROLE_LATENCY ? 3 : 0);
	world_free(w);
}

static void spread_follows_measured_use(void **state)
{
	struct world *w = host16();
	struct sched_admission a;
	struct sched_guest g;
	unsigned c;

	(void)state;
	/* Every latency CPU but cpu 12 holds a busy guest; cpu 12 holds two idle ones. */
	for (c = 1; c < 16; c++)
		if (sched_cpu_role(w->s, c) == SCHED_ROLE_LATENCY && c != 12)
			world_put(w, SCHED_CLASS_LATENCY, "busy", (int)c, 0.6);
	world_put(w, SCHED_CLASS_LATENCY, "idle-0", 12, 0.001);
	world_put(w, SCHED_CLASS_LATENCY, "idle-1", 12, 0.001);
	guest_init(&g, SCHED_CLASS_LATENCY, "new");
	assert_int_equal(world_admit(w, &g, &a), 0);
	assert_int_equal(a.cpu[0], 12);
	world_free(w);
}

static void batch_guests_are_packed_first_fit(void **state)
{
	struct world *w = host16();
	struct sched_admission a;
	struct sched_guest g;
	int got[5];
	size_t i;
	char name[16];

	(void)state;
	/* Not measured yet, a batch vCPU counts as 0.5 CPU: two fill a CPU. */
	for (i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "b-%zu", i);
		guest_init(&g, SCHED_CLASS_BATCH, name);
		assert_int_equal(world_admit(w, &g, &a), 0);
		got[i] = a.cpu[0];
	}
	assert_reason(a.reason, "packed first-fit on 4 batch CPUs");
	assert_int_equal(got[0], 6);
	assert_int_equal(got[1], 6);
	assert_int_equal(got[2], 7);
	assert_int_equal(got[3], 7);
	assert_int_equal(got[4], 14);
	/* A measured light guest leaves room: the next goes on the first CPU with room. */
	w->g[0].cpu_use = 0.1;
	w->g[1].cpu_use = 0.1;
	guest_init(&g, SCHED_CLASS_BATCH, "b-5");
	assert_int_equal(world_admit(w, &g, &a), 0);
	assert_int_equal(a.cpu[0], 6);
	world_free(w);
}

/* 2 nodes of 4 SMT cores, 1 GiB each; Dom0 on core 0 (node 0). */
static struct world *host2nodes(void)
{
	struct world *w = world_new(16, 2, 2, 2, 2048);

	world_start(w);
	return w;
}

static void memory_and_cpus_in_one_node(void **state)
{
	struct world *w = host2nodes();
	struct sched_admission a;
	struct sched_guest g;
	unsigned per_node[2] = { 0, 0 };
	size_t i;
	char name[16];

	(void)state;
	for (i = 0; i < 12; i++) {
		snprintf(name, sizeof(name), "l-%zu", i);
		guest_init(&g, i % 2 ? SCHED_CLASS_BATCH : SCHED_CLASS_LATENCY, name);
		g.memory_mib = 150;
		assert_int_equal(world_admit(w, &g, &a), 0);
		assert_true(a.node >= 0);
		assert_int_equal((unsigned)a.node, w->host.cpu[a.cpu[0]].node);
		per_node[a.node]++;
	}
	assert_int_equal(per_node[0], 6);
	assert_int_equal(per_node[1], 6);
	/* 124 MiB left on each node: 150 MiB fits the host only interleaved. */
	guest_init(&g, SCHED_CLASS_LATENCY, "spread");
	g.memory_mib = 150;
	assert_int_equal(world_admit(w, &g, &a), 0);
	assert_int_equal(a.node, -1);
	assert_reason(a.reason, "memory interleaved: no node has 150 MiB free");
	world_free(w);
}

static void memory_follows_free_node(void **state)
{
	struct world *w = host2nodes();
	struct sched_admission a;
	struct sched_guest g;

	(void)state;
	/* Node 0 nearly full: a new guest goes where its memory fits, CPUs and all. */
	guest_init(&g, SCHED_CLASS_BATCH, "hog");
	g.memory_mib = 1000;
	assert_int_equal(world_admit(w, &g, &a), 0);
	assert_int_equal(a.node, 0);
	guest_init(&g, SCHED_CLASS_LATENCY, "l-0");
	g.memory_mib = 100;
	assert_int_equal(world_admit(w, &g, &a), 0);
	assert_int_equal(a.node, 1);
	assert_int_equal(w->host.cpu[a.cpu[0]].node, 1);
	world_free(w);
}

static void multi_vcpu_guest_spreads_in_its_node(void **state)
{
	struct world *w = host2nodes();
	struct sched_admission a;
	struct sched_guest g;
	unsigned v, k;

	(void)state;
	guest_init(&g, SCHED_CLASS_LATENCY, "wide");
	g.vcpus = 4;
	assert_int_equal(world_admit(w, &g, &a), 0);
	assert_int_equal(a.vcpus, 4);
	for (v = 0; v < 4; v++) {
		assert_int_equal(w->host.cpu[a.cpu[v]].node, (unsigned)a.node);
		assert_int_equal(sched_cpu_role(w->s, (unsigned)a.cpu[v]), SCHED_ROLE_LATENCY);
		for (k = 0; k < v; k++)
			assert_int_not_equal(a.cpu[v], a.cpu[k]);
	}
	assert_reason(a.reason, "latency guest on cpus ");
	world_free(w);
}

static void operator_pins_are_honoured(void **state)
{
	struct world *w = host16();
	struct sched_admission a;
	struct sched_guest g;

	(void)state;
	/* A latency guest the operator put on a batch CPU stays there. */
	guest_init(&g, SCHED_CLASS_LATENCY, "p-0");
	sched_cpuset_add(&g.pin, 6);
	assert_int_equal(world_admit(w, &g, &a), 0);
	assert_int_equal(a.cpu[0], 6);
	assert_reason(a.reason, "as the operator pinned it");
	/* Two vCPUs over two pinned CPUs: one each. */
	guest_init(&g, SCHED_CLASS_LATENCY, "p-1");
	g.vcpus = 2;
	sched_cpuset_add(&g.pin, 3);
	sched_cpuset_add(&g.pin, 4);
	assert_int_equal(world_admit(w, &g, &a), 0);
	assert_true((a.cpu[0] == 3 && a.cpu[1] == 4) || (a.cpu[0] == 4 && a.cpu[1] == 3));
	world_free(w);
}

static void a_one_core_host_shares_it(void **state)
{
	struct world *w = world_new(2, 1, 1, 1, 4096);
	struct sched_admission a;
	struct sched_guest g;

	(void)state;
	world_start(w);
	guest_init(&g, SCHED_CLASS_BATCH, "b-0");
	assert_int_equal(world_admit(w, &g, &a), 0);
	assert_int_equal(a.cpu[0], 1);
	assert_reason(a.reason, "sharing the latency set: the host has no batch CPUs");
	guest_init(&g, SCHED_CLASS_LATENCY, "l-0");
	assert_int_equal(world_admit(w, &g, &a), 0);
	assert_int_equal(a.cpu[0], 1);
	world_free(w);
}

/* A batch guest pinned onto the only latency CPU does not shut latency guests out. */
static void pinned_batch_guest_does_not_shut_out_latency_guests(void **state)
{
	struct world *w = world_new(2, 1, 1, 0, 4096);
	struct sched_admission a;
	struct sched_guest g;
	int lat;

	(void)state;
	world_start(w);
	lat = sched_cpu_role(w->s, 0) == SCHED_ROLE_LATENCY ? 0 : 1;
	guest_init(&g, SCHED_CLASS_BATCH, "b-pinned");
	sched_cpuset_add(&g.pin, (unsigned)lat);
	assert_int_equal(world_admit(w, &g, &a), 0);
	assert_int_equal(a.cpu[0], lat);
	guest_init(&g, SCHED_CLASS_LATENCY, "l-0");
	assert_int_equal(world_admit(w, &g, &a), 0);
	assert_int_equal(a.cpu[0], lat);
	assert_reason(a.reason, "shares a CPU with batch guests");
	/* Batch guests still go to the batch CPU, apart. */
	guest_init(&g, SCHED_CLASS_BATCH, "b-0");
	assert_int_equal(world_admit(w, &g, &a), 0);
	assert_int_equal(a.cpu[0], 1 - lat);
	world_free(w);
}

/*
 * A burst of deploys within one period: each new guest is in the next
 * snapshot not yet measured (assumed use), so 500 latency guests in a
 * row land where the plan would put them, spread evenly over the
 * latency CPUs and both nodes, while 23 batch guests in between pack
 * first-fit on the batch CPUs.  Then one CPU's guests turn out busy
 * (measured): the next deploys go elsewhere.
 */
static void a_burst_of_deploys_spreads_and_packs(void **state)
{
	struct world *w = world_new(64, 2, 2, 2, 1 << 20);
	unsigned per_cpu[64] = { 0 }, lat_cpus = 0, batch_used = 0, per_node[2] = { 0 }, c;
	unsigned lo = ~0u, hi = 0;
	size_t i, busy_cpu_guests = 0;
	char name[16];
	int busy = -1;

	(void)state;
	world_start(w);
	for (i = 0; i < 524; i++) {
		int batch = i % 22 == 21;
		size_t k;

		snprintf(name, sizeof(name), "%c-%zu", batch ? 'b' : 'l', i);
		k = world_add(w, batch ? SCHED_CLASS_BATCH : SCHED_CLASS_LATENCY, name);
		per_cpu[w->g[k].cpu[0]]++;
	}
	for (c = 0; c < 64; c++) {
		if (sched_cpu_role(w->s, c) == SCHED_ROLE_LATENCY) {
			lat_cpus++;
			lo = per_cpu[c] < lo ? per_cpu[c] : lo;
			hi = per_cpu[c] > hi ? per_cpu[c] : hi;
			per_node[w->host.cpu[c].node] += per_cpu[c];
		} else if (sched_cpu_role(w->s, c) == SCHED_ROLE_BATCH) {
			batch_used += per_cpu[c] > 0;
			/* Packed: two at assumed_use_batch 0.5 fill batch_pack_use 1.0. */
			assert_true(per_cpu[c] <= 2);
		}
	}
	print_message("# 501 latency guests in a burst over %u latency CPUs: %u to %u a CPU "
	              "(%u and %u per node); 23 batch guests on %u batch CPUs\n",
	              lat_cpus, lo, hi, per_node[0], per_node[1], batch_used);
	assert_int_equal(lat_cpus, 46);
	assert_true(hi - lo <= 1);
	assert_true(per_node[0] >= 240 && per_node[1] >= 240);
	assert_int_equal(batch_used, 12);
	/* Measured now: one latency CPU's guests are busy; the next burst avoids it. */
	for (i = 0; i < w->n; i++) {
		w->g[i].cpu_use = 0.003;
		if (w->g[i].cls == SCHED_CLASS_LATENCY && busy < 0)
			busy = w->g[i].cpu[0];
		if (w->g[i].cpu[0] == busy) {
			w->g[i].cpu_use = 0.08;
			busy_cpu_guests++;
		}
	}
	for (i = 0; i < 100; i++) {
		size_t k;

		snprintf(name, sizeof(name), "m-%zu", i);
		k = world_add(w, SCHED_CLASS_LATENCY, name);
		assert_int_not_equal(w->g[k].cpu[0], busy);
	}
	assert_true(busy_cpu_guests >= 10);
	world_free(w);
}

static void refusal_words_are_distinct(void **state)
{
	const char *seen[8];
	int r, k;

	(void)state;
	for (r = SCHED_ADMITTED; r <= SCHED_REFUSE_OVERCOMMIT; r++) {
		seen[r] = sched_refusal_str((enum sched_refusal)r);
		assert_string_not_equal(seen[r], "unknown");
		for (k = 0; k < r; k++)
			assert_string_not_equal(seen[r], seen[k]);
	}
	assert_string_equal(sched_refusal_str(SCHED_REFUSE_MEMORY), "memory");
	assert_string_equal(sched_refusal_str(SCHED_REFUSE_OVERCOMMIT), "overcommit");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(refuses_malformed_requests),
		cmocka_unit_test(refuses_a_malformed_snapshot),
		cmocka_unit_test(refuses_a_guest_already_placed),
		cmocka_unit_test(refuses_pins_to_cpus_that_do_not_exist),
		cmocka_unit_test(refuses_pins_to_dom0_cpus),
		cmocka_unit_test(refuses_when_memory_is_exhausted),
		cmocka_unit_test(refuses_latency_guests_over_the_class_limit),
		cmocka_unit_test(refuses_part_of_a_multi_vcpu_guest),
		cmocka_unit_test(batch_set_borrows_an_empty_core_then_refuses),
		cmocka_unit_test(refuses_pinned_guests_over_the_limit),
		cmocka_unit_test(latency_guests_are_kept_apart_from_batch),
		cmocka_unit_test(latency_guests_spread_over_the_latency_set),
		cmocka_unit_test(spread_follows_measured_use),
		cmocka_unit_test(batch_guests_are_packed_first_fit),
		cmocka_unit_test(memory_and_cpus_in_one_node),
		cmocka_unit_test(memory_follows_free_node),
		cmocka_unit_test(multi_vcpu_guest_spreads_in_its_node),
		cmocka_unit_test(operator_pins_are_honoured),
		cmocka_unit_test(a_burst_of_deploys_spreads_and_packs),
		cmocka_unit_test(a_one_core_host_shares_it),
		cmocka_unit_test(pinned_batch_guest_does_not_shut_out_latency_guests),
		cmocka_unit_test(refusal_words_are_distinct),
	};

	return cmocka_run_group_tests_name("sched_admit", tests, NULL, NULL);
}
