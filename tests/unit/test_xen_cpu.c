/*
 * Unit tests of placement on Xen's pure parts (daemon/backend/xen_cpu.c):
 * the weight mapping between cgroup v2's scale and credit2's both ways
 * and its round trip, libxl's topology as the scheduler's host, the pool
 * a domain follows its CPUs into, and the batch class decisions.  The
 * libxl calls themselves run against real Xen (tests/xen/xen-cpu-check.sh).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/backend/xen_cpu.h"
#include "scheduler/scheduler.h"

#define INV LIBXL_CPUTOPOLOGY_INVALID_ENTRY
#define GIB (1ull << 30)

static void weight_to_xen(void **state)
{
	static const struct {
		unsigned cg, xen;
	} cases[] = {
		{ 100, 256 },
		{ 1, 3 },
		{ 0, 3 },
		{ 2, 5 },
		{ 10, 26 },
		{ 50, 128 },
		{ 200, 512 },
		{ 1000, 2560 },
		{ 10000, 25600 },
		{ 10001, 25600 },
		{ 4000000000u, 25600 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("cgroup %u -> credit2 %u\n", cases[i].cg, cases[i].xen);
		assert_int_equal(xen_cpu_weight_to_xen(cases[i].cg), cases[i].xen);
	}
}

static void weight_from_xen(void **state)
{
	static const struct {
		unsigned xen, cg;
	} cases[] = {
		{ 256, 100 },
		{ 1, 1 },
		{ 0, 1 },
		{ 2, 1 },
		{ 3, 1 },
		{ 5, 2 },
		{ 128, 50 },
		{ 255, 100 },
		{ 257, 100 },
		{ 512, 200 },
		{ 25600, 10000 },
		{ 65535, 10000 },
		{ 4000000000u, 10000 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("credit2 %u -> cgroup %u\n", cases[i].xen, cases[i].cg);
		assert_int_equal(xen_cpu_weight_from_xen(cases[i].xen), cases[i].cg);
	}
}

/* Every cgroup weight comes back as itself, keeps its order, and none is the batch class's weight.
 */
static void weight_round_trip(void **state)
{
	unsigned w, prev = 0;

	(void)state;
	for (w = 1; w <= 10000; w++) {
		unsigned x = xen_cpu_weight_to_xen(w);

		assert_true(x > prev);
		assert_true(x <= 65535);
		assert_int_not_equal(x, XEN_CPU_BATCH_WEIGHT);
		assert_int_equal(xen_cpu_weight_from_xen(x), w);
		prev = x;
	}
}

static void batch_decisions(void **state)
{
	static const struct {
		const char *what;
		unsigned cur, kept;
		int batch;
		unsigned weight;
		unsigned set, keep;
	} cases[] = {
		{ "normal -> batch keeps the default weight", 256, 0, 1, 0, 1, 100 },
		{ "normal -> batch keeps a lowered weight", 26, 0, 1, 0, 1, 10 },
		{ "batch -> batch again keeps what was kept", 1, 10, 1, 0, 1, 10 },
		{ "batch -> normal restores the kept weight", 1, 10, 0, 0, 26, 0 },
		{ "batch -> normal without a kept weight: the default", 1, 0, 0, 0, 256, 0 },
		{ "normal -> normal changes nothing", 300, 0, 0, 0, 300, 0 },
		{ "a weight while normal is set", 256, 0, -1, 10, 26, 0 },
		{ "a weight while batch is kept for later", 1, 100, -1, 10, 1, 10 },
		{ "a weight out of range while batch is clamped", 1, 0, -1, 20000, 1, 10000 },
		{ "credit (1) weight 2 is not batch", 2, 0, -1, 100, 256, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned keep = 12345, set;

		print_message("%s\n", cases[i].what);
		set = xen_cpu__decide(cases[i].cur, cases[i].kept, cases[i].batch, cases[i].weight,
		                      &keep);
		assert_int_equal(set, cases[i].set);
		assert_int_equal(keep, cases[i].keep);
	}
}

static void set_of(cpu_set_t *s, const char *list)
{
	CPU_ZERO(s);
	for (; *list; list++)
		if (*list >= '0' && *list <= '9')
			CPU_SET(*list - '0', s);
}

static void pool_choice(void **state)
{
	static const struct {
		const char *want, *batch_pool;
		int to_batch;
		const char *eff;
	} cases[] = {
		{ "1", "23", 0, "1" },     /* a latency CPU */
		{ "3", "23", 1, "3" },     /* a batch CPU */
		{ "23", "23", 1, "23" },   /* batch CPUs */
		{ "123", "23", 1, "23" },  /* mostly batch: the batch pool, its part */
		{ "12", "23", 0, "1" },    /* a tie: Dom0's pool, its part */
		{ "0123", "3", 0, "012" }, /* mostly Dom0's pool */
		{ "1", "", 0, "1" },       /* no batch pool */
		{ "01234567", "", 0, "01234567" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cpu_set_t want, pool, eff, exp;

		set_of(&want, cases[i].want);
		set_of(&pool, cases[i].batch_pool);
		set_of(&exp, cases[i].eff);
		print_message("want %s, batch pool %s\n", cases[i].want, cases[i].batch_pool);
		assert_int_equal(xen_cpu__pool_for(&want, &pool, &eff), cases[i].to_batch);
		assert_true(CPU_EQUAL(&eff, &exp));
	}
}

static struct sched_host host;

/* 2 sockets x 2 cores x 2 threads, one node per socket (threads of a core numbered apart, as Xen
 * does on AMD). */
static void topology_smt_numa(void **state)
{
	static const libxl_cputopology cpus[8] = {
		{ 0, 0, 0 }, { 0, 0, 0 }, { 1, 0, 0 }, { 1, 0, 0 },
		{ 0, 1, 1 }, { 0, 1, 1 }, { 1, 1, 1 }, { 1, 1, 1 },
	};
	libxl_numainfo nodes[2] = { { 8 * GIB, 4 * GIB, 0, NULL }, { 4 * GIB, 1 * GIB, 0, NULL } };
	char err[128] = "";
	unsigned c;

	(void)state;
	assert_int_equal(
	    xen_cpu__host_from(cpus, 8, nodes, 2, 12288, 1536, &host, err, sizeof(err)), 0);
	assert_int_equal(host.ncpus, 8);
	assert_int_equal(host.nnodes, 2);
	for (c = 0; c < 8; c++) {
		assert_int_equal(host.cpu[c].core,
		                 c / 2); /* siblings share a core, cores differ across sockets */
		assert_int_equal(host.cpu[c].node, c / 4);
		assert_int_equal(host.cpu[c].dom0, 0);
	}
	assert_int_equal(host.node_memory_mib[0], 8192);
	assert_int_equal(host.node_memory_mib[1], 4096);
	assert_int_equal(host.dom0_memory_mib[0],
	                 1024); /* Dom0's 1.5 GiB spread as the nodes' memory is */
	assert_int_equal(host.dom0_memory_mib[1], 512);
}

/* The same core id on two sockets is two cores. */
static void topology_core_ids_per_socket(void **state)
{
	static const libxl_cputopology cpus[4] = {
		{ 0, 0, 0 }, { 1, 0, 0 }, { 0, 1, 0 }, { 1, 1, 0 }
	};
	char err[128] = "";

	(void)state;
	assert_int_equal(xen_cpu__host_from(cpus, 4, NULL, 0, 3072, 1024, &host, err, sizeof(err)),
	                 0);
	assert_int_equal(host.ncpus, 4);
	assert_int_equal(host.cpu[0].core, 0);
	assert_int_equal(host.cpu[1].core, 1);
	assert_int_equal(host.cpu[2].core, 2);
	assert_int_equal(host.cpu[3].core, 3);
	assert_int_equal(host.nnodes, 1); /* no NUMA information: one node of all the memory */
	assert_int_equal(host.node_memory_mib[0], 3072);
	assert_int_equal(host.dom0_memory_mib[0], 1024);
}

/* Offline pCPUs: one in the middle is kept out of placement, trailing ones are not counted. */
static void topology_offline_cpus(void **state)
{
	static const libxl_cputopology cpus[6] = {
		{ 0, 0, 0 }, { INV, INV, INV }, { 2, 0, 0 },
		{ 3, 0, 0 }, { INV, INV, INV }, { INV, INV, INV },
	};
	libxl_numainfo nodes[1] = { { 4 * GIB, 2 * GIB, 0, NULL } };
	char err[128] = "";

	(void)state;
	assert_int_equal(xen_cpu__host_from(cpus, 6, nodes, 1, 4096, 512, &host, err, sizeof(err)),
	                 0);
	assert_int_equal(host.ncpus, 4);
	assert_int_equal(host.cpu[1].dom0, 1);
	assert_int_equal(host.cpu[0].dom0 + host.cpu[2].dom0 + host.cpu[3].dom0, 0);
	assert_int_not_equal(host.cpu[1].core, host.cpu[0].core);
	assert_int_not_equal(host.cpu[1].core, host.cpu[2].core);
}

/* A CPU naming a node Xen did not list goes to node 0; a node without memory past the last is
 * dropped. */
static void topology_bad_node(void **state)
{
	static const libxl_cputopology cpus[2] = { { 0, 0, 0 }, { 1, 0, 7 } };
	libxl_numainfo nodes[3] = { { 2 * GIB, GIB, 0, NULL },
		                    { 2 * GIB, GIB, 0, NULL },
		                    { 0, 0, 0, NULL } };
	char err[128] = "";

	(void)state;
	assert_int_equal(xen_cpu__host_from(cpus, 2, nodes, 3, 4096, 0, &host, err, sizeof(err)),
	                 0);
	assert_int_equal(host.nnodes, 2);
	assert_int_equal(host.cpu[1].node, 0);
	assert_int_equal(host.dom0_memory_mib[0] + host.dom0_memory_mib[1], 0);
}

static void topology_refused(void **state)
{
	static const libxl_cputopology none[2] = { { INV, INV, INV }, { INV, INV, INV } };
	static const libxl_cputopology one[1] = { { 0, 0, 0 } };
	char err[128] = "";

	(void)state;
	assert_int_equal(xen_cpu__host_from(none, 2, NULL, 0, 4096, 0, &host, err, sizeof(err)),
	                 -1);
	assert_string_equal(err, "Xen reports no online physical CPU");
	assert_int_equal(xen_cpu__host_from(none, 0, NULL, 0, 4096, 0, &host, err, sizeof(err)),
	                 -1);
	assert_int_equal(xen_cpu__host_from(one, 1, NULL, 0, 0, 0, &host, err, sizeof(err)), -1);
	assert_string_equal(err, "Xen reports no memory");
}

/* The result is a host the scheduler takes. */
static void topology_schedulable(void **state)
{
	static const libxl_cputopology cpus[4] = {
		{ 0, 0, 0 }, { 1, 0, 0 }, { 2, 0, 0 }, { 3, 0, 0 }
	};
	struct sched_config cfg;
	struct sched *s = NULL;
	char err[128] = "", why[320] = "";

	(void)state;
	assert_int_equal(xen_cpu__host_from(cpus, 4, NULL, 0, 3072, 1024, &host, err, sizeof(err)),
	                 0);
	host.cpu[0].dom0 = 1;
	sched_config_default(&cfg);
	assert_int_equal(sched_create(&host, &cfg, &s, why, sizeof(why)), 0);
	assert_int_equal(sched_cpu_role(s, 0), SCHED_ROLE_DOM0);
	assert_int_equal(sched_cpu_role(s, 3), SCHED_ROLE_BATCH);
	sched_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(weight_to_xen),
		cmocka_unit_test(weight_from_xen),
		cmocka_unit_test(weight_round_trip),
		cmocka_unit_test(batch_decisions),
		cmocka_unit_test(pool_choice),
		cmocka_unit_test(topology_smt_numa),
		cmocka_unit_test(topology_core_ids_per_socket),
		cmocka_unit_test(topology_offline_cpus),
		cmocka_unit_test(topology_bad_node),
		cmocka_unit_test(topology_refused),
		cmocka_unit_test(topology_schedulable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
