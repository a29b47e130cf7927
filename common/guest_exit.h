/*
 * How a guest ended, the one vocabulary of every backend: the KVM tender
 * exits with one of these statuses, the Xen backend maps a domain's exit
 * keys onto them, and shoald's supervisor, events and API speak of them.
 */
#ifndef SHOAL_COMMON_GUEST_EXIT_H
#define SHOAL_COMMON_GUEST_EXIT_H

/* 0..199 are the guest's own exit code; the rest say what ended it. */
#define GUEST_EXIT_GUEST_MAX 199
#define GUEST_EXIT_ABORT     200 /* guest called rt_abort (file, line, message reported) */
#define GUEST_EXIT_FAULT     201 /* guest took a CPU exception or triple-faulted */
#define GUEST_EXIT_BADCALL   202 /* bad hypercall: address, length, count or number */
#define GUEST_EXIT_IMAGE     203 /* image refused (not a valid shoal guest ELF) */
#define GUEST_EXIT_SETUP     204 /* the VM could not be set up (no /dev/kvm, ...) */
#define GUEST_EXIT_USAGE     205 /* bad command line or control message */
#define GUEST_EXIT_INTERNAL  206 /* KVM failed while running, or a disallowed syscall */
#define GUEST_EXIT_SIGNAL    207 /* a jailed tender told to end by SIGTERM, SIGINT or SIGHUP */

/* Text for an exit status, e.g. "bad hypercall"; "guest exit" for 0..199. */
const char *guest_exit_str(int status);

#endif /* SHOAL_COMMON_GUEST_EXIT_H */
