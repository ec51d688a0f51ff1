/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * luo-listen's session: the listening sockets parked in liveupdated with
 * HANDOVER KEEP_ON_CLOSE, held (retrieved) by luo-listen's watcher while
 * the service runs, given back intact when the watcher goes.
 */
#ifndef LUO_LISTEN_SESSION_H
#define LUO_LISTEN_SESSION_H

#include <stdbool.h>

/* How long a wait for something that should come soon starts and grows. */
#define LISTEN_BACKOFF_MIN_MS	1
#define LISTEN_BACKOFF_MAX_MS	64

long listen_now_ms(void);
int listen_wait_ms(int pidfd, int ms);
int listen_open_device(const char *path, int timeout_ms, int pidfd,
		       bool wait_daemon);
int listen_session_park(int dev, const char *name, const int *fds, int nr);
int listen_session_retrieve(int dev, const char *name, int *fds, int max,
			    int *nr);

#endif /* LUO_LISTEN_SESSION_H */
