/*
 * An error's text for the err/errlen convention of the tenders and the
 * Xen domain builder: what went wrong, and the system's word for it.
 */
#ifndef SHOAL_COMMON_FAIL_H
#define SHOAL_COMMON_FAIL_H

#include <stddef.h>

/* err = the formatted text, then ": " and strerror(errno) when errno is set; returns -1. */
int fail_text(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif /* SHOAL_COMMON_FAIL_H */
