/*
 * scheduler/sim: run the placement policy on a model host, period after
 * period, and print what it did: guests over their SLO, moves, moves
 * back to a CPU left lately (oscillation), the time of each plan.  The
 * same sched_admit()/sched_plan() as shoald, against the latency model
 * of sim.h; --disturb scripts what happens to the guests.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: sim [options]\n"
	           "  --cpus N            CPUs of the model host (64)\n"
	           "  --nodes N           NUMA nodes (2)\n"
	           "  --threads N         SMT threads per core (2)\n"
	           "  --dom0-cpus N       CPUs kept for Dom0, whole cores from cpu 0 (2)\n"
	           "  --guests N          guests to admit (5000)\n"
	           "  --batch-fraction F  share of batch guests (0.1)\n"
	           "  --shared N          batch guests found on latency CPUs, idle (0)\n"
	           "  --slo-us N          every latency guest's SLO (1000)\n"
	           "  --latency-use F     most CPU a latency guest uses, drawn from 0.001 (0.009)\n"
	           "  --wake-us F         each other latency vCPU on a CPU adds this to the wait, "
	           "however idle (0)\n"
	           "  --periods N         control periods to run (60)\n"
	           "  --seed N            random seed (1)\n"
	           "  --moves-max N       the scheduler's cap on moves per period (16)\n"
	           "  --disturb SPEC      hog:AT:COUNT[:USE] | surge:AT:CPUS:COUNT:USE | "
	           "spin:AT:COUNT[:USE[:PER]] | busy:AT:COUNT[:USE] | outside:AT:COUNT[:USE] | "
	           "calm:AT (repeatable)\n"
	           "  --other-untold      the scheduler is not told of work that is no guest's\n"
	           "  --fair-share        measure a crowded CPU's vCPUs by their share of it, "
	           "the rest as their wait\n"
	           "  --moves             print every move with its reason\n"
	           "  --quiet             print the summary only\n");
}

static int parse_uint(const char *opt, const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || *out > max) {
		fprintf(stderr, "sim: %s wants a whole number up to %lu, not '%s'\n", opt, max, s);
		return -1;
	}
	return 0;
}

static int parse_double(const char *opt, const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	if (errno || end == s || *end) {
		fprintf(stderr, "sim: %s wants a number, not '%s'\n", opt, s);
		return -1;
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void print_moves(const struct sched_plan *plan)
{
	size_t k;

	for (k = 0; k < plan->nmoves; k++) {
		const struct sched_move *m = &plan->moves[k];

		printf("    %-8s %-10s", sched_move_kind_str(m->kind),
		       m->guest_name[0] ? m->guest_name : "-");
		if (m->kind == SCHED_MOVE_PIN)
			printf(" vcpu %u cpu %d -> %d", m->vcpu, m->from_cpu, m->to_cpu);
		else if (m->kind == SCHED_MOVE_WEIGHT)
			printf(" weight %u", m->weight);
		else if (m->kind == SCHED_MOVE_POLICY)
			printf(" policy %s", m->policy == SCHED_POLICY_IDLE ? "idle" : "normal");
		else if (m->kind == SCHED_MOVE_CLASS)
			printf(" class %s", sched_class_str(m->cls));
		else
			printf(" cpu %d -> %s", m->from_cpu, sched_role_str(m->role));
		printf(": %s\n", m->reason);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cpus", required_argument, NULL, 'c' },
		{ "nodes", required_argument, NULL, 'n' },
		{ "threads", required_argument, NULL, 't' },
		{ "dom0-cpus", required_argument, NULL, 'D' },
		{ "guests", required_argument, NULL, 'g' },
		{ "batch-fraction", required_argument, NULL, 'b' },
		{ "shared", required_argument, NULL, 'S' },
		{ "slo-us", required_argument, NULL, 'l' },
		{ "latency-use", required_argument, NULL, 'u' },
		{ "wake-us", required_argument, NULL, 'w' },
		{ "periods", required_argument, NULL, 'p' },
		{ "seed", required_argument, NULL, 's' },
		{ "moves-max", required_argument, NULL, 'm' },
		{ "disturb", required_argument, NULL, 'd' },
		{ "fair-share", no_argument, NULL, 'F' },
		{ "other-untold", no_argument, NULL, 'O' },
		{ "moves", no_argument, NULL, 'M' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sim_params p;
	struct sched_config cfg;
	struct sim_report *r = NULL, tot;
	struct sim *sim = NULL;
	uint64_t *plan_ns = NULL;
	unsigned periods = 60, i, first_disturb = 0, settled;
	unsigned long v;
	size_t max_moves = 0, peak_over = 0;
	char why[256];
	int opt, show_moves = 0, quiet = 0, rc = 1;

	sim_params_default(&p);
	sched_config_default(&cfg);
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			if (parse_uint("--cpus", optarg, SCHED_CPUS_MAX, &v))
				return 2;
			p.cpus = (unsigned)v;
			break;
		case 'n':
			if (parse_uint("--nodes", optarg, SCHED_NODES_MAX, &v))
				return 2;
			p.nodes = (unsigned)v;
			break;
		case 't':
			if (parse_uint("--threads", optarg, 8, &v))
				return 2;
			p.threads_per_core = (unsigned)v;
			break;
		case 'D':
			if (parse_uint("--dom0-cpus", optarg, SCHED_CPUS_MAX, &v))
				return 2;
			p.dom0_cpus = (unsigned)v;
			break;
		case 'g':
			if (parse_uint("--guests", optarg, 1u << 24, &v))
				return 2;
			p.guests = (unsigned)v;
			if (p.guests > cfg.guests_max) {
				cfg.guests_max = p.guests;
				cfg.vcpus_max = 4 * (size_t)p.guests;
			}
			break;
		case 'b':
			if (parse_double("--batch-fraction", optarg, &p.batch_fraction))
				return 2;
			break;
		case 'S':
			if (parse_uint("--shared", optarg, 1u << 24, &v))
				return 2;
			p.shared = (unsigned)v;
			break;
		case 'l':
			if (parse_uint("--slo-us", optarg, 10000000, &v))
				return 2;
			p.slo_us = (uint32_t)v;
			break;
		case 'u':
			if (parse_double("--latency-use", optarg, &p.latency_use_max))
				return 2;
			break;
		case 'w':
			if (parse_double("--wake-us", optarg, &p.wake_us) || p.wake_us < 0) {
				fprintf(
				    stderr,
				    "sim: --wake-us wants a number of microseconds, 0 or more\n");
				return 2;
			}
			break;
		case 'p':
			if (parse_uint("--periods", optarg, 100000, &v))
				return 2;
			periods = (unsigned)v;
			break;
		case 's':
			if (parse_uint("--seed", optarg, ~0ul, &v))
				return 2;
			p.seed = v;
			break;
		case 'm':
			if (parse_uint("--moves-max", optarg, 4096, &v))
				return 2;
			cfg.moves_max = (unsigned)v;
			break;
		case 'd':
			if (sim_parse_disturb(&p, optarg, why, sizeof(why))) {
				fprintf(stderr, "sim: %s\n", why);
				return 2;
			}
			break;
		case 'F':
			p.fair_share = 1;
			break;
		case 'O':
			p.other_untold = 1;
			break;
		case 'M':
			show_moves = 1;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc || !periods) {
		usage(stderr);
		return 2;
	}
	if (sim_create(&p, &cfg, &sim, why, sizeof(why))) {
		fprintf(stderr, "sim: %s\n", why);
		return 2;
	}
	r = calloc(periods, sizeof(*r));
	plan_ns = calloc(periods, sizeof(*plan_ns));
	if (!r || !plan_ns) {
		fprintf(stderr, "sim: out of memory\n");
		goto out;
	}
	printf("# host: %u CPUs, %u nodes, %u threads per core, %u for Dom0; %u guests (%.0f%% "
	       "batch, %u shared), "
	       "%zu refused; seed %llu; at most %u moves a period\n",
	       p.cpus, p.nodes, p.threads_per_core, p.dom0_cpus, p.guests, 100 * p.batch_fraction,
	       p.shared, sim_refused(sim), (unsigned long long)p.seed, cfg.moves_max);
	if (!quiet)
		printf("# period over_slo over_slo_2s violating moves pins weights policies roles "
		       "classes oscillations plan_us latency_cpus batch_cpus batch_work\n");
	memset(&tot, 0, sizeof(tot));
	for (i = 0; i < periods; i++) {
		int err = sim_step(sim, &r[i]);

		if (err) {
			fprintf(stderr, "sim: period %u: sched_plan: %s (%s)\n", i + 1,
			        strerror(-err), sim_plan(sim)->error);
			goto out;
		}
		plan_ns[i] = r[i].plan_ns;
		tot.moves += r[i].moves;
		tot.pins += r[i].pins;
		tot.weights += r[i].weights;
		tot.policies += r[i].policies;
		tot.roles += r[i].roles;
		tot.classes += r[i].classes;
		tot.oscillations += r[i].oscillations;
		tot.pinned_moved += r[i].pinned_moved;
		if (r[i].moves > max_moves)
			max_moves = r[i].moves;
		if (r[i].over_slo > peak_over)
			peak_over = r[i].over_slo;
		if (!quiet)
			printf("%u %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %.1f %u %u %.1f\n",
			       r[i].period, r[i].over_slo, r[i].over_slo_2s, r[i].violating,
			       r[i].moves, r[i].pins, r[i].weights, r[i].policies, r[i].roles,
			       r[i].classes, r[i].oscillations, r[i].plan_ns / 1e3,
			       r[i].latency_cpus, r[i].batch_cpus, r[i].batch_work);
		if (show_moves)
			print_moves(sim_plan(sim));
	}
	for (i = 0; i < p.ndisturb; i++)
		if (!first_disturb || p.disturb[i].at < first_disturb)
			first_disturb = p.disturb[i].at;
	qsort(plan_ns, periods, sizeof(*plan_ns), cmp_u64);
	printf("# moves: %zu (%zu pins, %zu weights, %zu policies, %zu cpu roles, %zu classes), at "
	       "most %zu in "
	       "a period; "
	       "oscillations: %zu; pinned guests moved: %zu\n",
	       tot.moves, tot.pins, tot.weights, tot.policies, tot.roles, tot.classes, max_moves,
	       tot.oscillations, tot.pinned_moved);
	printf("# peak over SLO: %zu guests; sched_plan: median %.0f us, max %.0f us\n", peak_over,
	       plan_ns[periods / 2] / 1e3, plan_ns[periods - 1] / 1e3);
	if (first_disturb) {
		size_t tol = sim_tolerance(sim);

		settled = sim_settled_at(r, periods, first_disturb, tol);
		if (settled)
			printf("# settled: at most %zu guests (0.1 %%) over SLO from period %u on, "
			       "%u periods "
			       "after the first disturbance (period %u)\n",
			       tol, settled, settled - first_disturb, first_disturb);
		else
			printf("# settled: not within %u periods\n", periods);
		settled = sim_settled_at(r, periods, first_disturb, 0);
		if (settled)
			printf("# settled: no guest over SLO from period %u on (%u after)\n",
			       settled, settled - first_disturb);
	}

	rc = 0;
out:
	free(r);
	free(plan_ns);
	sim_destroy(sim);
	return rc;
}
