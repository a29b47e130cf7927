/*
 * lwIP's view of the machine and the C library under it: x86-64, GCC or
 * clang, freestanding.  Only the compiler's own headers (stddef.h,
 * stdint.h) and the runtime's (shoal/rt.h, lwip/libc/) are used, so lwIP
 * cannot reach anything of the host's C library.
 */
#ifndef SHOAL_LWIP_ARCH_CC_H
#define SHOAL_LWIP_ARCH_CC_H

#include <shoal/rt.h>

#define BYTE_ORDER LITTLE_ENDIAN

/* No inttypes.h, ctype.h or limits.h: lwIP's own definitions instead. */
#define LWIP_NO_INTTYPES_H 1
#define LWIP_NO_CTYPE_H    1
#define LWIP_NO_LIMITS_H   1
#define LWIP_NO_UNISTD_H   1

/* Formats as rt_printf() knows them (it has no 'h' length). */
#define X8_F  "02x"
#define U16_F "u"
#define S16_F "d"
#define X16_F "x"
#define U32_F "u"
#define S32_F "d"
#define X32_F "x"
#define SZT_F "zu"

#define PACK_STRUCT_STRUCT   __attribute__((packed))
#define PACK_STRUCT_FIELD(x) x

/* One instruction each instead of lwIP's shifts and masks. */
#define lwip_htons(x) ((u16_t)__builtin_bswap16((u16_t)(x)))
#define lwip_htonl(x) ((u32_t)__builtin_bswap32((u32_t)(x)))

/* lwIP's diagnostics go to the guest's console, its assertions end it. */
#define LWIP_PLATFORM_DIAG(x)                                                                      \
	do {                                                                                       \
		rt_printf x;                                                                       \
	} while (0)
#define LWIP_PLATFORM_ASSERT(x) rt__abort(__FILE__, __LINE__, (x))

/*
 * The Internet checksum's sum, eight bytes an instruction (lwip/chksum.c)
 * rather than lwIP's four bytes a loop turn: ring-0 guest code may be
 * emulated, and every segment is summed.
 */
#define LWIP_CHKSUM rt_net__chksum
uint16_t rt_net__chksum(const void *data, int len);

/* Seeds the first local TCP and UDP ports (lwip/net.c). */
#define LWIP_RAND() rt_net__rand()
uint32_t rt_net__rand(void);

#endif /* SHOAL_LWIP_ARCH_CC_H */
