/*
 * Unit tests of the scheduler's state: a host or a configuration that
 * makes no sense is refused with a sentence, and the first split of the
 * CPUs gives whole SMT cores to a set, keeps Dom0's, and shares the
 * latency set out over the NUMA nodes.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sched_testlib.h"

static int create(const struct sched_host *h, const struct sched_config *c, char *why, size_t len)
{
	struct sched *s = NULL;
	int rc = sched_create(h, c, &s, why, len);

	sched_destroy(s);
	return rc;
}

static void bad_hosts_are_refused(void **state)
{
	static const struct {
		int what;
		const char *says;
	} cases[] = {
		{ 0, "ncpus is 0" },
		{ 1, "nnodes is 0" },
		{ 2, "cpu 3 is on node 4; the host has 1 nodes" },
		{ 3, "cpu 2 has core id 5000" },
		{ 4, "every CPU is kept for Dom0" },
		{ 5, "node 0 keeps 9000 MiB for Dom0 but has 8192 MiB" },
		{ 6, "cpu 5 is on node 1 but shares core 1 with a CPU on node 0" },
		{ 7, "ncpus is 2000" },
	};
	struct sched_config cfg;
	struct sched_host h;
	char why[200];
	size_t i;
	unsigned c;

	(void)state;
	sched_config_default(&cfg);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sched_host_init(&h, 8, 8192);
		switch (cases[i].what) {
		case 0:
			h.ncpus = 0;
			break;
		case 1:
			h.nnodes = 0;
			break;
		case 2:
			h.cpu[3].node = 4;
			break;
		case 3:
			h.cpu[2].core = 5000;
			break;
		case 4:
			for (c = 0; c < 8; c++)
				h.cpu[c].dom0 = 1;
			break;
		case 5:
			h.dom0_memory_mib[0] = 9000;
			break;
		case 6:
			h.nnodes = 2;
			h.cpu[5].core = 1;
			h.cpu[5].node = 1;
			break;
		case 7:
			h.ncpus = 2000;
			break;
		}
		why[0] = 0;
		assert_int_equal(create(&h, &cfg, why, sizeof(why)), -EINVAL);
		assert_reason(why, cases[i].says);
	}
}

static void bad_configs_are_refused(void **state)
{
	static const struct {
		int what;
		const char *says;
	} cases[] = {
		{ 0, "moves_max" },
		{ 1, "weight_low below weight_default" },
		{ 2, "exit_margin" },
		{ 3, "latency_share" },
		{ 4, "guests_max is 0" },
		{ 5, "vcpus_max" },
		{ 6, "enter_periods" },
		{ 7, "vCPUs per CPU" },
		{ 8, "relief" },
		{ 9, "restore_use below both" },
		{ 10, "demote_busy_use 0 to demote_use" },
		{ 11, "restore_use below both" },
	};
	struct sched_config cfg;
	struct sched_host h;
	char why[200];
	size_t i;

	(void)state;
	sched_host_init(&h, 8, 8192);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sched_config_default(&cfg);
		switch (cases[i].what) {
		case 0:
			cfg.moves_max = 0;
			break;
		case 1:
			cfg.weight_low = cfg.weight_default;
			break;
		case 2:
			cfg.exit_margin = 1.0;
			break;
		case 3:
			cfg.latency_share = NAN;
			break;
		case 4:
			cfg.guests_max = 0;
			break;
		case 5:
			cfg.vcpus_max = cfg.guests_max - 1;
			break;
		case 6:
			cfg.enter_periods = 0;
			break;
		case 7:
			cfg.latency_vcpus_per_cpu = 0;
			break;
		case 8:
			cfg.relief = 0;
			break;
		case 9:
			cfg.restore_use = cfg.demote_use;
			break;
		case 10:
			cfg.demote_busy_use = cfg.demote_use + 0.1;
			break;
		case 11:
			cfg.demote_busy = cfg.restore_use;
			break;
		}
		why[0] = 0;
		assert_int_equal(create(&h, &cfg, why, sizeof(why)), -EINVAL);
		assert_reason(why, "config: ");
		assert_reason(why, cases[i].says);
	}
	assert_int_equal(sched_create(NULL, &cfg, NULL, NULL, 0), -EINVAL);
}

static void split_gives_whole_cores_over_the_nodes(void **state)
{
	struct world *w = world_new(64, 2, 2, 2, 1 << 18);
	unsigned c, lat_on[2] = { 0, 0 }, bat_on[2] = { 0, 0 };

	(void)state;
	world_start(w);
	for (c = 0; c < 64; c++) {
		enum sched_role r = sched_cpu_role(w->s, c);

		assert_int_equal(r, sched_cpu_role(w->s, (unsigned)sibling_of(w, (int)c)));
		assert_int_equal(r == SCHED_ROLE_DOM0, w->host.cpu[c].dom0 != 0);
		if (r == SCHED_ROLE_LATENCY)
			lat_on[w->host.cpu[c].node]++;
		if (r == SCHED_ROLE_BATCH)
			bat_on[w->host.cpu[c].node]++;
	}
	/* 31 guest cores, 23 of them latency: 11 on node 0 (15 cores), 12 on node 1 (16). */
	assert_int_equal(lat_on[0], 22);
	assert_int_equal(lat_on[1], 24);
	assert_int_equal(bat_on[0], 8);
	assert_int_equal(bat_on[1], 8);
	assert_int_equal(sched_cpu_role(w->s, 0), SCHED_ROLE_DOM0);
	assert_int_equal(sched_cpu_role(w->s, 32), SCHED_ROLE_DOM0);
	assert_int_equal(sched_cpu_role(w->s, 64), SCHED_ROLE_DOM0);
	assert_int_equal(sched_cpu_role(NULL, 1), SCHED_ROLE_DOM0);
	assert_int_equal(sched_periods(w->s), 0);
	world_free(w);
}

static void split_keeps_each_set_its_minimum(void **state)
{
	struct sched_config cfg;
	struct sched_host h;
	struct sched *s;
	unsigned c, lat = 0;

	(void)state;
	sched_host_init(&h, 4, 4096);
	sched_config_default(&cfg);
	cfg.latency_share = 1.0;
	assert_int_equal(sched_create(&h, &cfg, &s, NULL, 0), 0);
	for (c = 0; c < 4; c++)
		lat += sched_cpu_role(s, c) == SCHED_ROLE_LATENCY;
	assert_int_equal(lat, 3); /* one core stays batch */
	sched_destroy(s);
	cfg.latency_share = 0.0;
	assert_int_equal(sched_create(&h, &cfg, &s, NULL, 0), 0);
	assert_int_equal(sched_cpu_role(s, 0), SCHED_ROLE_LATENCY);
	assert_int_equal(sched_cpu_role(s, 1), SCHED_ROLE_BATCH);
	sched_destroy(s);
}

static void names_of_things(void **state)
{
	(void)state;
	assert_string_equal(sched_move_kind_str(SCHED_MOVE_PIN), "pin");
	assert_string_equal(sched_move_kind_str(SCHED_MOVE_WEIGHT), "weight");
	assert_string_equal(sched_move_kind_str(SCHED_MOVE_POLICY), "policy");
	assert_string_equal(sched_move_kind_str(SCHED_MOVE_CPU_ROLE), "cpu-role");
	assert_string_equal(sched_move_kind_str(SCHED_MOVE_CLASS), "class");
	assert_string_equal(sched_role_str(SCHED_ROLE_BATCH), "batch");
	assert_string_equal(sched_class_str(SCHED_CLASS_LATENCY), "latency");
	assert_string_equal(sched_class_str((enum sched_class)9), "unknown");
}

static void cpusets(void **state)
{
	struct sched_cpuset set;

	(void)state;
	sched_cpuset_zero(&set);
	assert_int_equal(sched_cpuset_count(&set), 0);
	sched_cpuset_add(&set, 0);
	sched_cpuset_add(&set, 63);
	sched_cpuset_add(&set, 64);
	sched_cpuset_add(&set, SCHED_CPUS_MAX - 1);
	sched_cpuset_add(&set, SCHED_CPUS_MAX); /* ignored */
	assert_int_equal(sched_cpuset_count(&set), 4);
	assert_true(sched_cpuset_has(&set, 64));
	assert_false(sched_cpuset_has(&set, 65));
	assert_false(sched_cpuset_has(&set, SCHED_CPUS_MAX));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bad_hosts_are_refused),
		cmocka_unit_test(bad_configs_are_refused),
		cmocka_unit_test(split_gives_whole_cores_over_the_nodes),
		cmocka_unit_test(split_keeps_each_set_its_minimum),
		cmocka_unit_test(names_of_things),
		cmocka_unit_test(cpusets),
	};

	return cmocka_run_group_tests_name("sched_state", tests, NULL, NULL);
}
