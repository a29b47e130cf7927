/* An error's text (fail.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/fail.h"

int fail_text(char *err, size_t errlen, const char *fmt, ...)
{
	int e = errno;
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	if (e) {
		n = strlen(err);
		snprintf(err + n, errlen - n, ": %s", strerror(e));
	}
	return -1;
}
