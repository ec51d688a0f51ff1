// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A crash of the engine around a reply (liveupdated --vault; liveupdated(8),
 * "Crash recovery"): exactly one reply per request, and nothing a client
 * could not reach afterwards.
 *
 * With --fault-injection, LUO_FAULT_KILL_AT=STEP:FLAG kills the engine at
 * STEP once, when it can create FLAG: the test creates FLAG first and
 * removes it just before the request it aims at.  Steps:
 *
 *   reply-committed  the change and its reply committed, nothing sent:
 *                    a reply with a new session fd is undone (EIO, the
 *                    session removed or retrievable again); any other is
 *                    sent by the new engine
 *   reply-sent       after the sendmsg(): the client has its reply, and
 *                    the new engine sends no second one
 *
 * Each request is then followed by one whose answer a stale duplicate
 * would change (EEXIST, a second RETRIEVE's EINVAL).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "daemon-harness.h"

static char flag[64];

static int make_file(const char *data)
{
	int fd = memfd_create("reply-windows", MFD_CLOEXEC);

	dh_check(fd >= 0);
	dh_check_eq(pwrite(fd, data, strlen(data), 0), (long)strlen(data));
	return fd;
}

static void check_file(int fd, const char *data)
{
	char buf[64] = "";

	dh_check_eq(pread(fd, buf, sizeof(buf) - 1, 0), (long)strlen(data));
	dh_check(!strcmp(buf, data));
}

/* A daemon whose engine dies once at @step, after arm(). */
static pid_t start(struct dh_daemon *d, const char *step)
{
	return dh_start_killpoint(d, step, flag, sizeof(flag));
}

/* The next reply that reaches the step kills the engine. */
static void arm(void)
{
	dh_killpoint_arm(flag);
}

/* The engine died at the step, and a new one serves. */
static void killed(struct dh_daemon *d, pid_t engine)
{
	dh_killpoint_fired(d, engine, flag);
}

static void stop(struct dh_daemon *d)
{
	dh_killpoint_stop(d, flag);
}

/* A session "in" parked with token 1, for RETRIEVE_SESSION. */
static void park(int dev)
{
	int sfd = luo_create_session(dev, "in"), fd = make_file("parked");

	dh_check(sfd >= 0);
	dh_check_eq(luo_session_preserve_fd(sfd, fd, 1), 0);
	dh_check_eq(luo_session_handover(sfd, 0), 0);
	close(sfd);
	close(fd);
}

/*
 * CREATE_SESSION killed after its commit: undone, EIO; the name is free.
 * Killed after its send: the fd works, and the name is taken.
 */
static void test_create(const char *step, bool sent)
{
	struct dh_daemon d;
	pid_t engine = start(&d, step);
	int dev = luo_open_at(d.socket, LUO_OPEN_DEVICE), sfd, fd;

	dh_check(dev >= 0);
	arm();
	sfd = luo_create_session(dev, "new");
	killed(&d, engine);
	if (!sent) {
		dh_check_eq(sfd, -EIO);
		sfd = luo_create_session(dev, "new");
	}
	dh_check(sfd >= 0);
	fd = make_file("created");
	dh_check_eq(luo_session_preserve_fd(sfd, fd, 1), 0);
	close(fd);
	dh_check_eq(luo_create_session(dev, "new"), -EEXIST);
	dh_check_eq(luo_session_handover(sfd, 0), 0);
	close(sfd);
	sfd = luo_retrieve_session(dev, "new");
	dh_check(sfd >= 0);
	fd = luo_session_retrieve_fd(sfd, 1);
	dh_check(fd >= 0);
	check_file(fd, "created");
	close(fd);
	close(sfd);
	close(dev);
	stop(&d);
	printf("ok: CREATE_SESSION killed at %s\n", step);
}

/*
 * RETRIEVE_SESSION killed after its commit: undone, EIO; retrievable
 * again with its file.  Killed after its send: the fd is the session's.
 */
static void test_retrieve(const char *step, bool sent)
{
	struct dh_daemon d;
	pid_t engine = start(&d, step);
	int dev = luo_open_at(d.socket, LUO_OPEN_DEVICE), sfd, fd;

	dh_check(dev >= 0);
	park(dev);
	arm();
	sfd = luo_retrieve_session(dev, "in");
	killed(&d, engine);
	if (!sent) {
		dh_check_eq(sfd, -EIO);
		sfd = luo_retrieve_session(dev, "in");
	}
	dh_check(sfd >= 0);
	dh_check_eq(luo_retrieve_session(dev, "in"), -EINVAL);
	fd = luo_session_retrieve_fd(sfd, 1);
	dh_check(fd >= 0);
	check_file(fd, "parked");
	close(fd);
	dh_check_eq(luo_session_finish(sfd), 0);
	close(sfd);
	close(dev);
	stop(&d);
	printf("ok: RETRIEVE_SESSION killed at %s\n", step);
}

/*
 * PRESERVE_FD killed after its commit or its send: answered 0 once,
 * whichever engine sends it; the file is preserved.
 */
static void test_preserve(const char *step)
{
	struct dh_daemon d;
	pid_t engine = start(&d, step);
	int dev = luo_open_at(d.socket, LUO_OPEN_DEVICE), sfd, fd;

	dh_check(dev >= 0);
	sfd = luo_create_session(dev, "p");
	dh_check(sfd >= 0);
	fd = make_file("preserved");
	arm();
	dh_check_eq(luo_session_preserve_fd(sfd, fd, 1), 0);
	killed(&d, engine);
	dh_check_eq(luo_session_preserve_fd(sfd, fd, 1), -EEXIST);
	close(fd);
	dh_check_eq(luo_session_handover(sfd, 0), 0);
	close(sfd);
	sfd = luo_retrieve_session(dev, "p");
	dh_check(sfd >= 0);
	fd = luo_session_retrieve_fd(sfd, 1);
	dh_check(fd >= 0);
	check_file(fd, "preserved");
	close(fd);
	close(sfd);
	close(dev);
	stop(&d);
	printf("ok: PRESERVE_FD killed at %s\n", step);
}

int main(void)
{
	alarm(120);
	test_create("reply-committed", false);
	test_create("reply-sent", true);
	test_retrieve("reply-committed", false);
	test_retrieve("reply-sent", true);
	test_preserve("reply-committed");
	test_preserve("reply-sent");
	return DH_PASS;
}
