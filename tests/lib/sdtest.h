/*
 * The frame of a TAP test against a real shoald: skip where /dev/kvm is
 * missing, start shoald (a failed start is one failed test and the end),
 * point the API short-hands at it; at the end show its log if anything
 * failed and clean up every process and file it left.
 */
#ifndef SHOAL_TEST_SDTEST_H
#define SHOAL_TEST_SDTEST_H

#include <signal.h>
#include <unistd.h>

#include "tests/lib/sdapi.h"
#include "tests/lib/shoald_run.h"
#include "tests/lib/tap.h"

static inline void sdtest_begin(struct shoald_run *sd, const char *const *extra)
{
	if (access("/dev/kvm", R_OK | W_OK) != 0)
		tap_skip_all("/dev/kvm is not available");
	signal(SIGPIPE, SIG_IGN);
	if (shoald_start(sd, extra) < 0) {
		tap_ok(0, "shoald starts");
		shoald_dump_log(sd);
		shoald_cleanup(sd);
		exit(tap_done());
	}
	tap_ok(1, "shoald starts and answers on its socket");
	sdapi_use(sd->sock);
}

static inline int sdtest_end(struct shoald_run *sd)
{
	if (tap_failed)
		shoald_dump_log(sd);
	shoald_cleanup(sd);
	return tap_done();
}

#endif
