/*
 * <stdlib.h> for code built against the runtime alone (lwIP and what
 * includes its headers): atoi() is the runtime's, declared in shoal/rt.h;
 * there is no malloc() by that name (lwipopts.h maps lwIP's to rt_malloc).
 */
#ifndef SHOAL_LIBC_STDLIB_H
#define SHOAL_LIBC_STDLIB_H

#include <shoal/rt.h>

#endif /* SHOAL_LIBC_STDLIB_H */
