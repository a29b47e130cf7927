/*
 * Drives daemon/backend/hostdev.c for test_hostdev.sh, one operation a
 * run, its result on stdout:
 *   hostdev-check loop FILE ro|rw     attach, print "loopN ro=0|1 dev=MAJ:MIN",
 *                                     hold it until stdin ends, release it
 *   hostdev-check enslave IF BRIDGE   put IF on BRIDGE and up, print its master
 * Exit status 0, or 1 with the error on stderr.
 */
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "daemon/backend/hostdev.h"

int main(int argc, char **argv)
{
	char err[300], buf[64];
	dev_t rdev;
	int fd, nr;

	if (argc == 4 && !strcmp(argv[1], "loop")) {
		fd = hostdev_loop_attach(argv[2], !strcmp(argv[3], "ro"), &nr, &rdev, err,
		                         sizeof(err));
		if (fd < 0) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		printf("loop%d ro=%d dev=%u:%u\n", nr, hostdev_loop_readonly(nr), major(rdev),
		       minor(rdev));
		fflush(stdout);
		while (read(0, buf, sizeof(buf)) > 0)
			;
		hostdev_loop_release(fd);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "enslave")) {
		if (hostdev_enslave(argv[2], argv[3], 0, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		if (hostdev_master(argv[2], buf, sizeof(buf)) < 0) {
			fprintf(stderr, "%s is on no bridge after all\n", argv[2]);
			return 1;
		}
		printf("%s\n", buf);
		return 0;
	}
	fprintf(stderr, "usage: hostdev-check loop FILE ro|rw | enslave IF BRIDGE\n");
	return 2;
}
