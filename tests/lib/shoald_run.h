/*
 * Start and stop a real shoald for a test: its own state and run
 * directories under /tmp, the tender and guests from the build tree, its
 * log kept in the state directory (and shown when a test fails).
 */
#ifndef SHOAL_TEST_SHOALD_RUN_H
#define SHOAL_TEST_SHOALD_RUN_H

#include <sys/types.h>

struct shoald_run {
	char dir[256]; /* /tmp/shoal-test-XXXXXX */
	char sock[300];
	char log[300];
	char builddir[400];
	pid_t pid;
};

/* Make the directories and start shoald with extra "--opt=value" args (NULL-terminated). */
int shoald_start(struct shoald_run *s, const char *const *extra);
/* Start again on the same directories. */
int shoald_restart(struct shoald_run *s, const char *const *extra);
/* Send sig and wait for the daemon (not its guests) to be gone. */
int shoald_kill(struct shoald_run *s, int sig);
/* Stop shoald, kill every tender it left, remove the directories. */
void shoald_cleanup(struct shoald_run *s);
/* Path of an example guest image in the build tree. */
const char *shoald_guest_image(const struct shoald_run *s, const char *name);
/* Print the daemon's log as TAP diagnostics. */
void shoald_dump_log(const struct shoald_run *s);

#endif
