// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Session and device fds are ordinary fds (SPEC.md 2.3, 2.4): they keep
 * working across dup, dup2, dup3 and F_DUPFD_CLOEXEC, in a forked child,
 * across exec (LD_PRELOAD is inherited under luo-run), and in another
 * process that received them with SCM_RIGHTS.  A number reused for
 * another file is that file again.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kst.h"

static bool name_is(int sfd, const char *want)
{
	char name[LIVEUPDATE_SESSION_NAME_LENGTH];

	return !kst_get_name(sfd, name) && !strcmp(name, want);
}

static void test_dup(void)
{
	int dev = kst_open_dev(), sfd = kst_create(dev, "dups"), d, mfd;

	d = dup(sfd);
	CHECK(name_is(d, "dups"));
	CHECK_OK(close(d));
	d = fcntl(sfd, F_DUPFD_CLOEXEC, 200);
	CHECK(d >= 200 && kst_cloexec(d) && name_is(d, "dups"));
	CHECK_OK(close(d));
	CHECK_EQ(dup3(sfd, 150, O_CLOEXEC), 150);
	CHECK(name_is(150, "dups"));
	/* The number goes to a memfd: ioctls on it are the memfd's again. */
	mfd = kst_memfd(8, 1, 0);
	CHECK_EQ(dup2(mfd, 150), 150);
	CHECK_ERR(kst_get_name(150, (char[LIVEUPDATE_SESSION_NAME_LENGTH]){ 0 }),
		  ENOTTY);
	CHECK_EQ(dup2(sfd, mfd), mfd);
	CHECK(name_is(mfd, "dups"));
	CHECK_OK(close(sfd));
	/* The device fd too. */
	d = dup(dev);
	CHECK_OK(close(dev));
	sfd = kst_create(d, "dups2");
	CHECK_OK(sfd);
	CHECK_OK(close(sfd));
	CHECK_OK(close(150));
	CHECK_OK(close(mfd));
	CHECK_OK(close(d));
}

static int wait_child(pid_t pid)
{
	int status;

	CHECK_EQ(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void test_fork(void)
{
	int dev = kst_open_dev(), sfd = kst_create(dev, "forked");
	int mfd = kst_memfd(32, 2, 0);
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (pid == 0)
		_exit(name_is(sfd, "forked") && !kst_preserve(sfd, mfd, 3) &&
		      kst_create(dev, "forked") < 0 && errno == EEXIST ? 0 : 1);
	CHECK_EQ(wait_child(pid), 0);
	CHECK_ERR(kst_preserve(sfd, mfd, 3), EEXIST);
	CHECK_OK(close(mfd));
	CHECK_OK(close(sfd));
	CHECK_OK(close(dev));
}

/* Re-execute this program as a child in @mode with @fd left open. */
static pid_t spawn(const char *mode, int fd)
{
	char arg[16];
	pid_t pid;

	snprintf(arg, sizeof(arg), "%d", fd);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		if (fcntl(fd, F_SETFD, 0) == 0)
			execl("/proc/self/exe", "test-fds", mode, arg,
			      (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void test_exec(void)
{
	int dev = kst_open_dev(), sfd = kst_create(dev, "execd");

	CHECK_EQ(wait_child(spawn("exec-child", sfd)), 0);
	CHECK_OK(close(sfd));
	CHECK_OK(close(dev));
}

static int exec_child(int sfd)
{
	return name_is(sfd, "execd") ? 0 : 1;
}

static void send_fd(int sock, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	char byte = 'x';
	struct iovec iov = { &byte, 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(fd));
	CHECK_EQ(sendmsg(sock, &msg, 0), 1);
}

static int recv_fd(int sock)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	char byte;
	struct iovec iov = { &byte, 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *c;
	int fd;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	return fd;
}

/* The child gets the session fd over the socket and preserves into it. */
static int scm_child(int sock)
{
	int sfd = recv_fd(sock), mfd = kst_memfd(64, 9, 0), ok;

	ok = sfd >= 0 && name_is(sfd, "passed") && !kst_preserve(sfd, mfd, 77);
	return ok ? 0 : 1;
}

static void test_scm_rights(void)
{
	int dev = kst_open_dev(), sfd = kst_create(dev, "passed"), sp[2];
	pid_t pid;

	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp));
	pid = spawn("scm-child", sp[1]);
	CHECK_OK(close(sp[1]));
	send_fd(sp[0], sfd);
	CHECK_EQ(wait_child(pid), 0);
	CHECK_ERR(kst_preserve(sfd, -1, 77), EEXIST);
	CHECK_OK(close(sp[0]));
	CHECK_OK(close(sfd));
	CHECK_OK(close(dev));
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "exec-child"))
		return exec_child(atoi(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "scm-child"))
		return scm_child(atoi(argv[2]));
	KST_RUN(test_dup);
	KST_RUN(test_fork);
	KST_RUN(test_exec);
	KST_RUN(test_scm_rights);
	return KST_PASS;
}
