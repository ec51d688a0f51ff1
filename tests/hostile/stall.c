// SPDX-License-Identifier: LGPL-2.1-or-later
/* Shared pieces of the stall tests; see stall.h. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "stall.h"
#include "wire-client.h"

/* How long SIGTERM may take to end the daemon, attack or not. */
#define STALL_EXIT_MS		5000

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/**
 * stall_scale() - how much slower than natively everything runs
 *
 * Return: 100 under valgrind (meson's valgrind setup), else 1.
 */
unsigned int stall_scale(void)
{
	return dh_under_valgrind() ? 100 : 1;
}

/**
 * stall_budget_ns() - the longest a STATUS round trip may take
 *
 * Return: 10 ms (issue 8); 1 s under valgrind, which runs the daemon
 * some fifty times slower: still far below any stall of the attacks.
 */
uint64_t stall_budget_ns(void)
{
	return 10000000ull * stall_scale();
}

/**
 * stall_control() - the good client: a control connection to @sock
 * @sock: the daemon's socket
 *
 * Return: the connection; fails the test if there is none.
 */
int stall_control(const char *sock)
{
	int fd = luo_open_at(sock, LUO_OPEN_CONTROL);

	dh_check(fd >= 0);
	return fd;
}

/**
 * stall_reply() - wait at most @ms for one reply on @sock
 * @sock: the connection a request was sent on
 * @ms:   the bound
 * @arg:  out: the copy-back bytes, or NULL
 * @len:  room at @arg
 * @fd:   out: the fd that came with it, or -1; NULL to close it
 *
 * Return: the reply's result, -ETIMEDOUT, or the transport's -errno.
 */
int stall_reply(int sock, unsigned int ms, void *arg, uint32_t len, int *fd)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };
	struct luo_wire_rep rep;
	int r = poll(&p, 1, (int)ms);

	if (r <= 0)
		return r ? -errno : -ETIMEDOUT;
	r = wc_recv(sock, &rep, arg, len, fd);
	return r ? r : rep.result;
}

/**
 * stall_probe() - STALL_PROBES STATUS round trips while @attack runs
 * @ctl:    the good client's control connection
 * @attack: what runs, for the report; it was started before
 *
 * Each round trip must take less than stall_budget_ns(); a reply that does
 * not come within a second fails the test at once.  The daemon sees the
 * attack (a request, a hang-up) before the first STATUS, or in the same
 * batch of events, so all but perhaps the first wait behind it if it
 * blocks.
 */
void stall_probe(int ctl, const char *attack)
{
	uint64_t budget = stall_budget_ns(), t0, dt, worst = 0;
	unsigned int n = 0;
	int r;

	do {
		struct luo_status st = { .size = sizeof(st) };

		t0 = now_ns();
		r = wc_send(ctl, LUO_IOCTL_STATUS, &st, sizeof(st), NULL, 0);
		if (!r)
			r = stall_reply(ctl, 1000 * stall_scale(), &st,
					sizeof(st), NULL);
		dt = now_ns() - t0;
		if (r) {
			fprintf(stderr, "%s: STATUS failed after %.3f ms: %s\n",
				attack, dt / 1e6, strerror(-r));
			dh_fail(__FILE__, __LINE__, "STATUS answered");
		}
		if (dt > worst)
			worst = dt;
	} while (++n < STALL_PROBES);
	fprintf(stderr, "%s: %u STATUS round trips, the longest %.3f ms "
		"(budget %.3f ms)\n", attack, n, worst / 1e6, budget / 1e6);
	dh_check(worst < budget);
}

/*
 * Waits at most @ms for @pid to exit, on SIGCHLD (blocked by the caller),
 * leaving it to be reaped: pidfds would do, but valgrind 3.19 does not know
 * pidfd_open.
 */
static bool wait_exit(pid_t pid, unsigned int ms)
{
	siginfo_t si;
	uint64_t end = now_ns() + ms * 1000000ull, left;
	struct timespec ts;
	sigset_t chld;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	for (;;) {
		si.si_pid = 0;
		if (!waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) &&
		    si.si_pid == pid)
			return true;
		if (now_ns() >= end)
			return false;
		left = end - now_ns();
		ts.tv_sec = (time_t)(left / 1000000000u);
		ts.tv_nsec = (long)(left % 1000000000u);
		sigtimedwait(&chld, NULL, &ts);
	}
}

/**
 * stall_sigterm() - SIGTERM must end the daemon within a bound
 * @d:      the daemon
 * @attack: what runs, for the report
 *
 * A daemon still running after the bound is killed and the test fails.
 */
void stall_sigterm(struct dh_daemon *d, const char *attack)
{
	uint64_t t0 = now_ns();
	sigset_t chld, old;
	bool exited;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	dh_check_eq(sigprocmask(SIG_BLOCK, &chld, &old), 0);
	dh_check_eq(kill(d->pid, SIGTERM), 0);
	exited = wait_exit(d->pid, STALL_EXIT_MS * stall_scale());
	sigprocmask(SIG_SETMASK, &old, NULL);
	fprintf(stderr, "%s: SIGTERM ended the daemon in %.3f ms\n", attack,
		(now_ns() - t0) / 1e6);
	dh_check(exited);
	dh_check_eq(dh_wait(d), 0);
}

/**
 * stall_lingering_socket() - a TCP socket whose last close blocks 30 s
 * @peer: out: its peer, which never reads; closing it ends the linger
 *
 * Connected on 127.0.0.1 with small buffers, filled until nothing more can
 * be sent, then given SO_LINGER {1, 30}: a close(2) of the last fd of it
 * waits for the unsent data to go, up to 30 s.
 *
 * Under valgrind the linger is {1, 0} (the close resets the connection at
 * once): valgrind runs one thread at a time and holds its lock across a
 * close(2), so a lingering close in any thread stops every thread.  The
 * daemon's paths still run under memcheck; the stall itself is tested
 * natively.
 *
 * Return: the socket (blocking, close-on-exec); fails the test on error.
 */
int stall_lingering_socket(int *peer)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct linger lg = { .l_onoff = 1, .l_linger = 30 };
	socklen_t len = sizeof(sin);
	int small = 4096, lis, fd, fl;
	char buf[4096];

	memset(buf, 'x', sizeof(buf));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lis = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	dh_check(lis >= 0 && fd >= 0);
	dh_check_eq(setsockopt(lis, SOL_SOCKET, SO_RCVBUF, &small,
			       sizeof(small)), 0);
	dh_check_eq(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small,
			       sizeof(small)), 0);
	dh_check_eq(bind(lis, (struct sockaddr *)&sin, sizeof(sin)), 0);
	dh_check_eq(getsockname(lis, (struct sockaddr *)&sin, &len), 0);
	dh_check_eq(listen(lis, 1), 0);
	dh_check_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	*peer = accept4(lis, NULL, NULL, SOCK_CLOEXEC);
	dh_check(*peer >= 0);
	close(lis);
	fl = fcntl(fd, F_GETFL);
	dh_check_eq(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
	while (send(fd, buf, sizeof(buf), MSG_NOSIGNAL) > 0)
		;
	dh_check(errno == EAGAIN);
	dh_check_eq(fcntl(fd, F_SETFL, fl), 0);
	if (stall_scale() > 1)
		lg.l_linger = 0;
	dh_check_eq(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	return fd;
}
