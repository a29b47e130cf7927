/*
 * <string.h> for code built against the runtime alone (lwIP and what
 * includes its headers): the string functions are the runtime's, declared
 * in shoal/rt.h.
 */
#ifndef SHOAL_LIBC_STRING_H
#define SHOAL_LIBC_STRING_H

#include <shoal/rt.h>

#endif /* SHOAL_LIBC_STRING_H */
