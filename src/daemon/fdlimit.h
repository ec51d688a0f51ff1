/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The daemon's file descriptors: RLIMIT_NOFILE raised to its hard limit at
 * start, and the session and file limits advertised no higher than those
 * fds can reach.
 */
#ifndef LUOD_FDLIMIT_H
#define LUOD_FDLIMIT_H

#include <stdint.h>

/*
 * Fds the daemon keeps for itself whatever it holds: stdio, epoll,
 * signalfd, the listener, its executable, the reboot's pipes and handover
 * file, the fds a request holds for a moment (a received fd, a session's
 * socket pair, a reopen), a few administrative connections, and the
 * reserve kept for root (connlimit.h).
 */
#define FDLIMIT_OWN	64

unsigned long fdlimit_raise(void);
void fdlimit_clamp(unsigned long nofile, uint32_t *max_sessions,
		   uint32_t *max_files);

#endif /* LUOD_FDLIMIT_H */
