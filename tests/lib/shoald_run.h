/*
 * Start and stop a real shoald for a test: its own state and run
 * directories under /tmp, the tender and guests from the build tree, its
 * log kept in the state directory (and shown when a test fails).  The
 * platform is the test matrix's column, SHOAL_TEST_PLATFORM (kvm, the
 * default, or proc): it picks shoald's backend and the guests' images.
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

/* The platform this test runs on: "kvm" or "proc"; NULL when SHOAL_TEST_PLATFORM names another. */
const char *shoald_platform(void);
/* 1 when the platform is proc (guests as processes, shoald --backend=proc). */
int shoald_on_proc(void);
/* 1 when /dev/kvm is usable and SHOAL_TEST_NO_KVM (set, not "0") does not say to act as if not. */
int shoald_have_kvm(void);
/*
 * Why this machine cannot run the platform, for a SKIP, or NULL when it
 * can.  kvm needs a usable /dev/kvm (SHOAL_TEST_NO_KVM=1 makes it act as
 * if there were none); proc needs shoal-proc and the proc guests built.
 */
const char *shoald_platform_missing(void);
/* Make the directories and start shoald with extra "--opt=value" args (NULL-terminated). */
int shoald_start(struct shoald_run *s, const char *const *extra);
/* Start again on the same directories. */
int shoald_restart(struct shoald_run *s, const char *const *extra);
/* Send sig and wait for the daemon (not its guests) to be gone. */
int shoald_kill(struct shoald_run *s, int sig);
/* Stop shoald, kill every tender it left, remove the directories. */
void shoald_cleanup(struct shoald_run *s);
/* Path of an example guest image in the build tree, built for the platform (NAME.kvm, NAME.proc).
 */
const char *shoald_guest_image(const struct shoald_run *s, const char *name);
/* Print the daemon's log as TAP diagnostics. */
void shoald_dump_log(const struct shoald_run *s);

#endif
