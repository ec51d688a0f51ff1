// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The keeper (liveupdated(8), "Rollback and the keeper").
 *
 * Forked by the old image after every fd that must cross the exec has lost
 * close-on-exec, so it holds a duplicate of each: the preserved files, the
 * handover, the listening socket, the connection waiting for REBOOT's
 * answer and the old image itself.  It then watches three things: its pipe
 * (the new image writes one byte once it has taken over, or the old image
 * once its exec failed: the keeper exits), the daemon's pidfd (the new
 * image died) and a deadline (the new image hangs: it is killed).  Pipe
 * EOF without the byte counts as a failure too, so a program that is not
 * liveupdated at all is covered.  On failure the keeper makes sure the new
 * image is gone and executes the old image with the same handover and
 * --rolled-back: it becomes the daemon, under its own pid.
 *
 * The daemon's pid is taken before the fork: after it, getppid() may
 * already name whoever inherited the keeper (a supervisor, init) if the
 * daemon died.  Without a pidfd, the keeper signals that pid only while
 * getppid() still equals it, that is while it is provably the daemon.
 *
 * Under a service manager (NOTIFY_SOCKET) the keeper announces itself as
 * the main pid before the old image goes on to the exec, so that a
 * rollback under its pid is no death of the main process; once the new
 * image has taken over it hands the main pid back (notify.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "keeper.h"
#include "log.h"
#include "notify.h"

#define KEEPER_CONFIRM	'K'
/* How long a new image whose pipe closed may take to be seen dead. */
#define KEEPER_EXIT_MS	1000

static int pidfd_of(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	return -1;
#endif
}

static int pidfd_kill(int pidfd)
{
#ifdef SYS_pidfd_send_signal
	return (int)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
#else
	errno = ENOSYS;
	return -1;
#endif
}

static int64_t ms_left(uint64_t deadline_ns)
{
	uint64_t now = luod_now_ns();

	return now >= deadline_ns ? 0 :
	       (int64_t)((deadline_ns - now + 999999) / 1000000);
}

/* What the pipe says: 0 confirmed, 1 EOF, -1 nothing yet. */
static int keeper_read(int fd)
{
	char c;
	ssize_t n = read(fd, &c, 1);

	if (n == 1)
		return 0;
	if (n == 0)
		return 1;
	return -1;
}

/*
 * Waits for the verdict.  Return: 0 if the new image took over (or the
 * old one stood down), else the errno to answer REBOOT with, @why set.
 */
static int keeper_watch(int rfd, int pidfd, const struct keeper_plan *plan,
			pid_t daemon, char *why, size_t len)
{
	uint64_t deadline = luod_now_ns() +
			    (uint64_t)plan->timeout_ms * 1000000u;
	struct pollfd p[2] = {
		{ .fd = rfd, .events = POLLIN },
		{ .fd = pidfd, .events = POLLIN },
	};
	int64_t left;
	int n, v;

	while ((left = ms_left(deadline)) > 0) {
		n = poll(p, pidfd >= 0 ? 2 : 1, left > INT32_MAX ? INT32_MAX :
			 (int)left);
		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0)
			continue;
		v = p[0].revents ? keeper_read(rfd) : -1;
		if (v == 0)
			return 0;
		/* A process closes its files before its pidfd says it died. */
		if (v == 1 && pidfd >= 0 && !p[1].revents)
			poll(&p[1], 1, KEEPER_EXIT_MS);
		if (pidfd >= 0 && p[1].revents) {
			snprintf(why, len, "new image (pid %d) died before taking over",
				 (int)daemon);
			return ENOEXEC;
		}
		if (v == 1) {
			snprintf(why, len, "new image (pid %d) closed its keeper pipe",
				 (int)daemon);
			return ENOEXEC;
		}
	}
	snprintf(why, len, "new image (pid %d) did not take over in %u ms",
		 (int)daemon, plan->timeout_ms);
	return ETIMEDOUT;
}

/* The new image must be gone before the old one serves again. */
static void keeper_kill(int rfd, int pidfd, pid_t daemon)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	if (pidfd >= 0 && !pidfd_kill(pidfd)) {
		while (poll(&p, 1, -1) < 0 && errno == EINTR)
			;
		return;
	}
	if (pidfd >= 0 && errno == ESRCH)
		return;
	/* No pidfd: kill the parent if it still is ours, wait for its EOF. */
	if (getppid() == daemon)
		kill(daemon, SIGKILL);
	p.fd = rfd;
	while (keeper_read(rfd) != 1)
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			break;
}

static void keeper_rollback(const struct keeper_plan *plan, int err,
			    const char *why)
{
	char reason[160];
	struct luod_exec_args a = {
		.handover_fd = plan->handover_fd, .rollback_fd = -1,
		.keeper_fd = -1, .failed_reboots = plan->failed_reboots,
		.rolled_back = reason,
	};
	char **argv;

	snprintf(reason, sizeof(reason), "%d:%s", err, why);
	log_err("keeper: %s; running the previous image again", why);
	argv = options_exec_argv(plan->argv, &a);
	if (!argv) {
		log_err("keeper: out of memory; what was preserved is lost");
		return;
	}
	fflush(NULL);
	execveat(plan->image_fd, "", argv, environ, AT_EMPTY_PATH);
	log_err("keeper: cannot execute the previous image: %m; what was preserved is lost");
	options_free_argv(argv);
}

/*
 * @daemon: the daemon's pid, taken by the daemon itself before the fork.
 * @ready:  written to once the keeper is the main pid (if there is a
 *          service manager), then closed.
 */
static void __attribute__((noreturn))
keeper_run(const struct keeper_plan *plan, int rfd, int pidfd, pid_t daemon,
	   int ready)
{
	char why[LUO_REBOOT_FAILURE_LENGTH];
	int err;

	prctl(PR_SET_NAME, "luo-keeper", 0, 0, 0);
	notify_mainpid(getpid());
	if (write(ready, "k", 1) != 1)
		_exit(1);
	close(ready);
	err = keeper_watch(rfd, pidfd, plan, daemon, why, sizeof(why));
	if (!err) {
		notify_mainpid(daemon);	/* it serves: the main pid again */
		_exit(0);
	}
	keeper_kill(rfd, pidfd, daemon);
	close(rfd);
	if (pidfd >= 0)
		close(pidfd);
	keeper_rollback(plan, err, why);
	_exit(1);
}

/**
 * keeper_start() - fork the keeper of a REBOOT
 * @k:    out: the keeper; @k->fd is for the new image (--keeper-fd), not
 *        close-on-exec
 * @plan: what it runs if the new image fails; every fd in it, and every
 *        other fd that crosses the exec, must already be inheritable
 *
 * Return: 0, or -errno with nothing left behind.
 */
int keeper_start(struct keeper *k, const struct keeper_plan *plan)
{
	pid_t daemon = getpid(), pid;
	int p[2], s[2], pidfd = -1, r = 0;
	char c;

	k->pid = 0;
	k->fd = -1;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(s, O_CLOEXEC) < 0) {
		r = -errno;
		close(p[0]);
		close(p[1]);
		return r;
	}
	/* -1 without pidfds: pipe and deadline */
	if (!plan->no_pidfd)
		pidfd = pidfd_of(daemon);
	pid = fork();
	if (pid == 0) {
		close(p[1]);
		close(s[0]);
		keeper_run(plan, p[0], pidfd, daemon, s[1]);
	}
	if (pid < 0)
		r = -errno;
	close(p[0]);
	close(s[1]);
	if (pidfd >= 0)
		close(pidfd);
	/* The keeper is the main pid before we go on to the exec. */
	while (!r) {
		ssize_t n = read(s[0], &c, 1);

		if (n == 1)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		r = -ECHILD;
	}
	close(s[0]);
	if (!r && fcntl(p[1], F_SETFD, 0) < 0)
		r = -errno;
	if (r && pid > 0) {
		keeper_release(p[1], pid);
		return r;
	}
	if (r) {
		close(p[1]);
		return r;
	}
	k->pid = pid;
	k->fd = p[1];
	log_debug("keeper %d holds everything until the new image takes over",
		  (int)pid);
	return 0;
}

/**
 * keeper_release() - tell the keeper to exit, and reap it
 * @fd:  the keeper's pipe, or -1; closed
 * @pid: the keeper, or 0 if not ours to reap
 *
 * Called by the new image once it has taken over (so the keeper's copies,
 * among them a connection, are gone before anything is answered), and by
 * the old image when its exec failed.
 */
void keeper_release(int fd, pid_t pid)
{
	static const char ok = KEEPER_CONFIRM;
	pid_t r;

	if (fd >= 0) {
		if (write(fd, &ok, 1) != 1)
			log_warn("keeper: cannot confirm: %m");
		close(fd);
	}
	if (pid <= 0)
		return;
	do
		r = waitpid(pid, NULL, 0);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		log_warn("keeper %d: %m", (int)pid);
}
