// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * luo_ioctl() against a fake daemon: what travels, what comes back, which
 * fds are installed and which are closed.
 */
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "fake.h"

/* A request every script ends with, to show nothing came before it. */
#define MARKER_TOKEN	0x6d61726b6572ull

static int send_marker(int fd)
{
	struct liveupdate_session_finish f = {
		.size = sizeof(f), .reserved = 0x4d,
	};

	return luo_ioctl(fd, LIVEUPDATE_SESSION_FINISH, &f);
}

static bool is_marker(const struct fake_msg *m)
{
	uint32_t reserved;

	memcpy(&reserved, m->arg + 4, 4);
	return m->req.cmd == LIVEUPDATE_SESSION_FINISH && m->req.len == 8 &&
	       reserved == 0x4d && m->nr_fds == 0;
}

static int expect_marker(int s)
{
	struct fake_msg m;

	CHECK_EQ(fake_recv(s, &m), 0);
	CHECK(is_marker(&m));
	fake_close_fds(&m);
	return fake_reply(s, 0, m.arg, 8, NULL, 0, -1);
}

/* --- copy-back ------------------------------------------------------- */

static int srv_copyback(int s, void *ctx)
{
	struct liveupdate_session_get_name g = { .size = sizeof(g) };
	struct fake_msg m;
	uint32_t size;

	/* 1: a struct larger than the kernel's: all of it travels. */
	CHECK_EQ(fake_recv(s, &m), 0);
	CHECK_EQ(m.req.cmd, LIVEUPDATE_SESSION_GET_NAME);
	CHECK_EQ(m.req.len, 100);
	CHECK_EQ(m.n, sizeof(m.req) + 100);
	memcpy(&size, m.arg, 4);
	CHECK_EQ(size, 100);
	CHECK_EQ(m.arg[99], 0x5a);
	strcpy((char *)g.name, "hello");
	g.size = 100;
	fake_reply(s, 0, &g, sizeof(g), NULL, 0, -1);

	/* 2: a copy-back longer than the caller's size is refused. */
	CHECK_EQ(fake_recv(s, &m), 0);
	CHECK_EQ(m.req.len, 72);
	fake_reply(s, 0, m.arg, 80, NULL, 0, -1);
	CHECK_EQ(fake_recv(s, &m), 0);
	CHECK_EQ(m.req.len, 16);
	fake_reply(s, 0, m.arg, 24, NULL, 0, -1);

	/* 3: an error result with no bytes leaves the struct alone. */
	CHECK_EQ(fake_recv(s, &m), 0);
	fake_reply(s, -EINVAL, NULL, 0, NULL, 0, -1);

	/* 4: a size below 4 still sends the size word. */
	CHECK_EQ(fake_recv(s, &m), 0);
	CHECK_EQ(m.req.len, 4);
	memcpy(&size, m.arg, 4);
	CHECK_EQ(size, 2);
	fake_reply(s, -EINVAL, NULL, 0, NULL, 0, -1);

	/* 5: header and length disagree. */
	CHECK_EQ(fake_recv(s, &m), 0);
	{
		struct luo_wire_rep rep = { .result = 0, .len = 40 };

		fake_send_raw(s, &rep, sizeof(rep), NULL, 0);
	}
	/* 6: too short for a header. */
	CHECK_EQ(fake_recv(s, &m), 0);
	fake_send_raw(s, "abc", 3, NULL, 0);
	/* 7: a positive result. */
	CHECK_EQ(fake_recv(s, &m), 0);
	fake_reply(s, 5, NULL, 0, NULL, 0, -1);
	return expect_marker(s);
}

static void test_copyback(void)
{
	unsigned char buf[100];
	struct liveupdate_session_get_name *g = (void *)buf;
	struct liveupdate_session_preserve_fd p;
	uint32_t tiny = 2;
	int fd;
	pid_t pid = fake_start(&fd, srv_copyback, NULL);

	memset(buf, 0x5a, sizeof(buf));
	g->size = sizeof(buf);
	g->reserved = 0;
	CHECK_EQ(luo_ioctl(fd, LIVEUPDATE_SESSION_GET_NAME, buf), 0);
	CHECK(!strcmp((char *)g->name, "hello"));
	CHECK_EQ(g->size, 100);
	/* Bytes beyond the kernel struct are left untouched. */
	CHECK_EQ(buf[72], 0x5a);
	CHECK_EQ(buf[99], 0x5a);

	memset(buf, 0, sizeof(buf));
	g->size = 72;
	CHECK_EQ(luo_ioctl(fd, LIVEUPDATE_SESSION_GET_NAME, buf), -EPROTO);
	memset(&p, 0, sizeof(p));
	p.size = sizeof(p);
	p.fd = -1;
	CHECK_EQ(luo_ioctl(fd, LIVEUPDATE_SESSION_PRESERVE_FD, &p), -EPROTO);

	memset(buf, 0x11, sizeof(buf));
	g->size = 72;
	CHECK_EQ(luo_ioctl(fd, LIVEUPDATE_SESSION_GET_NAME, buf), -EINVAL);
	CHECK_EQ(buf[8], 0x11);

	CHECK_EQ(luo_ioctl(fd, LIVEUPDATE_SESSION_FINISH, &tiny), -EINVAL);

	memset(buf, 0, sizeof(buf));
	g->size = 72;
	CHECK_EQ(luo_ioctl(fd, LIVEUPDATE_SESSION_GET_NAME, buf), -EPROTO);
	CHECK_EQ(luo_ioctl(fd, LIVEUPDATE_SESSION_GET_NAME, buf), -EPROTO);
	CHECK_EQ(luo_ioctl(fd, LIVEUPDATE_SESSION_GET_NAME, buf), -EPROTO);

	CHECK_EQ(send_marker(fd), 0);
	close(fd);
	CHECK_SERVER(pid);
}

/* --- sizes beyond LUO_WIRE_MAX_ARG ----------------------------------- */

static int srv_big(int s, void *ctx)
{
	struct fake_msg m;
	uint32_t size;

	/* The one with a non-zero tail never arrives. */
	CHECK_EQ(fake_recv(s, &m), 0);
	CHECK_EQ(m.req.cmd, LIVEUPDATE_SESSION_GET_NAME);
	CHECK_EQ(m.req.len, LUO_WIRE_MAX_ARG);
	memcpy(&size, m.arg, 4);
	CHECK_EQ(size, 8192);
	fake_reply(s, 0, m.arg, 72, NULL, 0, -1);
	return expect_marker(s);
}

static void test_big(void)
{
	unsigned char *buf = calloc(1, 8192);
	uint32_t size = 8192;
	int fd;
	pid_t pid = fake_start(&fd, srv_big, NULL);

	memcpy(buf, &size, 4);
	buf[5000] = 1;
	CHECK_EQ(luo_ioctl(fd, LIVEUPDATE_SESSION_GET_NAME, buf), -E2BIG);
	buf[5000] = 0;
	buf[8191] = 7;
	CHECK_EQ(luo_ioctl(fd, LIVEUPDATE_SESSION_GET_NAME, buf), -E2BIG);
	buf[8191] = 0;
	buf[4095] = 9;	/* inside the sent part: the daemon's business */
	CHECK_EQ(luo_ioctl(fd, LIVEUPDATE_SESSION_GET_NAME, buf), 0);
	CHECK_EQ(send_marker(fd), 0);
	close(fd);
	CHECK_SERVER(pid);
	free(buf);
}

/* --- fds coming back --------------------------------------------------- */

static int srv_fds(int s, void *ctx)
{
	struct liveupdate_ioctl_create_session c;
	struct fake_msg m;
	int p[2], many[10], i;

	if (pipe(p) < 0)
		return 1;

	/* 1: CREATE_SESSION: the fd goes into the struct. */
	CHECK_EQ(fake_recv(s, &m), 0);
	CHECK_EQ(m.req.cmd, LIVEUPDATE_IOCTL_CREATE_SESSION);
	CHECK_EQ(m.req.len, 72);
	CHECK_EQ(m.nr_fds, 0);
	memcpy(&c, m.arg, sizeof(c));
	CHECK(!strcmp((char *)c.name, "vm"));
	c.fd = 999;
	fake_reply(s, 0, &c, sizeof(c), NULL, 0, p[0]);

	/* 2: RETRIEVE_FD with a copy-back too short to hold the fd. */
	CHECK_EQ(fake_recv(s, &m), 0);
	CHECK_EQ(m.req.cmd, LIVEUPDATE_SESSION_RETRIEVE_FD);
	fake_reply(s, 0, m.arg, 4, NULL, 0, p[0]);

	/* 3: an fd with an error result. */
	CHECK_EQ(fake_recv(s, &m), 0);
	fake_reply(s, -ENOENT, NULL, 0, NULL, 0, p[0]);

	/* 4: an fd on a request that returns none. */
	CHECK_EQ(fake_recv(s, &m), 0);
	CHECK_EQ(m.req.cmd, LIVEUPDATE_SESSION_GET_NAME);
	fake_reply(s, 0, m.arg, 72, NULL, 0, p[0]);

	/* 5: two fds at once. */
	CHECK_EQ(fake_recv(s, &m), 0);
	{
		unsigned char buf[sizeof(struct luo_wire_rep) + 16];
		struct luo_wire_rep rep = { .len = 16 };
		int two[2] = { p[0], p[1] };

		memcpy(buf, &rep, sizeof(rep));
		memcpy(buf + sizeof(rep), m.arg, 16);
		fake_send_raw(s, buf, sizeof(buf), two, 2);
	}

	/* 6: more fds than the library has room for: MSG_CTRUNC. */
	CHECK_EQ(fake_recv(s, &m), 0);
	for (i = 0; i < 10; i++)
		many[i] = i % 2 ? p[1] : p[0];
	{
		unsigned char buf[sizeof(struct luo_wire_rep) + 16];
		struct luo_wire_rep rep = { .len = 16 };

		memcpy(buf, &rep, sizeof(rep));
		memcpy(buf + sizeof(rep), m.arg, 16);
		fake_send_raw(s, buf, sizeof(buf), many, 10);
	}

	/* 7: RETRIEVE_FD success but no fd attached. */
	CHECK_EQ(fake_recv(s, &m), 0);
	fake_reply(s, 0, m.arg, 16, NULL, 0, -1);
	return expect_marker(s);
}

static void test_fds(void)
{
	struct liveupdate_ioctl_create_session c = { .size = sizeof(c) };
	struct liveupdate_session_retrieve_fd r = { .size = sizeof(r) };
	struct liveupdate_session_get_name g = { .size = sizeof(g) };
	struct stat st;
	int fd, before;
	pid_t pid = fake_start(&fd, srv_fds, NULL);

	strcpy((char *)c.name, "vm");
	c.fd = -1;
	CHECK_EQ(luo_ioctl(fd, LIVEUPDATE_IOCTL_CREATE_SESSION, &c), 0);
	CHECK(c.fd >= 0 && c.fd != 999);
	CHECK(fstat(c.fd, &st) == 0 && S_ISFIFO(st.st_mode));
	CHECK_EQ(fcntl(c.fd, F_GETFD), FD_CLOEXEC);
	CHECK(!strcmp((char *)c.name, "vm"));
	close(c.fd);

	before = fake_count_fds();
	r.fd = -7;
	CHECK_EQ(luo_ioctl(fd, LIVEUPDATE_SESSION_RETRIEVE_FD, &r), 0);
	CHECK_EQ(r.fd, -7);
	CHECK_EQ(fake_count_fds(), before);

	/* An fd beside an error is a broken daemon, not an answer. */
	CHECK_EQ(luo_ioctl(fd, LIVEUPDATE_SESSION_RETRIEVE_FD, &r), -EPROTO);
	CHECK_EQ(fake_count_fds(), before);
	CHECK_EQ(luo_ioctl(fd, LIVEUPDATE_SESSION_GET_NAME, &g), -EPROTO);
	CHECK_EQ(fake_count_fds(), before);
	CHECK_EQ(luo_ioctl(fd, LIVEUPDATE_SESSION_RETRIEVE_FD, &r), -EPROTO);
	CHECK_EQ(fake_count_fds(), before);
	CHECK_EQ(luo_ioctl(fd, LIVEUPDATE_SESSION_RETRIEVE_FD, &r), -EMFILE);
	CHECK_EQ(fake_count_fds(), before);
	CHECK_EQ(luo_ioctl(fd, LIVEUPDATE_SESSION_RETRIEVE_FD, &r), -EPROTO);
	CHECK_EQ(fake_count_fds(), before);

	CHECK_EQ(send_marker(fd), 0);
	close(fd);
	CHECK_SERVER(pid);
}

/* --- PRESERVE_FD: what travels beside the request ---------------------- */

static int srv_preserve(int s, void *ctx)
{
	int memfd = *(int *)ctx;
	struct stat a, b;
	struct fake_msg m;
	uint64_t token;

	/* 1: a valid fd travels, it is the same file. */
	CHECK_EQ(fake_recv(s, &m), 0);
	CHECK_EQ(m.req.cmd, LIVEUPDATE_SESSION_PRESERVE_FD);
	CHECK_EQ(m.req.len, 16);
	CHECK_EQ(m.nr_fds, 1);
	memcpy(&token, m.arg + 8, 8);
	CHECK_EQ(token, 42);
	if (m.nr_fds == 1) {
		CHECK(fstat(m.fds[0], &a) == 0 && fstat(memfd, &b) == 0);
		CHECK(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	}
	fake_close_fds(&m);
	fake_echo(s, &m, 16, -1);

	/* 2 and 3: a closed fd and a negative one travel as nothing. */
	CHECK_EQ(fake_recv(s, &m), 0);
	CHECK_EQ(m.nr_fds, 0);
	CHECK_EQ(m.req.len, 16);
	fake_reply(s, -EBADF, NULL, 0, NULL, 0, -1);
	CHECK_EQ(fake_recv(s, &m), 0);
	CHECK_EQ(m.nr_fds, 0);
	fake_reply(s, -EBADF, NULL, 0, NULL, 0, -1);

	/* 4: too short to hold an fd: nothing attached, the daemon decides. */
	CHECK_EQ(fake_recv(s, &m), 0);
	CHECK_EQ(m.nr_fds, 0);
	CHECK_EQ(m.req.len, 6);
	fake_reply(s, -EINVAL, NULL, 0, NULL, 0, -1);

	/* 5: another command with an fd number in its struct: nothing. */
	CHECK_EQ(fake_recv(s, &m), 0);
	CHECK_EQ(m.nr_fds, 0);
	fake_echo(s, &m, 16, -1);
	return expect_marker(s);
}

static void test_preserve(void)
{
	struct liveupdate_session_preserve_fd p = { .size = sizeof(p) };
	unsigned char shortp[8] = { 6 };
	int memfd = memfd_create("luo-test", MFD_CLOEXEC);
	int fd, closed;
	pid_t pid = fake_start(&fd, srv_preserve, &memfd);

	p.fd = memfd;
	p.token = 42;
	CHECK_EQ(luo_ioctl(fd, LIVEUPDATE_SESSION_PRESERVE_FD, &p), 0);
	CHECK_EQ(p.fd, memfd);

	closed = dup(memfd);
	close(closed);
	p.fd = closed;
	CHECK_EQ(luo_ioctl(fd, LIVEUPDATE_SESSION_PRESERVE_FD, &p), -EBADF);
	p.fd = -1;
	CHECK_EQ(luo_ioctl(fd, LIVEUPDATE_SESSION_PRESERVE_FD, &p), -EBADF);
	memcpy(shortp + 4, &memfd, 4);
	CHECK_EQ(luo_ioctl(fd, LIVEUPDATE_SESSION_PRESERVE_FD, shortp),
		 -EINVAL);
	/* Same layout, other command (0xBA40 | 0x100): no fd travels. */
	p.fd = memfd;
	CHECK_EQ(luo_ioctl(fd, LIVEUPDATE_SESSION_PRESERVE_FD | 0x4000, &p), 0);

	CHECK_EQ(send_marker(fd), 0);
	close(fd);
	CHECK_SERVER(pid);
	close(memfd);
}

/* --- fd reservation before the operation ------------------------------- */

static int srv_marker_only(int s, void *ctx)
{
	return expect_marker(s);
}

static void test_emfile(void)
{
	struct liveupdate_ioctl_create_session c = { .size = sizeof(c) };
	struct liveupdate_session_retrieve_fd r = { .size = sizeof(r) };
	struct rlimit old, lim;
	int fd, top, ret1, ret2;
	pid_t pid = fake_start(&fd, srv_marker_only, NULL);

	strcpy((char *)c.name, "vm");
	/* Make every fd number up to the limit taken. */
	top = dup(fd);
	getrlimit(RLIMIT_NOFILE, &old);
	lim = old;
	lim.rlim_cur = top + 1;
	setrlimit(RLIMIT_NOFILE, &lim);
	/* Any hole below top is filled first; fill them. */
	{
		int holes[4096], n = 0, h;

		while (n < 4096 && (h = dup(fd)) >= 0)
			holes[n++] = h;
		ret1 = luo_ioctl(fd, LIVEUPDATE_IOCTL_CREATE_SESSION, &c);
		ret2 = luo_ioctl(fd, LIVEUPDATE_SESSION_RETRIEVE_FD, &r);
		while (n)
			close(holes[--n]);
	}
	setrlimit(RLIMIT_NOFILE, &old);
	close(top);
	CHECK_EQ(ret1, -EMFILE);
	CHECK_EQ(ret2, -EMFILE);

	CHECK_EQ(send_marker(fd), 0);
	close(fd);
	CHECK_SERVER(pid);
}

/* --- the daemon goes away ---------------------------------------------- */

static int srv_vanish_after_request(int s, void *ctx)
{
	struct fake_msg m;

	CHECK_EQ(fake_recv(s, &m), 0);
	CHECK(is_marker(&m));
	return 0;	/* exit without answering */
}

static void test_enodev(void)
{
	int fd, ret;
	pid_t pid = fake_start(&fd, srv_vanish_after_request, NULL);

	CHECK_EQ(send_marker(fd), -ENODEV);
	CHECK_SERVER(pid);
	/* The peer is gone for good: the send fails now. */
	CHECK_EQ(send_marker(fd), -ENODEV);
	close(fd);

	pid = fake_start(&fd, srv_marker_only, NULL);
	CHECK_EQ(send_marker(fd), 0);
	CHECK_SERVER(pid);
	ret = luo_session_finish(fd);
	CHECK_EQ(ret, -ENODEV);
	close(fd);
}

/* --- fds that are no orchestrator -------------------------------------- */

static void test_enotty(void)
{
	struct liveupdate_session_finish f = { .size = sizeof(f) };
	int p[2], sv[2], efd, closed;

	CHECK(pipe2(p, O_CLOEXEC) == 0);
	CHECK_EQ(luo_ioctl(p[0], LIVEUPDATE_SESSION_FINISH, &f), -ENOTTY);
	close(p[0]);
	close(p[1]);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	CHECK_EQ(luo_ioctl(sv[0], LIVEUPDATE_SESSION_FINISH, &f), -ENOTTY);
	close(sv[0]);
	close(sv[1]);
	efd = eventfd(0, EFD_CLOEXEC);
	CHECK_EQ(luo_ioctl(efd, LIVEUPDATE_SESSION_FINISH, &f), -ENOTTY);
	closed = efd;
	close(efd);
	CHECK_EQ(luo_ioctl(closed, LIVEUPDATE_SESSION_FINISH, &f), -EBADF);
}

/* --- a reply with payload to a caller that does not want it ------------ */

static int srv_list(int s, void *ctx)
{
	struct luo_list_record recs[LUO_LIST_PAGE_RECORDS];
	struct luo_list l;
	struct fake_msg m;

	memset(recs, 0, sizeof(recs));
	CHECK_EQ(fake_recv(s, &m), 0);
	CHECK_EQ(m.req.cmd, LUO_IOCTL_LIST);
	memcpy(&l, m.arg, sizeof(l));
	l.nr_records = LUO_LIST_PAGE_RECORDS;
	l.done = 1;
	fake_reply(s, 0, &l, sizeof(l), recs, sizeof(recs), -1);
	return expect_marker(s);
}

static void test_list_raw(void)
{
	struct luo_list l = { .size = sizeof(l) };
	int fd;
	pid_t pid = fake_start(&fd, srv_list, NULL);

	CHECK_EQ(luo_ioctl(fd, LUO_IOCTL_LIST, &l), 0);
	CHECK_EQ(l.nr_records, LUO_LIST_PAGE_RECORDS);
	CHECK_EQ(l.done, 1);
	CHECK_EQ(send_marker(fd), 0);
	close(fd);
	CHECK_SERVER(pid);
}

int main(void)
{
	int before;

	signal(SIGPIPE, SIG_DFL);	/* MSG_NOSIGNAL must make this safe */
	before = fake_count_fds();
	test_copyback();
	test_big();
	test_fds();
	test_preserve();
	test_emfile();
	test_enodev();
	test_enotty();
	test_list_raw();
	{
		int sv[2];

		CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
				 sv) == 0);
		CHECK_EQ(luo_ioctl(sv[0], LIVEUPDATE_SESSION_FINISH, NULL),
			 -EFAULT);
		close(sv[0]);
		close(sv[1]);
	}
	CHECK_EQ(fake_count_fds(), before);
	return fake_result("test-lib-ioctl");
}
