// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The logger.  Each line is formatted into one buffer and written with a
 * single write(2), so nothing is buffered in the process: a re-exec never
 * loses a line and lines of several processes never interleave.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX	1024

static int log_max_level = LUO_LOG_INFO;
static bool log_journal;

static const char *const log_names[] = {
	[LUO_LOG_ERR] = "err",
	[LUO_LOG_WARNING] = "warning",
	[LUO_LOG_NOTICE] = "notice",
	[LUO_LOG_INFO] = "info",
	[LUO_LOG_DEBUG] = "debug",
};

/**
 * log_parse_level() - map a --log-level argument to a level
 * @name: "err", "warning", "notice", "info" or "debug"
 *
 * Return: the level, or -EINVAL for an unknown name.
 */
int log_parse_level(const char *name)
{
	int i;

	for (i = LUO_LOG_ERR; i <= LUO_LOG_DEBUG; i++)
		if (!strcmp(name, log_names[i]))
			return i;
	return -EINVAL;
}

/* True if stderr is the stream JOURNAL_STREAM ("DEV:INO") names. */
static bool stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!env || sscanf(env, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return st.st_dev == dev && st.st_ino == ino;
}

/**
 * log_init() - set up the logger
 * @max_level: the most verbose level written
 */
void log_init(int max_level)
{
	log_max_level = max_level;
	log_journal = stderr_is_journal();
}

/**
 * log_vmsg() - write one line at @level
 * @level: an enum luo_log_level
 * @fmt:   printf format, no newline
 * @ap:    its arguments
 */
void log_vmsg(int level, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	size_t n;
	int r;

	if (level > log_max_level)
		return;
	if (level < LUO_LOG_ERR || level > LUO_LOG_DEBUG)
		level = LUO_LOG_ERR;
	if (log_journal)
		r = snprintf(line, sizeof(line), "<%d>", level);
	else
		r = snprintf(line, sizeof(line), "liveupdated[%d]: %s: ",
			     (int)getpid(), log_names[level]);
	n = r < 0 ? 0 : (size_t)r;
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (r > 0)
		n += (size_t)r;
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

/**
 * log_msg() - write one line at @level
 * @level: an enum luo_log_level
 * @fmt:   printf format, no newline
 */
void log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}
