/*
 * See shoald_run.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/httpc.h"
#include "tests/lib/shoald_run.h"

const char *shoald_platform(void)
{
	const char *p = getenv("SHOAL_TEST_PLATFORM");

	if (!p || !*p || !strcmp(p, "kvm"))
		return "kvm";
	if (!strcmp(p, "proc"))
		return "proc";
	return NULL;
}

int shoald_on_proc(void)
{
	const char *p = shoald_platform();

	return p && !strcmp(p, "proc");
}

int shoald_have_kvm(void)
{
	const char *no_kvm = getenv("SHOAL_TEST_NO_KVM");

	if (no_kvm && *no_kvm && strcmp(no_kvm, "0"))
		return 0;
	return access("/dev/kvm", R_OK | W_OK) == 0;
}

const char *shoald_platform_missing(void)
{
	static char why[600];
	const char *b = getenv("top_builddir");
	char path[500];

	if (!shoald_platform()) {
		snprintf(why, sizeof(why), "SHOAL_TEST_PLATFORM=%s is neither kvm nor proc",
		         getenv("SHOAL_TEST_PLATFORM"));
		return why;
	}
	if (!shoald_on_proc()) {
		if (!shoald_have_kvm())
			return "no /dev/kvm: the kvm column is skipped; the proc column runs";
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/vmm/shoal-proc", b ? b : ".");
	if (access(path, X_OK) != 0) {
		snprintf(why, sizeof(why), "the proc column needs %s, which was not built", path);
		return why;
	}
	snprintf(path, sizeof(path), "%s/unikernel-rt/examples/idle.proc", b ? b : ".");
	if (access(path, R_OK) != 0)
		return "the proc column needs the proc guests, which were not built";
	return NULL;
}

static int launch(struct shoald_run *s, const char *const *extra)
{
	char state[320], run[320], vmm[600], shoald[600], tender[600], uids[64];
	const char *argv[32];
	int n = 0, i, fd;
	unsigned long first = 1879048192ul + (unsigned long)(getpid() % 64) * 1024;

	snprintf(state, sizeof(state), "--state-dir=%s/state", s->dir);
	snprintf(run, sizeof(run), "--run-dir=%s/run", s->dir);
	snprintf(vmm, sizeof(vmm), "--vmm=%s/vmm/shoal-vmm", s->builddir);
	snprintf(shoald, sizeof(shoald), "%s/daemon/shoald", s->builddir);
	argv[n++] = shoald;
	argv[n++] = "--config=/dev/null";
	argv[n++] = state;
	argv[n++] = run;
	argv[n++] = vmm;
	argv[n++] = "--log-level=debug";
	/*
	 * A slice of the default tender uids of this test's own (by its pid):
	 * tests run side by side, and two shoalds on one range may pick the
	 * same uid.  An extra option may say otherwise.
	 */
	snprintf(uids, sizeof(uids), "--tender-uid-range=%lu-%lu", first, first + 1023);
	argv[n++] = uids;
	if (shoald_on_proc()) {
		snprintf(tender, sizeof(tender), "--proc-tender=%s/vmm/shoal-proc", s->builddir);
		argv[n++] = "--backend=proc";
		argv[n++] = tender;
	}
	for (i = 0; extra && extra[i] && n < 30; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	s->pid = fork();
	if (s->pid < 0)
		return -1;
	if (s->pid == 0) {
		fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(shoald, (char *const *)argv);
		_exit(127);
	}
	return http_wait_ready(s->sock, 10000);
}

int shoald_start(struct shoald_run *s, const char *const *extra)
{
	const char *b = getenv("top_builddir");

	memset(s, 0, sizeof(*s));
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	char real[PATH_MAX];

	if (!realpath(b ? b : ".", real) || strlen(real) >= sizeof(s->builddir))
		return -1;
	memcpy(s->builddir, real, strlen(real) + 1);
	snprintf(s->dir, sizeof(s->dir), "/tmp/shoal-test-XXXXXX");
	if (!mkdtemp(s->dir))
		return -1;
	snprintf(s->sock, sizeof(s->sock), "%s/run/shoald.sock", s->dir);
	snprintf(s->log, sizeof(s->log), "%s/shoald.log", s->dir);
	return launch(s, extra);
}

int shoald_restart(struct shoald_run *s, const char *const *extra)
{
	return launch(s, extra);
}

int shoald_kill(struct shoald_run *s, int sig)
{
	int st;

	if (s->pid <= 0)
		return -1;
	kill(s->pid, sig);
	while (waitpid(s->pid, &st, 0) < 0 && errno == EINTR)
		;
	s->pid = 0;
	return 0;
}

/*
 * Tenders outlive shoald by design.  The test is their subreaper (see
 * shoald_start), so once shoald is gone they are our children: end them.
 */
static void kill_children(void)
{
	struct dirent *de;
	DIR *proc = opendir("/proc");
	pid_t me = getpid();

	while (proc && (de = readdir(proc))) {
		char path[300], buf[512], *close_paren;
		int ppid;
		FILE *f;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f) && (close_paren = strrchr(buf, ')')) &&
		    sscanf(close_paren + 2, "%*c %d", &ppid) == 1 && ppid == me)
			kill(atoi(de->d_name), SIGKILL);
		fclose(f);
	}
	if (proc)
		closedir(proc);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

void shoald_cleanup(struct shoald_run *s)
{
	char cmd[700];
	int i;

	if (s->pid > 0)
		shoald_kill(s, SIGKILL);
	for (i = 0; i < 3; i++) {
		kill_children();
		usleep(50000);
	}
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
	(void)!system(cmd);
}

const char *shoald_guest_image(const struct shoald_run *s, const char *name)
{
	static char path[4][700];
	static int i;

	i = (i + 1) % 4;
	snprintf(path[i], sizeof(path[i]), "%s/unikernel-rt/examples/%s.%s", s->builddir, name,
	         shoald_on_proc() ? "proc" : "kvm");
	return path[i];
}

void shoald_dump_log(const struct shoald_run *s)
{
	char line[1024];
	FILE *f = fopen(s->log, "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		printf("# shoald: %s", line);
	fclose(f);
}
