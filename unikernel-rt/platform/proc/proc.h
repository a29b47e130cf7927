/*
 * What the proc platform's files share: the boot page the tender wrote,
 * and the event layer's hooks for the devices (blk.c, netdev.c).
 */
#ifndef RT_PROC_H
#define RT_PROC_H

#include <shoal/abi.h>

#include "sys.h"

#define PROC_BI  ((const volatile struct shoal_boot_info *)SHOAL_PROC_BOOT_INFO)
#define PROC_FDS ((const volatile struct shoal_proc_fds *)SHOAL_PROC_FDS)

/* Device i's descriptor (a disk's file, a tap), -1 when there is none. */
int proc__dev_fd(unsigned i);
/*
 * Device i's counters (SHOAL_PROC_STAT_*) in the page the host reads, or
 * the guest's own when the tender gave none: never NULL.
 */
uint64_t *proc__dev_counters(unsigned i);
/* Make port pending, as an interrupt would (wakes rt_block when unmasked). */
void proc__raise(unsigned port);
/* Poll a NIC's tap for frames when the guest blocks: port is its doorbell. */
void proc__watch_tap(int fd, unsigned port);
/* Write the TCP data each NIC holds to join (netdev.c): before the guest looks at its events. */
void proc__netdev_flush(void);

#endif /* RT_PROC_H */
