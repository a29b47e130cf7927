/*
 * What the files of the runtime's lwIP glue share (net.c, loopif.c, a
 * device's netif later).  Guests never include this.
 */
#ifndef SHOAL_NET_INTERNAL_H
#define SHOAL_NET_INTERNAL_H

/* Has rt_net_init() run?  Interfaces are added only after it. */
int rt_net__started(void);

#endif /* SHOAL_NET_INTERNAL_H */
