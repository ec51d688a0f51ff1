/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The service manager's notify protocol (NOTIFY_SOCKET), see notify.c and
 * notify_status.c.
 */
#ifndef LUOD_NOTIFY_H
#define LUOD_NOTIFY_H

#include <stdbool.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

struct luod;

void notify_set_engine(void);
void notify_mainpid(pid_t pid);
void notify_serving(void);
void notify_reloading(void);

/* notify_status.c: STATUS= lines */
void notify_status_text(const struct luod *d, char *buf, size_t len);
void notify_status_start(struct luod *d);
void notify_status_stop(struct luod *d);

#endif /* LUOD_NOTIFY_H */
