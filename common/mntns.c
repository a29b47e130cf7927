/*
 * An empty mount namespace for proc tenders (mntns.h).
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

int mntns_empty(void)
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
		/* The new root: an empty tmpfs, read-only once the old root is gone. */
		close(p[0]);
		close(go[1]);
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount("shoal-empty", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		          "size=4k,nr_inodes=2,mode=0555") < 0 ||
		    chdir("/tmp") < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
		    umount2(".", MNT_DETACH) < 0 ||
		    mount(NULL, "/", NULL,
		          MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
			c = errno;
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
		snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
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
