/*
 * The Internet checksum's sum (RFC 1071) for lwIP (LWIP_CHKSUM, arch/cc.h):
 * the ones'-complement sum of the 16-bit words in memory order, folded to
 * 16 bits and not inverted, as lwIP's own.  Summing 64-bit words with
 * the carry folded back gives the same sum (RFC 1071, 2(B)), in an eighth
 * of the steps; x86 loads need no alignment, so an odd start needs no swap.
 */
#include <stddef.h>
#include <stdint.h>

#include "arch/cc.h"

uint16_t rt_net__chksum(const void *data, int len)
{
	const uint8_t *p = data;
	size_t n = len > 0 ? (size_t)len : 0, i;
	uint64_t sum = 0, tail = 0;

	for (; n >= 32; p += 32, n -= 32)
		__asm__("addq 0(%1), %0\n\t"
		        "adcq 8(%1), %0\n\t"
		        "adcq 16(%1), %0\n\t"
		        "adcq 24(%1), %0\n\t"
		        "adcq $0, %0"
		        : "+r"(sum)
		        : "r"(p)
		        : "cc", "memory");
	for (; n >= 8; p += 8, n -= 8)
		__asm__("addq (%1), %0\n\t"
		        "adcq $0, %0"
		        : "+r"(sum)
		        : "r"(p)
		        : "cc", "memory");
	for (i = 0; i < n; i++)
		tail |= (uint64_t)p[i] << (8 * i);
	__asm__("addq %1, %0\n\t"
	        "adcq $0, %0"
	        : "+r"(sum)
	        : "r"(tail)
	        : "cc");
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffu) + (sum >> 16);
	sum = (sum & 0xffffu) + (sum >> 16);
	sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)sum;
}
