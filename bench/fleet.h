/*
 * The benches that run a fleet through shoald: the fleet's probe latency
 * as GET /v1/guests reports it (each guest's 10 s window), summed up over
 * the guests.
 */
#ifndef SHOAL_BENCH_FLEET_H
#define SHOAL_BENCH_FLEET_H

struct fleet_latency {
	int guests;       /* with latency figures */
	double p50_med;   /* the median guest's p50, in us */
	double p99_med;   /* the median guest's p99 */
	double p99_worst; /* the worst guest's p99 */
	long misses;
	int over_slo; /* guests whose p99 is over slo_us */
};

/* Guests whose names start with prefix ("": all); 0, or -1 (out zeroed) when shoald did not answer.
 */
int fleet_latency(const char *sock, const char *prefix, unsigned slo_us, struct fleet_latency *out);

#endif
