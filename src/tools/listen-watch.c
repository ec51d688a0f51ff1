// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * luo-listen's watcher.  luo-listen execs the service, so something else
 * must notice when liveupdated loses the parked session: a REBOOT (the
 * kexec stand-in) discards every incoming session, parked ones included,
 * as the kernel discards what the previous boot's agents did not finish.
 * The watcher is a grandchild of luo-listen (so the service never sees an
 * unknown child) that lives as long as the service:
 *
 *  - it holds the session, retrieved, so that a second luo-listen of the
 *    same name knows the sockets are in use, and so that it learns of the
 *    orchestrator's restart: the session fd hangs up;
 *  - it holds a duplicate of every listening socket, so that after such a
 *    restart it can preserve them again in a new parked session, while
 *    the service goes on serving from the same sockets;
 *  - it waits on the service's pidfd; when the service has exited it
 *    closes the session, which parks it again (KEEP_ON_CLOSE), and exits.
 *
 * A SIGKILL of the watcher (with the service or alone) parks the session
 * the same way: the orchestrator sees the last close of the session fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "listen-session.h"
#include "listen-watch.h"

/* How long a watcher whose service is gone still tries to park. */
#define WATCH_LAST_PARK_MS	10000

/* One try: the session held again (or its -errno). */
static int park_once(struct listen_watch *w, int timeout_ms, int pidfd)
{
	int dev = listen_open_device(w->socket_path, timeout_ms, pidfd, true);
	int sfd;

	if (dev < 0)
		return dev;
	sfd = luo_retrieve_session(dev, w->session);
	/* Gone with the restart, as a REBOOT discards parked sessions. */
	if (sfd == -ENOENT)
		sfd = listen_session_park(dev, w->session, w->fds, w->nr);
	luo_close(dev);
	return sfd;
}

/*
 * Parks the sockets again after the orchestrator restarted: for as long
 * as the service runs, then for WATCH_LAST_PARK_MS more.
 */
static void repark(struct listen_watch *w)
{
	int ms = LISTEN_BACKOFF_MIN_MS, sfd;
	long deadline = -1, left;

	for (;;) {
		if (deadline < 0 && listen_wait_ms(w->pidfd, 0))
			deadline = listen_now_ms() + WATCH_LAST_PARK_MS;
		left = deadline - listen_now_ms();
		if (deadline < 0)
			sfd = park_once(w, -1, w->pidfd);
		else
			sfd = park_once(w, left > 0 ? (int)left : 0, -1);
		if (sfd >= 0 || sfd == -EINVAL ||
		    (deadline >= 0 && listen_now_ms() >= deadline))
			break;
		listen_wait_ms(deadline < 0 ? w->pidfd : -1, ms);
		if (ms < LISTEN_BACKOFF_MAX_MS)
			ms *= 2;
	}
	if (sfd >= 0) {
		w->sfd = sfd;
		fprintf(stderr, "%s: liveupdated restarted: the sockets are "
			"parked again\n", w->label);
	} else if (sfd == -EINVAL) {
		fprintf(stderr, "%s: liveupdated restarted: another luo-listen "
			"holds the session now\n", w->label);
	} else {
		fprintf(stderr, "%s: liveupdated restarted: cannot park the "
			"sockets again: %s\n", w->label, strerror(-sfd));
	}
}

static int watch(struct listen_watch *w)
{
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = w->pidfd, .events = POLLIN },
			{ .fd = w->sfd, .events = POLLIN },
		};

		if (poll(p, w->sfd >= 0 ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			return EXIT_FAILURE;
		}
		/* The orchestrator's end is gone: park again, even if the
		 * service is gone too, so that its next start finds them. */
		if (w->sfd >= 0 && p[1].revents) {
			luo_close(w->sfd);
			w->sfd = -1;
			repark(w);
		}
		if (p[0].revents)
			break;
	}
	if (w->sfd >= 0)
		luo_close(w->sfd);
	return EXIT_SUCCESS;
}

static int kept(const struct listen_watch *w, int fd)
{
	for (int i = 0; i < w->nr; i++)
		if (fd == w->fds[i])
			return 1;
	return fd == w->sfd || fd == w->pidfd;
}

/* Only what the watcher holds stays open; stdin and stdout are the
 * service's, so that a reader of its output sees the end with it. */
static int keep_only(const struct listen_watch *w)
{
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC), last = w->pidfd;

	if (nul < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0)
		return -1;
	close(nul);
	for (int i = 0; i < w->nr; i++)
		if (w->fds[i] > last)
			last = w->fds[i];
	if (w->sfd > last)
		last = w->sfd;
	for (int fd = 3; fd < last; fd++)
		if (!kept(w, fd))
			close(fd);
	return close_range((unsigned int)last + 1, ~0u, 0);
}

/**
 * listen_watch_start() - start the watcher for the service we become
 * @w: what it holds; @w->pidfd must be the caller's own pidfd
 *
 * Forks twice: the watcher is reparented to init (or the nearest
 * subreaper, a service manager), never a child of the service.  The
 * caller keeps its fds; it closes @w->sfd, @w->pidfd and the duplicates
 * in @w->fds before it execs the service.
 *
 * Return: 0 once the watcher runs, or a negative errno.
 */
int listen_watch_start(struct listen_watch *w)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (!pid) {
		pid_t watcher = fork();

		if (watcher)
			_exit(watcher < 0 ? EXIT_FAILURE : EXIT_SUCCESS);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGPIPE, SIG_IGN);
		prctl(PR_SET_NAME, "luo-listen:watch");
		/* Holding no directory busy for as long as the service runs. */
		if (chdir("/") < 0 || keep_only(w) < 0)
			_exit(EXIT_FAILURE);
		_exit(watch(w));
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return -EAGAIN;
	return 0;
}
