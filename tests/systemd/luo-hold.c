// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The client of the systemd test (run-nspawn.sh), run inside the
 * container against the service's socket:
 *
 *   luo-hold hold READYFILE SESSION TEXT DIR [SESSION TEXT DIR]...
 *	opens the device (one holder at a time: it is exclusive) and, for
 *	each SESSION, creates it and preserves in it a memfd holding TEXT
 *	(token 1), a regular file DIR/SESSION.txt holding TEXT (token 2; DIR
 *	is on /tmp or /home, which the service sees privately or not at
 *	all) and a TCP socket listening on 127.0.0.1 (token 3; the service
 *	may create no TCP socket of its own); writes READYFILE and waits for
 *	SIGTERM, keeping the session fds open (so that a REBOOT hands the
 *	sessions over).
 *   luo-hold retrieve SESSION TEXT
 *	retrieves SESSION in the next update, checks the three files (the
 *	memfd and the regular file hold TEXT, the socket is a listening TCP
 *	socket on 127.0.0.1) and finishes it.
 *   luo-hold linger READYFILE SECONDS
 *	preserves, in a new session, a TCP connection to a peer that reads
 *	nothing, with a full send queue and SO_LINGER of SECONDS: a socket
 *	whose last close waits; writes READYFILE and waits for SIGTERM.
 *   luo-hold time N
 *	preserves N memfds in a new session, one call after the other, and
 *	prints the mean time of a call (the cost of the fd store's barrier
 *	through PID 1, when the unit runs with the store); closes the
 *	session, which discards them.
 *
 * Exit status 0 when all is as said, 1 with a message otherwise.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <luo/libluo.h>

static int fail(const char *what, int err)
{
	fprintf(stderr, "luo-hold: %s: %s\n", what,
		strerror(err < 0 ? -err : err));
	exit(1);
}

static void check_text(int fd, const char *text, const char *what)
{
	char buf[256] = "";
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n < 0)
		fail(what, errno);
	if (strcmp(buf, text)) {
		fprintf(stderr, "luo-hold: %s holds \"%s\", not \"%s\"\n",
			what, buf, text);
		exit(1);
	}
}

static void hold_one(int dev, const char *name, const char *text,
		     const char *dir)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char path[PATH_MAX];
	int sfd, m, f, s, r;

	sfd = luo_create_session(dev, name);
	if (sfd < 0)
		fail("luo_create_session", sfd);
	m = memfd_create("luo-hold", MFD_CLOEXEC);
	if (m < 0 || write(m, text, strlen(text)) != (ssize_t)strlen(text))
		fail("memfd", errno);
	r = luo_session_preserve_fd(sfd, m, 1);
	if (r)
		fail("preserve memfd", r);
	snprintf(path, sizeof(path), "%s/%s.txt", dir, name);
	f = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (f < 0 || write(f, text, strlen(text)) != (ssize_t)strlen(text))
		fail(path, errno);
	r = luo_session_preserve_fd(sfd, f, 2);
	if (r)
		fail("preserve regular file", r);
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(s, 8) < 0)
		fail("TCP socket", errno);
	r = luo_session_preserve_fd(sfd, s, 3);
	if (r)
		fail("preserve TCP socket", r);
	close(m);
	close(s);
}

static int hold(const char *ready, char **args, int n)
{
	sigset_t set;
	int dev, f;

	dev = luo_open();
	if (dev < 0)
		fail("luo_open", dev);
	for (; n >= 3; args += 3, n -= 3)
		hold_one(dev, args[0], args[1], args[2]);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	f = open(ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (f < 0)
		fail(ready, errno);
	close(f);
	sigwaitinfo(&set, NULL);
	return 0;
}

static int retrieve(const char *name, const char *text)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int dev, sfd, fd, r, on = 0;

	dev = luo_open();
	if (dev < 0)
		fail("luo_open", dev);
	sfd = luo_retrieve_session(dev, name);
	if (sfd < 0)
		fail("luo_retrieve_session", sfd);
	fd = luo_session_retrieve_fd(sfd, 1);
	if (fd < 0)
		fail("retrieve memfd", fd);
	check_text(fd, text, "the memfd");
	fd = luo_session_retrieve_fd(sfd, 2);
	if (fd < 0)
		fail("retrieve regular file", fd);
	check_text(fd, text, "the regular file");
	fd = luo_session_retrieve_fd(sfd, 3);
	if (fd < 0)
		fail("retrieve TCP socket", fd);
	len = sizeof(on);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) < 0 || !on)
		fail("the TCP socket is not listening", errno ? errno : EINVAL);
	len = sizeof(sa);
	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0 ||
	    sa.sin_family != AF_INET ||
	    sa.sin_addr.s_addr != htonl(INADDR_LOOPBACK))
		fail("the TCP socket's address", errno ? errno : EINVAL);
	r = luo_session_finish(sfd);
	if (r)
		fail("luo_session_finish", r);
	printf("luo-hold: %s: memfd, regular file and TCP socket on port %u "
	       "kept\n", name, (unsigned int)ntohs(sa.sin_port));
	return 0;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int time_preserves(long n)
{
	int dev, sfd, r;
	double start;

	dev = luo_open();
	if (dev < 0)
		fail("luo_open", dev);
	sfd = luo_create_session(dev, "luo-hold-time");
	if (sfd < 0)
		fail("luo_create_session", sfd);
	start = now_us();
	for (long i = 0; i < n; i++) {
		/* A new description each time: each is stored. */
		int m = memfd_create("luo-hold-time", MFD_CLOEXEC);

		if (m < 0)
			fail("memfd_create", errno);
		r = luo_session_preserve_fd(sfd, m, (uint64_t)i + 1);
		if (r)
			fail("luo_session_preserve_fd", r);
		close(m);
	}
	printf("luo-hold: %ld preserves: %.1f us each\n", n,
	       (now_us() - start) / (double)n);
	luo_close(sfd);
	luo_close(dev);
	return 0;
}

static int linger(const char *ready, int secs)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct linger lg = { .l_onoff = 1, .l_linger = secs };
	socklen_t len = sizeof(sa);
	int lst, cli, peer, dev, sfd, r, small = 4096;
	char buf[65536] = { 0 };
	sigset_t set;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lst = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lst < 0 || bind(lst, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(lst, 1) || getsockname(lst, (struct sockaddr *)&sa, &len))
		fail("listener", errno);
	cli = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	setsockopt(cli, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	if (connect(cli, (struct sockaddr *)&sa, sizeof(sa)) && errno != EINPROGRESS)
		fail("connect", errno);
	peer = accept4(lst, NULL, NULL, SOCK_CLOEXEC);
	if (peer < 0)
		fail("accept", errno);
	setsockopt(peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	while (write(cli, buf, sizeof(buf)) > 0)
		;
	if (setsockopt(cli, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)))
		fail("SO_LINGER", errno);
	dev = luo_open();
	if (dev < 0)
		fail("luo_open", dev);
	sfd = luo_create_session(dev, "linger");
	if (sfd < 0)
		fail("luo_create_session", sfd);
	r = luo_session_preserve_fd(sfd, cli, 1);
	if (r)
		fail("preserve", r);
	close(cli);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	r = open(ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (r < 0)
		fail(ready, errno);
	close(r);
	sigwaitinfo(&set, NULL);
	(void)peer;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 6 && argc % 3 == 0 && !strcmp(argv[1], "hold"))
		return hold(argv[2], argv + 3, argc - 3);
	if (argc == 4 && !strcmp(argv[1], "retrieve"))
		return retrieve(argv[2], argv[3]);
	if (argc == 4 && !strcmp(argv[1], "linger"))
		return linger(argv[2], atoi(argv[3]));
	if (argc == 3 && !strcmp(argv[1], "time") && atol(argv[2]) > 0)
		return time_preserves(atol(argv[2]));
	fprintf(stderr, "usage: luo-hold hold READYFILE SESSION TEXT DIR...\n"
		"       luo-hold retrieve SESSION TEXT\n"
		"       luo-hold time N\n");
	return 2;
}
