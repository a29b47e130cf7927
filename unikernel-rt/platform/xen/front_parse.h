/*
 * The xenstore values the device front-ends read (front.c), parsed and
 * checked: pure functions of a NUL-terminated string, so that the host's
 * unit tests build them too (tests/unit/test_rt_xen_front.c).  Each
 * returns 0, or -1 for a value it refuses (outputs then unspecified).
 */
#ifndef RT_XEN_FRONT_PARSE_H
#define RT_XEN_FRONT_PARSE_H

#include <stdint.h>

/* A decimal number of at most max: digits only, no sign, no blanks. */
int xen__parse_u64(const char *s, uint64_t max, uint64_t *out);
/* "A.B.C.D" (each 0-255, at most three digits) into a, network order. */
int xen__parse_ipv4(const char *s, uint8_t a[4]);
/* "A.B.C.D/P", P 1-32. */
int xen__parse_ipv4_prefix(const char *s, uint8_t a[4], uint8_t *prefix);
/* "aa:bb:cc:dd:ee:ff" (either case), a unicast address. */
int xen__parse_mac(const char *s, uint8_t mac[6]);
/* An absolute xenstore path: '/' then letters, digits and "/-_.". */
int xen__parse_path(const char *s);
/* A device's name: 1 or more printable ASCII bytes, no spaces. */
int xen__parse_name(const char *s);

#endif /* RT_XEN_FRONT_PARSE_H */
