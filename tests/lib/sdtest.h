/*
 * The frame of a TAP test against a real shoald: name the platform (the
 * matrix's column), skip where the machine cannot run it, start shoald (a
 * failed start is one failed test and the end), point the API short-hands
 * at it; at the end show its log if anything failed and clean up every
 * process and file it left.
 */
#ifndef SHOAL_TEST_SDTEST_H
#define SHOAL_TEST_SDTEST_H

#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "tests/lib/sdapi.h"
#include "tests/lib/shoald_run.h"
#include "tests/lib/tap.h"

/*
 * Say which column of the matrix this run is (a TAP comment, so that a
 * failure names its platform) and skip it, with the reason, where the
 * machine cannot run it.  A platform the libraries do not know is an error.
 */
static inline void sdtest_platform(void)
{
	const char *why = shoald_platform_missing();

	if (!shoald_platform()) {
		printf("Bail out! %s\n", why);
		exit(1);
	}
	tap_diag("platform: %s", shoald_platform());
	if (why)
		tap_skip_all(why);
}

/* A check that holds on KVM only, skipped on proc with the reason. */
static inline void sdtest_skip_on_proc(const char *what, const char *why)
{
	char reason[512];

	snprintf(reason, sizeof(reason), "not on proc: %s", why);
	tap_skip(what, reason);
}

static inline void sdtest_begin(struct shoald_run *sd, const char *const *extra)
{
	sdtest_platform();
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
