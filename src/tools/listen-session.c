// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * luo-listen's session in liveupdated (luo-listen(1)).  Socket i of the
 * command line is preserved under token i.  The session is handed over
 * with LUO_HANDOVER_KEEP_ON_CLOSE, which parks it: it outlives every
 * process, and whoever retrieves it and then closes it (or dies) gives it
 * back intact, its sockets retrievable again as the same open file
 * descriptions.
 */
#include <errno.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "listen-session.h"

/**
 * listen_wait_ms() - wait @ms, or until the process of @pidfd has exited
 * @pidfd: a pidfd, or -1 to wait the whole time
 * @ms:    how long
 *
 * Return: 1 if the process has exited, 0 after @ms, a negative errno.
 */
int listen_wait_ms(int pidfd, int ms)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	int r = poll(&p, 1, ms);

	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	return r > 0;
}

/**
 * listen_now_ms() - CLOCK_MONOTONIC in milliseconds
 *
 * Return: the time.
 */
long listen_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static bool device_busy(int err, bool wait_daemon)
{
	if (err == -EBUSY)
		return true;
	/* Not (yet) listening, or going away under a restart. */
	return wait_daemon && (err == -ENOENT || err == -ECONNREFUSED ||
			       err == -ECONNRESET || err == -ENODEV ||
			       err == -EPIPE || err == -ETIMEDOUT ||
			       err == -EIO);
}

/**
 * listen_open_device() - open liveupdated's device, waiting while it is held
 * @path:        the orchestrator's socket, NULL for the default
 * @timeout_ms:  how long to keep trying, -1 for as long as @pidfd lives
 * @pidfd:       a pidfd whose process's exit ends the wait, or -1
 * @wait_daemon: also wait while no orchestrator answers
 *
 * The device open is exclusive per uid (EBUSY while another agent of the
 * same uid holds it); luo-listen holds it only for a few requests, so the
 * wait is short.
 *
 * Return: the device fd, or the last negative errno of luo_open_at().
 */
int listen_open_device(const char *path, int timeout_ms, int pidfd,
		       bool wait_daemon)
{
	long end = listen_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	int ms = LISTEN_BACKOFF_MIN_MS, fd;

	for (;;) {
		fd = luo_open_at(path, LUO_OPEN_DEVICE);
		if (fd >= 0 || !device_busy(fd, wait_daemon))
			return fd;
		if (timeout_ms >= 0 && listen_now_ms() >= end)
			return fd;
		if (listen_wait_ms(pidfd, ms))
			return fd;
		if (ms < LISTEN_BACKOFF_MAX_MS)
			ms *= 2;
	}
}

/**
 * listen_session_park() - keep sockets in a new parked session, held
 * @dev:  the device
 * @name: the session's name
 * @fds:  the listening sockets, preserved under tokens 0 to @nr - 1
 * @nr:   how many
 *
 * Creates the session, preserves @fds, hands it over with
 * LUO_HANDOVER_KEEP_ON_CLOSE and retrieves it again: the caller holds it,
 * and its close (or death) parks it.  On failure nothing stays in the
 * orchestrator.
 *
 * Return: the retrieved session fd, or a negative errno.
 */
int listen_session_park(int dev, const char *name, const int *fds, int nr)
{
	int sfd = luo_create_session(dev, name), err = 0;

	if (sfd < 0)
		return sfd;
	for (int i = 0; i < nr && !err; i++)
		err = luo_session_preserve_fd(sfd, fds[i], (uint64_t)i);
	err = err ?: luo_session_handover(sfd, LUO_HANDOVER_KEEP_ON_CLOSE);
	/* Detached by the handover, or the session's end on failure. */
	luo_close(sfd);
	if (err)
		return err;
	return luo_retrieve_session(dev, name);
}

/**
 * listen_session_retrieve() - take the sockets of a parked session
 * @dev:  the device
 * @name: the session's name
 * @fds:  out: the sockets, by token
 * @max:  the size of @fds: tokens 0 to @max - 1 are asked for
 * @nr:   out: how many tokens from 0 on the session has (at most @max)
 *
 * Return: the retrieved session fd, or -ENOENT if there is no such
 * session, -EINVAL if another process holds it (retrieved and not given
 * back), another negative errno.  On failure no fd is left open.
 */
int listen_session_retrieve(int dev, const char *name, int *fds, int max,
			    int *nr)
{
	int sfd = luo_retrieve_session(dev, name), i, fd = 0;

	if (sfd < 0)
		return sfd;
	for (i = 0; i < max; i++) {
		fd = luo_session_retrieve_fd(sfd, (uint64_t)i);
		if (fd < 0)
			break;
		fds[i] = fd;
	}
	if (fd < 0 && fd != -ENOENT) {
		while (i--)
			close(fds[i]);
		luo_close(sfd);
		return fd;
	}
	*nr = i;
	return sfd;
}
