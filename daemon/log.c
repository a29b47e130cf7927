/*
 * See log.h.  shoald_log is this log as daemon/shoald.h offers it to the
 * API.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/log.h"
#include "daemon/shoald.h"

static enum log_level cur_level = LOG_LEVEL_INFO;
static int journal; /* stderr goes to journald: use <N> prefixes, no timestamps */

void log_init(enum log_level level)
{
	cur_level = level;
	journal = getenv("JOURNAL_STREAM") != NULL;
}

void log_set_level(enum log_level level)
{
	cur_level = level;
}

int log_level_parse(const char *s)
{
	if (!strcmp(s, "warn"))
		return LOG_LEVEL_WARN;
	if (!strcmp(s, "info"))
		return LOG_LEVEL_INFO;
	if (!strcmp(s, "debug"))
		return LOG_LEVEL_DEBUG;
	return -1;
}

/* syslog priorities: 3 err, 4 warning, 6 info, 7 debug */
static void vlog(int prio, const char *tag, const char *fmt, va_list ap, const char *suffix)
{
	char msg[8192]; /* a refused state store's message, its recovery steps and backups */
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);

	if (n < 0)
		return;
	if (journal) {
		fprintf(stderr, "<%d>%s%s%s\n", prio, msg, suffix ? ": " : "",
		        suffix ? suffix : "");
	} else {
		struct timespec ts;
		struct tm tm;
		char when[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ldZ shoald %s: %s%s%s\n", when, ts.tv_nsec / 1000000, tag,
		        msg, suffix ? ": " : "", suffix ? suffix : "");
	}
}

void log_warn(const char *fmt, ...)
{
	const char *e = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	vlog(4, "warning", fmt, ap, e);
	va_end(ap);
}

void log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(4, "warning", fmt, ap, NULL);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	if (cur_level < LOG_LEVEL_INFO)
		return;
	va_start(ap, fmt);
	vlog(6, "info", fmt, ap, NULL);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	if (cur_level < LOG_LEVEL_DEBUG)
		return;
	va_start(ap, fmt);
	vlog(7, "debug", fmt, ap, NULL);
	va_end(ap);
}

void shoald_log(enum shoald_log_level level, const char *fmt, ...)
{
	va_list ap;

	if ((level == SHOALD_LOG_INFO && cur_level < LOG_LEVEL_INFO) ||
	    (level == SHOALD_LOG_DEBUG && cur_level < LOG_LEVEL_DEBUG))
		return;
	va_start(ap, fmt);
	if (level == SHOALD_LOG_WARN)
		vlog(4, "warning", fmt, ap, NULL);
	else if (level == SHOALD_LOG_INFO)
		vlog(6, "info", fmt, ap, NULL);
	else
		vlog(7, "debug", fmt, ap, NULL);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	const char *e = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	vlog(3, "fatal", fmt, ap, e);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(3, "fatal", fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
