/*
 * shoal-proc, the process tender: runs one guest built for the proc
 * platform as this very process (as Solo5's spt does).  It loads the
 * image at its linked addresses in its own address space, writes the boot
 * page, jails itself and jumps to the guest; from the first guest
 * instruction on, the process is the guest, under a syscall filter that
 * allows only what the proc runtime calls.  See abi.h's end for the
 * platform's contract.
 *
 * Why a program of its own rather than a mode of shoal-vmm: the process
 * becomes the guest, so everything the tender links and maps stays in
 * the guest's address space; shoal-vmm's KVM code, threads and control
 * thread would be dead weight there (and a cold start pays for every
 * page of it).  It lives beside shoal-vmm because it shares the tender's
 * pieces: the image check, the fault descriptions and exit statuses.
 */
#ifndef SHOAL_VMM_PROC_H
#define SHOAL_VMM_PROC_H

#include <stddef.h>
#include <stdint.h>

#include <shoal/abi.h>

#include "common/guest_exit.h"
#include "common/image.h"

#define PROC_PORTS_MAX 8
#define PROC_DISKS_MAX 8
#define PROC_NICS_MAX  4

/* Everything the guest is given, gathered from the command line. */
struct proc_guest {
	uint64_t mem_bytes;
	char name[SHOAL_NAME_MAX];
	unsigned nports;
	struct shoal_proc_port ports[PROC_PORTS_MAX];
	unsigned ndevs; /* disks first, then NICs, as the device table */
	unsigned ndisks, nnics;
	struct shoal_device dev[SHOAL_DEVICES_MAX];
	int dev_fd[SHOAL_DEVICES_MAX];
	uint64_t max_disk_bytes; /* of the writable disks: the file size limit */
	int stats_fd;            /* the device counters' page (proc_stats_open), or -1 */
};

/*
 * The jail's settings; uid and gid apply when the tender runs as root
 * (a daemon gives each tender its own).
 */
struct proc_jail {
	uint32_t uid, gid;
	int seccomp; /* 0: no filter (debugging only) */
	/*
	 * 0: neither the jail nor the filter, only the handlers and the
	 * descriptors closed (--no-jail: for valgrind, which needs its own
	 * mappings, limits and files under the guest; profiling only).
	 */
	int jail;
	int verbose; /* say which steps were skipped and why */
	const char *guest_name;
	/*
	 * A mount namespace to enter (a descriptor of its nsfs file), its root
	 * an empty file system, instead of making one: a daemon makes it once
	 * for all its guests, which spares each the namespace's creation and
	 * teardown.  -1: make one.
	 */
	int mntns_fd;
	/* A network namespace to enter, with no device up (the daemon's, as above); -1: none. */
	int netns_fd;
	int entered; /* proc_jail_early has entered the namespaces and dropped the ids */
};

/*
 * Load a checked image (image_check for SHOAL_PLATFORM_PROC) into this
 * process at its linked addresses, guest memory [SHOAL_GPA_IMAGE_MIN,
 * mem_bytes) around it, and write the boot page and arguments for g.
 * Segments get their own protection (text R+X, read-only data R, data
 * R+W), the boot page is read-only; the counters' page, if g has one,
 * is the guest's to write.  Returns 0, or -1 with err set and
 * *status the GUEST_EXIT_* to end with.
 */
int proc_load(const struct proc_guest *g, const uint8_t *img, uint64_t len, int argc,
              char *const argv[], uint64_t *entry, int *status, char *err, size_t errlen);

/*
 * Make the device counters' page (common/vmm_proto.h's struct vmm_stats,
 * a memfd of VMM_STATS_BYTES sealed against growing and shrinking) into
 * g->stats_fd: proc_load maps it for the guest at SHOAL_PROC_STATS and
 * fills in the devices, the daemon is sent it with STARTED.  0, or -1
 * with err set.
 */
int proc_stats_open(struct proc_guest *g, char *err, size_t errlen);

/*
 * A warm tender a daemon starts as root with its mount namespace
 * (j->mntns_fd): its namespaces (the mount and network ones given, ipc
 * and uts of its own) and its ids (j's uid and gid, no capability in any
 * set, no_new_privs), at once, before READY, while it waits for its
 * guest; what it is handed later comes as descriptors.  Anything else
 * (a cold start, no root, no namespace given) is left to proc_enter.
 * 0, or -1 with err.
 */
int proc_jail_early(struct proc_jail *j, char *err, size_t errlen);

/*
 * Drop everything the guest must not have and enter it: an empty mount
 * namespace (j->mntns_fd's, or a new one where allowed), rlimits, the unprivileged uid and gid, no
 * capabilities, every descriptor but the guest's closed, the fault and
 * SIGSYS reports, the filter; then the guest's first instruction.
 * With j->jail 0, only the descriptors and the reports.
 * Returns only on failure, -1 with err set (GUEST_EXIT_SETUP).
 */
int proc_enter(const struct proc_guest *g, const struct proc_jail *j, uint64_t entry, char *err,
               size_t errlen);

#endif /* SHOAL_VMM_PROC_H */
