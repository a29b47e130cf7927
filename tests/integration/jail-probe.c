/*
 * What a tender in its jail could do, tried from the inside, for
 * test_jail.sh: run as root, it enters the namespaces of the tender PID
 * (mount, network, ipc, uts, pid) and a session of its own, becomes its
 * uid and gid with no supplementary group and no capability, sets
 * no_new_privs, and tries one thing:
 *
 *   jail-probe PID open PATH       open PATH read-only
 *   jail-probe PID kill OTHER      kill(OTHER, 0): can it see OTHER
 *   jail-probe PID signal OTHER    kill(OTHER, SIGCONT): can it signal OTHER
 *   jail-probe PID connect PATH    connect to the unix socket PATH
 *   jail-probe PID whoami          print the uid and gid it took
 *
 * It prints one line, what it tried and the kernel's answer, and exits
 * 0 when the kernel refused, 1 when it allowed, 2 when the probe itself
 * could not be set up (the jail is not what the test thinks).  Being
 * already exec'd, it needs nothing from the empty root it enters.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static int id_of(int pid, const char *key, unsigned *out)
{
	char path[64], line[256];
	size_t n = strlen(key);
	FILE *f;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (!found && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && sscanf(line + n, "%u", out) == 1)
			found = 1;
	fclose(f);
	return found ? 0 : -1;
}

/* Enter each namespace of pid's that differs from ours: all are opened before any is entered. */
static int enter(int pid)
{
	static const struct {
		const char *name;
		int type;
	} ns[] = { { "ipc", CLONE_NEWIPC },
		   { "uts", CLONE_NEWUTS },
		   { "net", CLONE_NEWNET },
		   { "pid", CLONE_NEWPID },
		   { "mnt", CLONE_NEWNS } };
	int fd[5];
	unsigned i;

	for (i = 0; i < 5; i++) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, ns[i].name);
		fd[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (fd[i] < 0) {
			fprintf(stderr, "jail-probe: %s: %s\n", path, strerror(errno));
			return -1;
		}
	}
	for (i = 0; i < 5; i++)
		if (setns(fd[i], ns[i].type) < 0) {
			fprintf(stderr, "jail-probe: setns %s of pid %d: %s\n", ns[i].name, pid,
			        strerror(errno));
			return -1;
		}
	return 0;
}

static int become(unsigned uid, unsigned gid)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	int cap;

	for (cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0) {
		fprintf(stderr, "jail-probe: cannot become %u:%u: %s\n", uid, gid, strerror(errno));
		return -1;
	}
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capset, &h, d) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		fprintf(stderr, "jail-probe: capset or no_new_privs: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static int verdict(const char *what, int r)
{
	if (r < 0) {
		printf("%s: refused: %s\n", what, strerror(errno));
		return 0;
	}
	printf("%s: allowed\n", what);
	return 1;
}

static int try(int argc, char **argv, unsigned uid, unsigned gid)
{
	const char *op = argv[2], *arg = argc > 3 ? argv[3] : "";
	char what[400];

	snprintf(what, sizeof(what), "%s %s", op, arg);
	if (!strcmp(op, "whoami")) {
		printf("uid %u gid %u\n", uid, gid);
		return 0;
	}
	if (argc != 4)
		return 2;
	if (!strcmp(op, "open")) {
		int fd = open(arg, O_RDONLY | O_CLOEXEC);

		return verdict(what, fd);
	}
	if (!strcmp(op, "kill") || !strcmp(op, "signal"))
		return verdict(what, kill(atoi(arg), !strcmp(op, "kill") ? 0 : SIGCONT));
	if (!strcmp(op, "connect")) {
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (s < 0 || strlen(arg) >= sizeof(a.sun_path))
			return verdict(what, -1);
		strcpy(a.sun_path, arg);
		return verdict(what, connect(s, (struct sockaddr *)&a, sizeof(a)));
	}
	fprintf(stderr, "jail-probe: unknown probe %s\n", op);
	return 2;
}

int main(int argc, char **argv)
{
	unsigned uid, gid;
	int pid, status;
	pid_t child;

	if (argc < 3) {
		fprintf(stderr, "usage: jail-probe PID open|kill|signal|connect|whoami [ARG]\n");
		return 2;
	}
	pid = atoi(argv[1]);
	if (id_of(pid, "Uid:", &uid) < 0 || id_of(pid, "Gid:", &gid) < 0) {
		fprintf(stderr, "jail-probe: cannot read the ids of pid %d\n", pid);
		return 2;
	}
	if (enter(pid) < 0)
		return 2;
	/* The pid namespace is a child's: the probe runs in one. */
	child = fork();
	if (child < 0)
		return 2;
	if (child == 0) {
		/* A session of its own, as the tender has: SIGCONT is anyone's within one. */
		int r = setsid() < 0 || become(uid, gid) < 0 ? 2 : try(argc, argv, uid, gid);

		fflush(stdout);
		_exit(r);
	}
	if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status))
		return 2;
	return WEXITSTATUS(status);
}
