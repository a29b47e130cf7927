/*
 * The empty mount namespace a proc tender enters (shoal-proc --mntns-fd):
 * made once by whoever starts tenders (shoald's proc backend, the
 * benches and tests), shared by all of them.
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

#endif /* SHOAL_COMMON_MNTNS_H */
