/*
 * The Xen backend's pure pieces (xen_parse.c): the guest's command line
 * as the contract escapes it, the values a guest writes into xenstore,
 * and how a domain's end maps onto the exit statuses of vmm_proto.h.
 * Nothing here knows libxl or the daemon; tests/unit/test_xen_parse.c
 * runs them over tests/data/xen-values.txt.
 */
#ifndef SHOALD_XEN_PARSE_H
#define SHOALD_XEN_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* Xen's start_info cmd_line and hvm_start_info's are 1024 bytes, NUL included. */
#define XEN_CMDLINE_MAX 1024
/* The largest event channel port (FIFO ABI: 2^17 channels). */
#define XEN_PORT_MAX 131071
/* Longest value the backend reads from a guest's own keys. */
#define XEN_GUEST_VALUE_MAX 512

/*
 * argv[1..] as one command line: arguments separated by single spaces,
 * and inside one "\ " for a space and "\\" for a backslash.  An empty
 * argument cannot be written that way and is refused, as are control
 * characters.  0, or -1 with why naming the argument.
 */
int xen_cmdline_build(char *out, size_t outlen, unsigned nargs, char *const *args, char *why,
                      size_t whylen);

/*
 * The guest's data/shoal/probe-port: decimal, 1..XEN_PORT_MAX, nothing
 * else (no sign, space, leading zero or newline).  val is len bytes, not
 * necessarily NUL-terminated.  0, or -1 with why.
 */
int xen_parse_port(const char *val, size_t len, unsigned *port, char *why, size_t whylen);

/* shoald's own tag shoal/instance: decimal, 1..2^63-1.  0, or -1 with why. */
int xen_parse_u64(const char *val, size_t len, uint64_t *out, char *why, size_t whylen);

/*
 * The guest's one-line exit-reason made safe to show: up to the first
 * newline, printable ASCII only (others become '?'), at most outlen-1
 * bytes.  Returns the length written.
 */
size_t xen_reason_clean(const char *val, size_t len, char *out, size_t outlen);

/*
 * A xenstore watch's token as the Xen and libvirt backends make them:
 * one letter saying what the watch is for, then the domain's id in
 * decimal ("p12": domain 12's probe port).  Returns the letter when it is
 * one of kinds, with *id; 0 for any other token (*id untouched).
 */
int xen_watch_token(const char *token, const char *kinds, unsigned long *id);

/* How the domain ended, as libxl reported it. */
enum xen_end {
	XEN_END_POWEROFF,
	XEN_END_REBOOT,
	XEN_END_SUSPEND,
	XEN_END_CRASH,
	XEN_END_WATCHDOG,
	XEN_END_SOFT_RESET,
	XEN_END_UNKNOWN,   /* a shutdown code Xen added after this was written */
	XEN_END_DESTROYED, /* gone without a shutdown: destroyed from outside */
};

/*
 * The exit status (vmm_proto.h: 0..199 the guest's code, 200 abort, 201
 * fault, -1 unknown) and a reason line for a domain that ended as `end`
 * with the guest's data/shoal/exit-code and exit-reason values (NULL:
 * absent; they come from the guest and are checked here).  An
 * exit-reason beginning "fault" is a fault, any other an abort.
 */
int xen_exit_map(enum xen_end end, const char *code, size_t code_len, const char *reason,
                 size_t reason_len, char *text, size_t textlen);

#endif
