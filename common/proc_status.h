/*
 * One field of a process's /proc/PID/status, read where the kernel
 * offers no call for it: a tender's uid (shoald's kvm backend) and a
 * caller's supplementary groups (the API, for kernels without
 * SO_PEERGROUPS).
 */
#ifndef SHOAL_COMMON_PROC_STATUS_H
#define SHOAL_COMMON_PROC_STATUS_H

#include <stddef.h>
#include <sys/types.h>

/*
 * buf = what follows name ("Uid:", "Groups:", with its colon) on the
 * first line of pid's status that starts with it, the line's end
 * included, cut to len.  Returns 0, or -1 when the file cannot be read
 * (the process is gone) or has no such line.  Lines are read up to 4 KiB.
 */
int proc_status_field(pid_t pid, const char *name, char *buf, size_t len);

#endif /* SHOAL_COMMON_PROC_STATUS_H */
