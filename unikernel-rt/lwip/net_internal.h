/*
 * What the files of the runtime's lwIP glue share (net.c, loopif.c,
 * devif.c).  Guests never include this.
 */
#ifndef SHOAL_NET_INTERNAL_H
#define SHOAL_NET_INTERNAL_H

/* Has rt_net_init() run?  Interfaces are added only after it. */
int rt_net__started(void);

/* Hand lwIP a batch of every device's received frames (devif.c); 1 when more wait. */
int rt_net__devs_poll(void);

#endif /* SHOAL_NET_INTERNAL_H */
