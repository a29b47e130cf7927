/*
 * lwIP's configuration for shoal's guests: one thread, one vCPU, no OS
 * (NO_SYS=1, the raw API only), driven by the guest's own loop through
 * rt_net_poll() (shoal/net.h).  IPv4 with TCP, UDP, ICMP, ARP over
 * Ethernet and the loopback path; everything else is off.
 */
#ifndef SHOAL_LWIPOPTS_H
#define SHOAL_LWIPOPTS_H

/* ---- No OS: no threads, no semaphores, no sequential or socket API ---- */
#define NO_SYS       1
#define LWIP_TIMERS  1
#define LWIP_NETCONN 0
#define LWIP_SOCKET  0
/*
 * Event handlers run from rt_evtchn_dispatch(), never from an interrupt,
 * so nothing ever enters lwIP while it runs: no locking at all.
 */
#define SYS_LIGHTWEIGHT_PROT 0

/* ---- Memory ---- */
/*
 * Variable-size buffers (PBUF_RAM: what TCP sends, what the loopback
 * queues) share the guest's one heap, rt_malloc: a guest's memory is sized
 * once, by its spec.  The fixed-size objects come from lwIP's static pools,
 * whose counts bound what peers can make the guest hold (connections,
 * queued segments) however much heap is free.
 */
#define MEM_LIBC_MALLOC 1
#define mem_clib_malloc rt_malloc
#define mem_clib_free   rt_free
#define mem_clib_calloc rt_calloc
#define MEMP_MEM_MALLOC 0
#define MEM_ALIGNMENT   8

/*
 * A server guest (site) holds up to 64 connections at once, and closed ones
 * linger in TIME_WAIT beside them (lwIP reuses the oldest of those when
 * the pool runs out).  Segments: a few connections' full send buffers.
 * Pbufs that point at data (site sends its cached files without a copy):
 * one a segment in flight, as many as the segments.
 */
#define MEMP_NUM_PBUF           256
#define MEMP_NUM_UDP_PCB        8
#define MEMP_NUM_TCP_PCB        80
#define MEMP_NUM_TCP_PCB_LISTEN 8
#define MEMP_NUM_TCP_SEG        256
#define MEMP_NUM_ARP_QUEUE      16
/*
 * What a NIC receives is copied into these (lwip/devif.c): a window's
 * worth for one connection, and the ACKs and requests of many.
 */
#define PBUF_POOL_SIZE 48

/* ---- Protocols ---- */
#define LWIP_IPV4     1
#define LWIP_IPV6     0
#define LWIP_ARP      1
#define LWIP_ETHERNET 1
#define LWIP_ICMP     1
#define LWIP_UDP      1
#define LWIP_TCP      1
#define LWIP_RAW      0
#define LWIP_DHCP     0
#define LWIP_AUTOIP   0
#define LWIP_IGMP     0
#define LWIP_DNS      0
#define IP_REASSEMBLY 1
#define IP_FRAG       1

/*
 * ---- TCP: windows that keep a transfer from waiting on ACKs ----
 * The send buffer is nearly the whole 16-bit window a peer can offer
 * without window scaling: a 64 KiB file goes out in one flight.  Its
 * memory is the heap's, taken only while data waits for its ACK.
 */
#define TCP_MSS            1460
#define TCP_WND            (16 * TCP_MSS)
#define TCP_SND_BUF        (44 * TCP_MSS)
#define TCP_SND_QUEUELEN   (4 * TCP_SND_BUF / TCP_MSS)
#define TCP_QUEUE_OOSEQ    1
#define LWIP_TCP_KEEPALIVE 1
/* Ports and ISNs are not guessable from the boot: see rt_net__tcp_isn(). */
#define LWIP_RANDOMIZE_INITIAL_LOCAL_PORTS 1
#define LWIP_HOOK_FILENAME                 "lwip_hooks.h"
#define LWIP_HOOK_TCP_ISN                  rt_net__tcp_isn

/* ---- Network interfaces ---- */
/*
 * Packets a netif sends to its own address, and every packet of the
 * runtime's "lo" (127.0.0.1/8, lwip/loopif.c), are queued and handed in
 * again by rt_net_poll(): lwIP's own loopif is not used, so that lo is one
 * netif among others, added the way a device's is.
 */
#define LWIP_NETIF_LOOPBACK     1
#define LWIP_HAVE_LOOPIF        0
#define LWIP_LOOPBACK_MAX_PBUFS 0

/*
 * Checksums are made and checked in software: no device offloads them.
 * A netif may skip them where nothing can corrupt a packet (lo does).
 */
#define CHECKSUM_GEN_IP              1
#define CHECKSUM_GEN_UDP             1
#define CHECKSUM_GEN_TCP             1
#define CHECKSUM_GEN_ICMP            1
#define CHECKSUM_CHECK_IP            1
#define CHECKSUM_CHECK_UDP           1
#define CHECKSUM_CHECK_TCP           1
#define CHECKSUM_CHECK_ICMP          1
#define LWIP_CHECKSUM_CTRL_PER_NETIF 1
/* The sum itself is the runtime's (LWIP_CHKSUM, arch/cc.h): 64 bits at a time. */

/* ---- No statistics, no debug output; assertions stay (rt_abort) ---- */
#define LWIP_STATS         0
#define LWIP_STATS_DISPLAY 0

#endif /* SHOAL_LWIPOPTS_H */
