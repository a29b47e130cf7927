/*
 * The hooks lwIP calls into the runtime (lwipopts.h names this file as
 * LWIP_HOOK_FILENAME; lwIP includes it after its own headers).
 */
#ifndef SHOAL_LWIP_HOOKS_H
#define SHOAL_LWIP_HOOKS_H

#include "lwip/ip_addr.h"

/*
 * A TCP connection's initial sequence number, as RFC 6528 makes it: a
 * clock that ticks every 4 us plus a keyed hash of the connection's
 * addresses and ports, the key drawn at rt_net_init().
 */
u32_t rt_net__tcp_isn(const ip_addr_t *local_ip, u16_t local_port, const ip_addr_t *remote_ip,
                      u16_t remote_port);

#endif /* SHOAL_LWIP_HOOKS_H */
