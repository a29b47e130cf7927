/*
 * What both tenders (shoal-vmm and shoal-proc) share beyond the KVM
 * machine: error text and the guest's name for their messages.
 */
#ifndef VMM_UTIL_H
#define VMM_UTIL_H

#include <stddef.h>

/* err = the formatted text, then ": " and strerror(errno) when errno is set; returns -1. */
int vmm_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* name into buf (cap bytes), every byte outside printable ASCII or a space made '_'. */
void vmm_set_name(char *buf, size_t cap, const char *name);

/* The guest's name from its image's path: the file name without suffix (".kvm") or ".elf". */
void vmm_name_from_path(char *buf, size_t cap, const char *path, const char *suffix);

#endif /* VMM_UTIL_H */
