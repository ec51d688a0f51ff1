// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A tiny socket-activated HTTP server for luo-listen's tests, written as
 * any service that reads LISTEN_FDS is: it checks LISTEN_PID, takes fds 3
 * to 3 + LISTEN_FDS - 1, prints "ready PID NFDS FDNAMES" on stdout and
 * answers every request (a header ending in an empty line) with
 * "HTTP/1.0 200 OK" and "ok", one connection at a time.  SIGTERM stops it
 * between two connections, never in the middle of one.
 *
 * Exit codes: 0 after SIGTERM, 3 if LISTEN_PID or LISTEN_FDS is wrong.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FDS	16

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void serve(int c)
{
	static const char reply[] =
		"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n";
	char buf[4096];
	size_t have = 0;
	ssize_t n;

	while (have < sizeof(buf) - 1) {
		n = read(c, buf + have, sizeof(buf) - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		have += (size_t)n;
		buf[have] = '\0';
		if (strstr(buf, "\r\n\r\n"))
			break;
	}
	for (size_t off = 0; off < sizeof(reply) - 1;) {
		n = write(c, reply + off, sizeof(reply) - 1 - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		off += (size_t)n;
	}
}

int main(void)
{
	const char *pid = getenv("LISTEN_PID"), *nfds = getenv("LISTEN_FDS");
	const char *names = getenv("LISTEN_FDNAMES");
	struct sigaction sa = { .sa_handler = on_term };
	struct pollfd p[MAX_FDS];
	int n;

	if (!pid || atol(pid) != (long)getpid() || !nfds)
		return 3;
	n = atoi(nfds);
	if (n < 1 || n > MAX_FDS)
		return 3;
	/* No SA_RESTART: SIGTERM interrupts poll(). */
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < n; i++)
		p[i] = (struct pollfd){ .fd = 3 + i, .events = POLLIN };
	printf("ready %ld %d %s\n", (long)getpid(), n, names ? names : "");
	fflush(stdout);
	while (!stop) {
		if (poll(p, (nfds_t)n, -1) < 0)
			continue;
		for (int i = 0; i < n; i++) {
			int c;

			/* Not an fd of ours: LISTEN_FDS lied. */
			if (p[i].revents & POLLNVAL)
				return 3;
			if (!(p[i].revents & POLLIN))
				continue;
			c = accept4(p[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (c < 0)
				continue;
			serve(c);
			close(c);
		}
	}
	return 0;
}
