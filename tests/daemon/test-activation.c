// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Issue 10, item 1: socket activation.  The daemon serves on the listening
 * socket a service manager passes (LISTEN_FDS=1, LISTEN_PID, fd 3) instead
 * of making its own: a client that connected before the daemon ran is
 * served; the socket crosses a REBOOT; at shut-down, before and after a
 * REBOOT, the socket file (the manager's) stays, and the manager's socket
 * still takes connections.  A socket of the wrong type, or two sockets,
 * are refused with a reason and exit status 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "daemon-harness.h"
#include "wire-client.h"

static char dir[PATH_MAX];

static int make_listener(const char *path, int type)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

	dh_check(fd >= 0);
	dh_check(strlen(path) < sizeof(sa.sun_path));
	strcpy(sa.sun_path, path);
	unlink(path);
	dh_check_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	dh_check_eq(listen(fd, 16), 0);
	return fd;
}

/*
 * Starts the daemon as a service manager would: the @n sockets in @fds at
 * fd 3 onwards, LISTEN_FDS and LISTEN_PID; no --socket.  Its stderr goes
 * to *@err (a pipe).  Return: 0 once ready, -ECHILD if it exited first.
 */
static int start_activated(struct dh_daemon *d, const int *fds, int n,
			   int *err)
{
	int ready[2], e[2], i;
	char buf[16] = "";
	ssize_t got;

	memset(d, 0, sizeof(*d));
	dh_check_eq(pipe2(ready, O_CLOEXEC), 0);
	dh_check_eq(pipe2(e, O_CLOEXEC), 0);
	d->pid = fork();
	dh_check(d->pid >= 0);
	if (d->pid == 0) {
		char pid[16], nfds[16];

		/* Out of the way of fds 3..: the ready pipe at 20, stderr. */
		if (dup2(ready[1], 20) < 0 || dup2(e[1], 2) < 0)
			_exit(127);
		for (i = 0; i < n; i++)
			if (dup2(fds[i], 30 + i) < 0)
				_exit(127);
		for (i = 0; i < n; i++)
			if (dup2(30 + i, 3 + i) < 0)
				_exit(127);
		snprintf(pid, sizeof(pid), "%d", (int)getpid());
		snprintf(nfds, sizeof(nfds), "%d", n);
		setenv("LISTEN_PID", pid, 1);
		setenv("LISTEN_FDS", nfds, 1);
		execl(dh_binary(), dh_binary(), "--ready-fd", "20",
		      "--log-level", "debug", (char *)NULL);
		_exit(127);
	}
	close(ready[1]);
	close(e[1]);
	*err = e[0];
	got = read(ready[0], buf, sizeof(buf) - 1);
	close(ready[0]);
	if (got == 8 && !strncmp(buf, "READY=1\n", 8))
		return 0;
	dh_wait(d);
	return -ECHILD;
}

/* Everything the daemon wrote on stderr until it closed it. */
static void read_all(int fd, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len - 1 && (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(fd);
}

static void check_status(const char *path, pid_t pid, uint32_t outgoing)
{
	struct luo_status st = { .size = sizeof(st) };
	int ctl = luo_open_at(path, LUO_OPEN_CONTROL);

	dh_check(ctl >= 0);
	dh_check_eq(luo_status(ctl, &st), 0);
	dh_check_eq(st.pid, (uint32_t)pid);
	dh_check_eq(st.nr_outgoing, outgoing);
	luo_close(ctl);
}

static void test_adopt(bool reboot)
{
	char path[PATH_MAX + 32], log[65536];
	struct luo_status st = { .size = sizeof(st) };
	struct stat before, after;
	struct timeval limit = { .tv_sec = 10 };
	struct dh_daemon d;
	int lfd, early, dev, sfd, ctl, err, probe;
	pid_t engine;
	uint64_t upd;

	snprintf(path, sizeof(path), "%s/liveupdate.sock", dir);
	lfd = make_listener(path, SOCK_SEQPACKET);
	dh_check_eq(stat(path, &before), 0);
	/* A client connects before the daemon runs: it is in the backlog. */
	early = wc_connect(path);
	dh_check(early >= 0);
	/* Not served (a daemon on a socket of its own): fail, never hang. */
	dh_check_eq(setsockopt(early, SOL_SOCKET, SO_RCVTIMEO, &limit,
			       sizeof(limit)), 0);
	dh_check_eq(start_activated(&d, &lfd, 1, &err), 0);
	dh_check_eq(wc_handshake(early, LUO_WIRE_MODE_CONTROL), 0);
	dh_check_eq(wc_call(early, LUO_IOCTL_STATUS, &st, sizeof(st), -1,
			    NULL), 0);
	/* Under the vault, its engine serves the socket passed on to it. */
	dh_check_eq(st.pid, (uint32_t)dh_engine_pid(&d));
	close(early);
	dev = luo_open_at(path, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	sfd = luo_create_session(dev, "activated");
	dh_check(sfd >= 0);
	if (reboot) {
		ctl = luo_open_at(path, LUO_OPEN_CONTROL);
		dh_check(ctl >= 0);
		dh_check_eq(luo_reboot(ctl, -1, &upd), 0);
		luo_close(ctl);
		/* The same socket serves the new image. */
		check_status(path, dh_engine_pid(&d), 0);
	} else {
		check_status(path, dh_engine_pid(&d), 1);
	}
	/*
	 * The vault holds the socket through a crash of the engine: a client
	 * that connects meanwhile waits in its backlog for the next engine,
	 * which serves the session as it was.
	 */
	engine = dh_engine_pid(&d);
	dh_check(engine > 0);
	dh_check_eq(kill(engine, SIGKILL), 0);
	ctl = luo_open_at(path, LUO_OPEN_CONTROL);
	dh_check(ctl >= 0);
	dh_check_eq(luo_status(ctl, &st), 0);
	dh_check(st.pid != (uint32_t)engine);
	dh_check_eq(st.pid, (uint32_t)dh_engine_pid(&d));
	dh_check_eq(st.nr_outgoing, reboot ? 0 : 1);
	luo_close(ctl);
	close(sfd);
	luo_close(dev);
	dh_check_eq(dh_stop(&d), 0);
	read_all(err, log, sizeof(log));
	if (!strstr(log, "socket activation")) {
		fprintf(stderr, "%s", log);
		dh_check(!"the daemon says it serves the passed socket");
	}
	/* The socket file is the manager's: still there, still listening. */
	dh_check_eq(stat(path, &after), 0);
	dh_check_eq(after.st_ino, before.st_ino);
	probe = wc_connect(path);
	dh_check(probe >= 0);
	close(probe);
	close(lfd);
	unlink(path);
}

static void test_refused(int type, int n, const char *want)
{
	char path[PATH_MAX + 32], log[65536];
	struct dh_daemon d;
	int fds[2], err, i;

	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/s%d", dir, i);
		fds[i] = make_listener(path, type);
	}
	dh_check_eq(start_activated(&d, fds, n, &err), -ECHILD);
	dh_check_eq(dh_exit_code(d.status), 1);
	read_all(err, log, sizeof(log));
	if (!strstr(log, want)) {
		fprintf(stderr, "stderr: %s\nwanted: %s\n", log, want);
		dh_check(!"the daemon says why it refuses the socket");
	}
	for (i = 0; i < n; i++) {
		close(fds[i]);
		snprintf(path, sizeof(path), "%s/s%d", dir, i);
		unlink(path);
	}
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/luo-activation-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	dh_check(mkdtemp(dir) != NULL);
	signal(SIGPIPE, SIG_IGN);
	test_adopt(false);
	test_adopt(true);
	test_refused(SOCK_STREAM, 1, "ListenSequentialPacket=");
	test_refused(SOCK_SEQPACKET, 2, "exactly one socket");
	rmdir(dir);
	return DH_PASS;
}
