// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * luo_open_at() never waits forever (issue 8 item 11): with
 * LUO_OPEN_TIMEOUT=1, an orchestrator that accepts the connection but
 * never answers the handshake, and one whose listen queue is full (it
 * stopped accepting), both give ETIMEDOUT after about a second.  An
 * alarm bounds the test where the library would hang.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <luo/libluo.h>

#define CHECK(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,	\
			__LINE__, #c);					\
		exit(1);						\
	}								\
} while (0)

static struct sockaddr_un sa = { .sun_family = AF_UNIX };

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int listener(int backlog)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0);
	unlink(sa.sun_path);
	CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CHECK(listen(fd, backlog) == 0);
	return fd;
}

/* luo_open_at() gives ETIMEDOUT after 1 to 5 seconds. */
static void check_times_out(void)
{
	double t0 = now(), dt;
	int r = luo_open_at(sa.sun_path, LUO_OPEN_CONTROL);

	dt = now() - t0;
	fprintf(stderr, "open: %s after %.2f s\n", strerror(-r), dt);
	CHECK(r == -ETIMEDOUT);
	CHECK(dt >= 0.9 && dt < 5);
}

static void on_alarm(int sig)
{
	static const char msg[] = "luo_open_at() hangs\n";

	(void)sig;
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(1);
}

int main(void)
{
	int lfd, fill[64], n = 0, fd, i;

	signal(SIGALRM, on_alarm);
	alarm(30);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/tmp/luo-open-timeout-%d",
		 (int)getpid());
	CHECK(setenv("LUO_OPEN_TIMEOUT", "1", 1) == 0);

	/* Accepted by the kernel's queue, never answered. */
	lfd = listener(16);
	check_times_out();
	close(lfd);

	/* The queue is full: connect() itself would wait. */
	lfd = listener(0);
	while (n < 64) {
		fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC |
			    SOCK_NONBLOCK, 0);
		CHECK(fd >= 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			CHECK(errno == EAGAIN);
			close(fd);
			break;
		}
		fill[n++] = fd;
	}
	CHECK(n < 64);
	check_times_out();
	for (i = 0; i < n; i++)
		close(fill[i]);
	close(lfd);
	unlink(sa.sun_path);
	return 0;
}
