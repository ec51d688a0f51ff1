/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a stop discards, said at the default log level. */
#ifndef LUOD_DISCARD_H
#define LUOD_DISCARD_H

struct luo_core;

void discard_log(const struct luo_core *core, const char *why);

#endif /* LUOD_DISCARD_H */
