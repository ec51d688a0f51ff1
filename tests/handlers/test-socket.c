// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * socket-v1's callbacks called directly: a listening socket keeps its
 * backlog, an accepted connection its peer and unread bytes, a datagram
 * socket its queued datagrams, over IPv4, IPv6 and Unix; what is refused
 * says why; retrieve checks that the fd is still the recorded socket.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <linux/netlink.h>

#include "../common/check.h"
#include "sim.h"

static struct luo_file_handler *H(void)
{
	return luo_socket_handler();
}

/* A socket of @family bound to loopback, port 0; listening if @backlog. */
static int loopback(int family, int type, int backlog)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int s = socket(family, type | SOCK_CLOEXEC, 0);

	if (s < 0)
		return -1;
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_addr = in6addr_loopback;
		len = sizeof(*in6);
	}
	if (bind(s, (struct sockaddr *)&ss, len) < 0 ||
	    (backlog && listen(s, backlog) < 0)) {
		close(s);
		return -1;
	}
	return s;
}

/* A client connected to the address of @server. */
static int connect_to(int server, int type)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int c;

	if (getsockname(server, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	c = socket(ss.ss_family, type | SOCK_CLOEXEC, 0);
	if (c < 0)
		return -1;
	if (connect(c, (struct sockaddr *)&ss, len) < 0) {
		close(c);
		return -1;
	}
	return c;
}

/* Listening: a connection made while nobody accepts waits in the backlog. */
static int listening_keeps_backlog(int family)
{
	struct sim s;
	int l = loopback(family, SOCK_STREAM, 8), c, a;
	char got[3];

	if (l < 0 && family == AF_INET6)
		SKIP("no IPv6 loopback");
	CHECK(l >= 0);
	CHECK(sim_takes(H(), l));
	CHECK_EQ(sim_preserve(&s, H(), l), 0);
	close(l);
	c = connect_to(s.out.fd, SOCK_STREAM);
	CHECK(c >= 0);
	CHECK_EQ(write(c, "hi", 2), 2);
	CHECK_EQ(sim_reboot(&s), 0);
	CHECK_EQ(sim_retrieve(&s), 0);
	CHECK_EQ(same_ofd(s.in.retrieved_fd, s.in.fd), 0);
	CHECK(fcntl(s.in.retrieved_fd, F_GETFD) & FD_CLOEXEC);
	a = accept4(s.in.retrieved_fd, NULL, NULL, SOCK_CLOEXEC);
	CHECK(a >= 0);
	CHECK_EQ(read(a, got, sizeof(got)), 2);
	CHECK(!memcmp(got, "hi", 2));
	close(a);
	close(c);
	sim_finish(&s);
	return TEST_PASS;
}

static int test_tcp4_listening(void)
{
	return listening_keeps_backlog(AF_INET);
}

static int test_tcp6_listening(void)
{
	return listening_keeps_backlog(AF_INET6);
}

/* Accepted: the same peer, and the bytes it sent that nobody read yet. */
static int accepted_keeps_peer(int family)
{
	struct sockaddr_storage peer, cl;
	socklen_t plen = sizeof(peer), clen = sizeof(cl);
	struct sim s;
	int l = loopback(family, SOCK_STREAM, 1), c, a;
	char got[8];

	if (l < 0 && family == AF_INET6)
		SKIP("no IPv6 loopback");
	CHECK(l >= 0);
	c = connect_to(l, SOCK_STREAM);
	CHECK(c >= 0);
	a = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	CHECK(a >= 0);
	CHECK_EQ(write(c, "unread", 6), 6);
	CHECK_EQ(sim_cycle(&s, H(), a), 0);
	close(a);
	CHECK_EQ(getpeername(s.in.retrieved_fd, (struct sockaddr *)&peer, &plen), 0);
	CHECK_EQ(getsockname(c, (struct sockaddr *)&cl, &clen), 0);
	CHECK_EQ(plen, clen);
	CHECK(!memcmp(&peer, &cl, plen));
	CHECK_EQ(read(s.in.retrieved_fd, got, sizeof(got)), 6);
	CHECK(!memcmp(got, "unread", 6));
	CHECK_EQ(write(s.in.retrieved_fd, "back", 4), 4);
	CHECK_EQ(read(c, got, sizeof(got)), 4);
	CHECK(!memcmp(got, "back", 4));
	sim_finish(&s);
	close(c);
	close(l);
	return TEST_PASS;
}

static int test_tcp4_accepted(void)
{
	return accepted_keeps_peer(AF_INET);
}

static int test_tcp6_accepted(void)
{
	return accepted_keeps_peer(AF_INET6);
}

static int udp_keeps_datagrams(int family)
{
	struct sim s;
	int u = loopback(family, SOCK_DGRAM, 0), c;
	char got[8];

	if (u < 0 && family == AF_INET6)
		SKIP("no IPv6 loopback");
	CHECK(u >= 0);
	c = connect_to(u, SOCK_DGRAM);
	CHECK(c >= 0);
	CHECK_EQ(send(c, "one", 3, 0), 3);
	CHECK_EQ(send(c, "two", 3, 0), 3);
	CHECK_EQ(sim_cycle(&s, H(), u), 0);
	close(u);
	CHECK_EQ(recv(s.in.retrieved_fd, got, sizeof(got), 0), 3);
	CHECK(!memcmp(got, "one", 3));
	CHECK_EQ(recv(s.in.retrieved_fd, got, sizeof(got), 0), 3);
	CHECK(!memcmp(got, "two", 3));
	sim_finish(&s);
	close(c);
	return TEST_PASS;
}

static int test_udp4(void)
{
	return udp_keeps_datagrams(AF_INET);
}

static int test_udp6(void)
{
	return udp_keeps_datagrams(AF_INET6);
}

/*
 * A Unix socket pair made by another process: one made here has this
 * process as its peer, which is what the daemon's own sockets look like.
 */
static int foreign_pair(int type, int sv[2])
{
	char cbuf[CMSG_SPACE(2 * sizeof(int))], b = 0;
	struct iovec iov = { &b, 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	int t[2], status;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, t) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
		int p[2];

		if (socketpair(AF_UNIX, type, 0, p) < 0)
			_exit(1);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(p));
		memcpy(CMSG_DATA(cm), p, sizeof(p));
		_exit(sendmsg(t[1], &msg, 0) == 1 ? 0 : 1);
	}
	close(t[1]);
	if (pid < 0 || recvmsg(t[0], &msg, MSG_CMSG_CLOEXEC) != 1 ||
	    !CMSG_FIRSTHDR(&msg)) {
		close(t[0]);
		if (pid > 0)
			waitpid(pid, NULL, 0);
		return -1;
	}
	memcpy(sv, CMSG_DATA(CMSG_FIRSTHDR(&msg)), 2 * sizeof(int));
	close(t[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int unix_keeps_bytes(int type)
{
	struct sim s;
	char got[8];
	int sv[2];

	CHECK_EQ(foreign_pair(type, sv), 0);
	CHECK_EQ(send(sv[1], "unix", 4, 0), 4);
	CHECK_EQ(sim_cycle(&s, H(), sv[0]), 0);
	close(sv[0]);
	CHECK_EQ(recv(s.in.retrieved_fd, got, sizeof(got), 0), 4);
	CHECK(!memcmp(got, "unix", 4));
	CHECK_EQ(send(s.in.retrieved_fd, "back", 4, 0), 4);
	CHECK_EQ(recv(sv[1], got, sizeof(got), 0), 4);
	sim_finish(&s);
	close(sv[1]);
	return TEST_PASS;
}

static int test_unix_stream(void)
{
	return unix_keeps_bytes(SOCK_STREAM);
}

static int test_unix_dgram(void)
{
	return unix_keeps_bytes(SOCK_DGRAM);
}

static int test_unix_seqpacket(void)
{
	return unix_keeps_bytes(SOCK_SEQPACKET);
}

static int check_refused(int fd, const char *why)
{
	const char *r;

	CHECK(!sim_takes(H(), fd));
	CHECK(builtin_taker(fd) == NULL);
	r = H()->ops->refuse_reason(H(), fd);
	CHECK(r && strstr(r, why));
	return TEST_PASS;
}

static int test_refusals(void)
{
	int n = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	int sv[2], r, p[2];

	CHECK(n >= 0);
	r = check_refused(n, "netlink");
	close(n);
	if (r)
		return r;
	/* A pair made here: its peer is this process, like a session fd. */
	CHECK_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	r = check_refused(sv[0], "liveupdated itself");
	close(sv[0]);
	close(sv[1]);
	if (r)
		return r;
	n = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_ICMP);
	if (n >= 0) {
		r = check_refused(n, "TCP and UDP");
		close(n);
		if (r)
			return r;
	}
	n = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (n >= 0) {
		r = check_refused(n, "packet");
		close(n);
		if (r)
			return r;
	}
	/* Not a socket: not this handler's to explain. */
	CHECK_EQ(pipe2(p, O_CLOEXEC), 0);
	CHECK(H()->ops->refuse_reason(H(), p[0]) == NULL);
	close(p[0]);
	close(p[1]);
	return TEST_PASS;
}

static int test_retrieve_checks_the_socket(void)
{
	struct sim s;
	int l = loopback(AF_INET, SOCK_STREAM, 1);
	int other = loopback(AF_INET, SOCK_STREAM, 1);
	int udp = loopback(AF_INET, SOCK_DGRAM, 0), p[2];

	CHECK(l >= 0 && other >= 0 && udp >= 0 && pipe2(p, O_CLOEXEC) == 0);
	CHECK_EQ(sim_preserve(&s, H(), l), 0);
	CHECK_EQ(sim_reboot(&s), 0);
	/* Another address; another protocol; not a socket. */
	int others[] = { other, udp, p[0] };

	for (size_t i = 0; i < 3; i++) {
		int keep = s.in.fd;

		s.in.fd = others[i];
		CHECK_EQ(H()->ops->retrieve(&s.in), -EINVAL);
		CHECK_EQ(s.in.retrieved_fd, -1);
		s.in.fd = keep;
	}
	s.in.data_len = 12;
	CHECK_EQ(H()->ops->retrieve(&s.in), -EINVAL);
	s.in.data_len = s.out.data_len;
	s.in.data[12] = 0x80;	/* an unknown flag */
	CHECK_EQ(H()->ops->retrieve(&s.in), -EOPNOTSUPP);
	s.in.data[12] = 1;
	CHECK_EQ(sim_retrieve(&s), 0);
	sim_finish(&s);
	close(l);
	close(other);
	close(udp);
	close(p[0]);
	close(p[1]);
	return TEST_PASS;
}

/* The identity is the socket: two fds of one socket are one file. */
static int test_get_id(void)
{
	struct luo_file_id a, b, c;
	int s = loopback(AF_INET, SOCK_DGRAM, 0), t = loopback(AF_INET, SOCK_DGRAM, 0);
	int d = dup(s);

	CHECK(s >= 0 && t >= 0 && d >= 0);
	CHECK_EQ(H()->ops->get_id(H(), s, &a), 0);
	CHECK_EQ(H()->ops->get_id(H(), d, &b), 0);
	CHECK_EQ(H()->ops->get_id(H(), t, &c), 0);
	CHECK(a.a == b.a && a.b == b.b);
	CHECK(a.b != c.b);
	close(s);
	close(t);
	close(d);
	return TEST_PASS;
}

int main(int argc, char **argv)
{
	static const struct test_case cases[] = {
		TEST_CASE(test_tcp4_listening),
		TEST_CASE(test_tcp6_listening),
		TEST_CASE(test_tcp4_accepted),
		TEST_CASE(test_tcp6_accepted),
		TEST_CASE(test_udp4),
		TEST_CASE(test_udp6),
		TEST_CASE(test_unix_stream),
		TEST_CASE(test_unix_dgram),
		TEST_CASE(test_unix_seqpacket),
		TEST_CASE(test_refusals),
		TEST_CASE(test_retrieve_checks_the_socket),
		TEST_CASE(test_get_id),
	};

	return test_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv, NULL);
}
