// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What the handlers ask of the process around them: closing an fd they
 * opened of a client's file, and waiting for an open that would block.
 * A daemon must never block on a file a client chose (DESIGN.md section 7):
 * a reopen through /proc waits while a lease on the inode is broken (up to
 * /proc/sys/fs/lease-break-time, 45 s by default), and a close can flush or
 * linger.  So a reopen is tried with O_NONBLOCK first, and when that would
 * block (EWOULDBLOCK) the host waits for the open elsewhere and the handler
 * answers -EWOULDBLOCK; the request is asked again once the wait is over.
 *
 * Without a host (the in-process tests, a program that only links the
 * handlers) a reopen that would block blocks, and a close is close(2).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "common.h"
#include "handlers.h"

#ifndef O_LARGEFILE
#define O_LARGEFILE	0
#endif

static struct luo_handler_host handler_host;

/**
 * luo_handlers_set_host() - route the handlers' blocking work to the host
 * @host: the callbacks, copied; NULL for none
 *
 * Process-wide, as the built-in handlers are: call it before any handler
 * runs.
 */
void luo_handlers_set_host(const struct luo_handler_host *host)
{
	if (host)
		handler_host = *host;
	else
		handler_host = (struct luo_handler_host){ 0 };
}

/**
 * luo_handler_close() - close an fd a handler opened of a client's file
 * @fd: the fd, or -1; taken over
 */
void luo_handler_close(int fd)
{
	if (fd < 0)
		return;
	if (handler_host.close_fd)
		handler_host.close_fd(handler_host.ctx, fd);
	else
		close(fd);
}

static int reopen_path(int fd, int flags)
{
	char path[sizeof("/proc/self/fd/") + 12];
	int nfd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	nfd = open(path, flags | O_LARGEFILE | O_CLOEXEC | O_NOCTTY);
	return nfd < 0 ? -errno : nfd;
}

/**
 * luo_handler_reopen() - a new open file description of @fd's inode
 * @fd:    the file
 * @flags: open(2) flags: the access mode and status flags wanted
 * @wait:  if the open would block, have the host wait for it
 *
 * The open is tried with O_NONBLOCK, which fails with EWOULDBLOCK instead
 * of waiting for a conflicting lease to be broken (the break is started);
 * O_NONBLOCK is then taken off again unless @flags has it.  If it would
 * block and @wait is set, the host's @open_wait starts the wait and this
 * returns -EWOULDBLOCK; without a host, the open blocks here.  If @wait is
 * not set, -EWOULDBLOCK is returned without waiting: the permission checks
 * came before the lease, so the caller knows the open is permitted.
 *
 * Return: the new fd (O_CLOEXEC), -EWOULDBLOCK, or another -errno.
 */
int luo_handler_reopen(int fd, int flags, bool wait)
{
	int nfd = reopen_path(fd, flags | O_NONBLOCK), r;

	if (nfd == -EWOULDBLOCK) {
		if (!wait)
			return nfd;
		if (!handler_host.open_wait)
			return reopen_path(fd, flags);
		r = handler_host.open_wait(handler_host.ctx, fd, flags);
		return r ? r : -EWOULDBLOCK;
	}
	if (nfd < 0 || (flags & O_NONBLOCK))
		return nfd;
	r = fcntl(nfd, F_GETFL);
	if (r < 0 || fcntl(nfd, F_SETFL, r & ~O_NONBLOCK) < 0) {
		r = -errno;
		luo_handler_close(nfd);
		return r;
	}
	return nfd;
}
