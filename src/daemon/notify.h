/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The service manager's notify protocol (NOTIFY_SOCKET), see notify.c. */
#ifndef LUOD_NOTIFY_H
#define LUOD_NOTIFY_H

#include <string.h>
#include <sys/types.h>
#include <unistd.h>

void notify_mainpid(pid_t pid);
void notify_serving(void);
void notify_reloading(void);

#endif /* LUOD_NOTIFY_H */
