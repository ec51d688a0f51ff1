/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * liveupdated's logger: one line per event on stderr, as
 * "liveupdated[PID]: LEVEL: message", or "<N>message" when stderr is the
 * journal.
 */
#ifndef LUOD_LOG_H
#define LUOD_LOG_H

#include <stdarg.h>

#include "luo_core.h"	/* enum luo_log_level */

int log_parse_level(const char *name);
void log_init(int max_level);
void log_msg(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void log_vmsg(int level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#define log_err(...)	log_msg(LUO_LOG_ERR, __VA_ARGS__)
#define log_warn(...)	log_msg(LUO_LOG_WARNING, __VA_ARGS__)
#define log_notice(...)	log_msg(LUO_LOG_NOTICE, __VA_ARGS__)
#define log_info(...)	log_msg(LUO_LOG_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LUO_LOG_DEBUG, __VA_ARGS__)

#endif /* LUOD_LOG_H */
