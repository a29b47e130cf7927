/*
 * The jail both tenders put themselves in when shoald starts them, in
 * the manner of Firecracker's jailer: what the tender sees (an empty
 * root and an empty network, given by shoald; ipc and uts of its own),
 * who it is (a uid and gid of its own from shoald's tender-uid-range, no
 * capability in any set, no new privileges) and what it may use
 * (rlimits).  Everything it needs it holds as a descriptor before it
 * enters: /dev/kvm, the control socket, the image, disks and taps.
 */
#ifndef VMM_JAIL_H
#define VMM_JAIL_H

#include <stddef.h>
#include <stdint.h>

struct vmm_jail {
	uint32_t uid, gid; /* 0: stay who the tender was started as */
	int mntns_fd;      /* the mount namespace to enter (its root empty), or -1 */
	int netns_fd;      /* the network namespace to enter (no device up), or -1 */
};

/*
 * Enter j's mount and network namespaces and new ipc and uts ones.  Call
 * while the process has one thread: a namespace is a thread's, so
 * threads made before would stay outside.  Needs CAP_SYS_ADMIN; 0, or -1
 * with err naming the step the kernel refused.
 */
int vmm_jail_namespaces(const struct vmm_jail *j, char *err, size_t errlen);

/*
 * Become j's uid and gid with no supplementary group (when j->uid is
 * set), then empty the bounding, ambient, inheritable, permitted and
 * effective capability sets and set no_new_privs.  Call with one thread,
 * after vmm_jail_namespaces; 0, or -1 with err.
 */
int vmm_jail_drop(const struct vmm_jail *j, char *err, size_t errlen);

/*
 * The rlimits of a tender that has made its threads: address space and
 * data to as_bytes, descriptors to the highest open one plus more_fds
 * (those it will still receive), tasks under its uid (its uid is its
 * own: the threads it has and those the kernel makes for it) to tasks,
 * no core file, no locked memory.  0, or -1 with err.
 */
int vmm_jail_limits(uint64_t as_bytes, unsigned more_fds, unsigned tasks, char *err, size_t errlen);

#endif /* VMM_JAIL_H */
