/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Small pieces of the client side of the wire protocol, shared by libluo
 * and the preload library (which sends the requests libluo refuses to,
 * such as sizes below 4 bytes, to get the daemon's own answer).
 */
#ifndef LUO_WIRE_CLIENT_H
#define LUO_WIRE_CLIENT_H

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include <luo/luo-ext.h>

/* The requests whose reply carries a new fd for the caller. */
static inline bool luo_wire_returns_fd(uint32_t cmd)
{
	return cmd == LIVEUPDATE_IOCTL_CREATE_SESSION ||
	       cmd == LIVEUPDATE_IOCTL_RETRIEVE_SESSION ||
	       cmd == LIVEUPDATE_SESSION_RETRIEVE_FD ||
	       cmd == LUO_IOCTL_POOL_MEMFD;
}

/* Waits until @fd is ready for @events (a caller's O_NONBLOCK socket). */
static inline int luo_wire_wait(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	while (poll(&p, 1, -1) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

#endif /* LUO_WIRE_CLIENT_H */
