/*
 * What both tenders (shoal-vmm and shoal-proc) share beyond the KVM
 * machine: the guest's name for their messages (error text is
 * common/fail.h's).
 */
#ifndef VMM_UTIL_H
#define VMM_UTIL_H

#include <stddef.h>

/* name into buf (cap bytes), every byte outside printable ASCII or a space made '_'. */
void vmm_set_name(char *buf, size_t cap, const char *name);

/* The guest's name from its image's path: the file name without suffix (".kvm") or ".elf". */
void vmm_name_from_path(char *buf, size_t cap, const char *path, const char *suffix);

#endif /* VMM_UTIL_H */
