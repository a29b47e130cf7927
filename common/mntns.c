/*
 * The empty mount and network namespaces tenders enter (mntns.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/mntns.h"

/* The new root: an empty tmpfs, read-only once the old root is gone.  0 or errno. */
static int empty_root(void)
{
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("shoal-empty", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	          "size=4k,nr_inodes=2,mode=0555") < 0 ||
	    chdir("/tmp") < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
	    umount2(".", MNT_DETACH) < 0 ||
	    mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
	          NULL) < 0)
		return errno;
	return 0;
}

/* A new network namespace has only its loopback, and it is down. */
static int empty_net(void)
{
	return unshare(CLONE_NEWNET) < 0 ? errno : 0;
}

/* A short-lived child makes the namespace with make; ours is its nsfs file ns. */
static int ns_of_child(int (*make)(void), const char *ns)
{
	char path[64];
	int p[2] = { -1, -1 }, go[2] = { -1, -1 }, fd = -1, err = 0, c = 0;
	pid_t pid = -1;

	if (pipe2(p, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0) {
		err = errno;
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		err = errno;
		goto out;
	}
	if (pid == 0) {
		close(p[0]);
		close(go[1]);
		c = make();
		(void)!write(p[1], &c, sizeof(c));
		/* Held until the parent has the namespace open (its end of go closes). */
		if (!c)
			(void)!read(go[0], &c, 1);
		_exit(c ? 1 : 0);
	}
	close(p[1]);
	close(go[0]);
	p[1] = go[0] = -1;
	if (read(p[0], &c, sizeof(c)) != sizeof(c)) {
		err = ECHILD;
	} else if (c) {
		err = c;
	} else {
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			err = errno;
	}
out:
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	if (go[0] >= 0)
		close(go[0]);
	if (go[1] >= 0)
		close(go[1]);
	while (pid > 0 && waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	errno = err;
	return fd;
}

int mntns_empty(void)
{
	return ns_of_child(empty_root, "mnt");
}

int netns_empty(void)
{
	return ns_of_child(empty_net, "net");
}
