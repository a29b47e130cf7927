/*
 * Logging for shoald, in the manner of OpenBSD's vmd: log_warn appends
 * strerror(errno), log_warnx does not; fatal/fatalx end the process and
 * are only for start-up.  Lines go to stderr; under systemd (JOURNAL_STREAM
 * set) they carry <N> priority prefixes so journald keeps the levels.
 * Messages about a guest name it: "guest web-1: ...".
 */
#ifndef SHOALD_LOG_H
#define SHOALD_LOG_H

enum log_level { LOG_LEVEL_WARN = 0, LOG_LEVEL_INFO = 1, LOG_LEVEL_DEBUG = 2 };

void log_init(enum log_level level);
void log_set_level(enum log_level level);
/* Parse "warn", "info" or "debug"; -1 otherwise. */
int log_level_parse(const char *s);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
