/*
 * The empty mount namespace a tender enters (--mntns-fd), and the
 * network namespace with no device up (--netns-fd): made once by
 * whoever starts tenders (shoald's kvm and proc backends, the benches
 * and tests), shared by all of them, each of which is spared making and
 * tearing down its own (a network namespace's teardown is the kernel's
 * slowest).
 */
#ifndef SHOAL_COMMON_MNTNS_H
#define SHOAL_COMMON_MNTNS_H

/*
 * Make one mount namespace whose root is an empty, read-only tmpfs: a
 * short-lived child unshares, pivots into it and waits until its nsfs
 * file is open.  Returns that descriptor (close-on-exec), which keeps the
 * namespace, or -1 with errno (EPERM when not root).  Forks: call it
 * before any child watcher could reap that child.
 */
int mntns_empty(void);

/* The same for a new network namespace: only its loopback, down. */
int netns_empty(void);

#endif /* SHOAL_COMMON_MNTNS_H */
