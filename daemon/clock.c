/*
 * The daemon's two clocks (daemon.h), in the library rather than in
 * main.c, so that whatever links the daemon's pieces without its main
 * (the fuzz harnesses) has them as shoald has them.
 */
#include <stdint.h>
#include <time.h>

#include "daemon/daemon.h"

uint64_t now_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t now_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
