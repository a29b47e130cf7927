/*
 * Xen's shared-ring macros (xen/io/ring.h, from libxen-dev) in a shoal
 * guest.  Include this before <xen/io/blkif.h> or <xen/io/netif.h>: from
 * interface 0x00030208 on the macros take their barriers from the
 * includer, and Xen 4.14's interface is declared.  One vCPU on x86: the
 * read and write barriers order the compiler; the full barrier is a locked
 * instruction (an emulated ring 0 may not run mfence).
 */
#ifndef SHOAL_XEN_RING_H
#define SHOAL_XEN_RING_H

#include <stddef.h>
#include <stdint.h>

#define __XEN_INTERFACE_VERSION__ 0x00040e00
#define xen_mb()                  __asm__ volatile("lock; addl $0, 0(%%rsp)" ::: "memory", "cc")
#define xen_rmb()                 __asm__ volatile("" ::: "memory")
#define xen_wmb()                 __asm__ volatile("" ::: "memory")

#endif /* SHOAL_XEN_RING_H */
