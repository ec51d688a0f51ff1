// SPDX-License-Identifier: LGPL-2.1-or-later
/* blackout-probe: connections and whole-message I/O on 127.0.0.1. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bo.h"

/**
 * bo_now() - CLOCK_MONOTONIC in seconds
 *
 * Return: the time.
 */
double bo_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/**
 * bo_connect() - a TCP connection to 127.0.0.1:@port, without Nagle
 * @port: the port
 *
 * Return: the socket or -errno.
 */
int bo_connect(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, ret;

	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

/**
 * bo_connect_retry() - connect until the server listens again
 * @port:    the port
 * @limit_s: give up after this many seconds
 *
 * A client that reconnects as soon as it can: refused attempts are retried
 * at once, yielding the CPU in between.
 *
 * Return: the socket or -errno of the last attempt.
 */
int bo_connect_retry(int port, double limit_s)
{
	double end = bo_now() + limit_s;
	int fd;

	for (;;) {
		fd = bo_connect(port);
		if (fd >= 0 || (fd != -ECONNREFUSED && fd != -ECONNRESET) ||
		    bo_now() > end)
			return fd;
		sched_yield();
	}
}

/**
 * bo_writev_all() - send every byte of an iovec array
 * @fd:  a blocking socket
 * @iov: the array, consumed
 * @n:   its entries
 *
 * Return: 0 or -errno.
 */
int bo_writev_all(int fd, struct iovec *iov, int n)
{
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)n };

	while (msg.msg_iovlen) {
		ssize_t w = sendmsg(fd, &msg, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		while (msg.msg_iovlen && (size_t)w >= msg.msg_iov->iov_len) {
			w -= (ssize_t)msg.msg_iov->iov_len;
			msg.msg_iov++;
			msg.msg_iovlen--;
		}
		if (msg.msg_iovlen) {
			msg.msg_iov->iov_base = (char *)msg.msg_iov->iov_base + w;
			msg.msg_iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/**
 * bo_send_str() - send a string whole
 * @fd: a blocking socket
 * @s:  the string
 *
 * Return: 0 or -errno.
 */
int bo_send_str(int fd, const char *s)
{
	struct iovec iov = { .iov_base = (void *)s, .iov_len = strlen(s) };

	return bo_writev_all(fd, &iov, 1);
}

static int ends_with(const char *buf, size_t n, const char *end)
{
	size_t e = strlen(end);

	return n >= e && !memcmp(buf + n - e, end, e);
}

/**
 * bo_read_reply() - read one reply, up to and including its last line
 * @fd:   a blocking socket
 * @buf:  where
 * @size: its size
 * @end:  what the reply ends with ("END\r\n", "\r\n")
 *
 * The caller asked one question, so whatever arrives is the answer.
 *
 * Return: the reply's length; -EPIPE at end of file, -EMSGSIZE if it does
 * not fit, or -errno.
 */
ssize_t bo_read_reply(int fd, char *buf, size_t size, const char *end)
{
	size_t n = 0;

	while (!ends_with(buf, n, end)) {
		ssize_t r;

		if (n == size)
			return -EMSGSIZE;
		r = recv(fd, buf + n, size - n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EPIPE;
		n += (size_t)r;
	}
	return (ssize_t)n;
}
