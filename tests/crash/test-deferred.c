// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A request parked on a leased file (defer.c) when the engine is killed
 * (liveupdated --vault; liveupdated(8), "Crash recovery"): the new engine
 * answers it EIO, and nothing of it took effect: once the lease is gone
 * the same RETRIEVE_FD succeeds.
 *
 * The test holds a write lease on an unlinked tmpfs file (memfd-v2's),
 * so the engine's reopen of it at RETRIEVE_FD waits; the lease break's
 * SIGIO says the engine tried, and a STATUS answered afterwards that the
 * request is parked (one request per loop turn).  Then the test kills the
 * engine.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "daemon-harness.h"
#include "wire-client.h"

static void kill_and_wait(pid_t pid)
{
	dh_check_eq(kill(pid, SIGKILL), 0);
	dh_wait_gone(pid, 10000);
}

/* An unlinked tmpfs file with 4 bytes, its owner's O_RDWR fd. */
static int tmpfs_file(void)
{
	int fd = open("/dev/shm", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd < 0)
		dh_skip("no O_TMPFILE in /dev/shm");
	dh_check_eq(write(fd, "data", 4), 4);
	return fd;
}

/* The reply on @sock within @ms, as its result; -ETIMEDOUT if none. */
static int reply_within(int sock, int ms)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };
	struct liveupdate_session_retrieve_fd arg;
	struct luo_wire_rep rep;
	int r = poll(&p, 1, ms);

	if (r <= 0)
		return r ? -errno : -ETIMEDOUT;
	r = wc_recv(sock, &rep, &arg, sizeof(arg), NULL);
	return r ? r : rep.result;
}

int main(void)
{
	static const char *const args[] = { "--vault", NULL };
	struct liveupdate_session_retrieve_fd arg = {
		.size = sizeof(arg), .token = 1,
	};
	struct signalfd_siginfo si;
	struct luo_status st;
	struct dh_daemon d;
	struct pollfd sig = { .events = POLLIN };
	int dev, ctl, sfd, fd, rfd;
	char buf[8] = "";
	sigset_t set;
	pid_t engine;

	alarm(60);
	/* A lease holder gets SIGIO when its lease is to be broken. */
	sigemptyset(&set);
	sigaddset(&set, SIGIO);
	dh_check_eq(sigprocmask(SIG_BLOCK, &set, NULL), 0);
	sig.fd = signalfd(-1, &set, SFD_CLOEXEC);
	dh_check(sig.fd >= 0);
	dh_check_eq(dh_start(&d, args), 0);
	engine = dh_child_of(d.pid);
	dh_check(engine > 0);
	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	ctl = luo_open_at(d.socket, LUO_OPEN_CONTROL);
	dh_check(dev >= 0 && ctl >= 0);
	fd = tmpfs_file();
	sfd = luo_create_session(dev, "deferred");
	dh_check(sfd >= 0);
	dh_check_eq(luo_session_preserve_fd(sfd, fd, 1), 0);
	dh_check_eq(luo_session_handover(sfd, 0), 0);
	close(sfd);
	sfd = luo_retrieve_session(dev, "deferred");
	dh_check(sfd >= 0);
	if (fcntl(fd, F_SETLEASE, F_WRLCK) < 0)
		dh_skip("no leases on /dev/shm (fs.leases-enable?)");

	/* RETRIEVE_FD reopens the file: it waits for the lease. */
	dh_check_eq(wc_send(sfd, LIVEUPDATE_SESSION_RETRIEVE_FD, &arg,
			    sizeof(arg), NULL, 0), 0);
	/* The engine tried to open it: the lease is being broken. */
	dh_check_eq(poll(&sig, 1, 10000), 1);
	dh_check_eq(read(sig.fd, &si, sizeof(si)), (long)sizeof(si));
	/* Answered after the retrieve was handled: it is parked. */
	dh_check_eq(luo_status(ctl, &st), 0);
	dh_check_eq(reply_within(sfd, 0), -ETIMEDOUT);

	kill_and_wait(engine);
	/* The new engine answers: EIO, nothing done (no hang). */
	dh_check_eq(reply_within(sfd, 10000), -EIO);
	dh_check(dh_status_pid(d.socket) != engine);

	/* Nothing was retrieved: once the lease is gone, it is. */
	dh_check_eq(fcntl(fd, F_SETLEASE, F_UNLCK), 0);
	rfd = luo_session_retrieve_fd(sfd, 1);
	dh_check(rfd >= 0);
	dh_check_eq(pread(rfd, buf, 4, 0), 4);
	dh_check(!memcmp(buf, "data", 4));
	close(rfd);
	dh_check_eq(luo_session_finish(sfd), 0);
	close(sfd);
	close(fd);
	close(ctl);
	close(dev);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	printf("ok: a parked RETRIEVE_FD is answered EIO after a crash\n");
	return DH_PASS;
}
