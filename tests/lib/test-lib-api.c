// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The convenience calls of libluo: what each puts on the wire and what it
 * makes of the answer.  Also: two threads on two fds at once.
 */
#include <pthread.h>
#include <sys/mman.h>

#include "fake.h"

static int srv_sessions(int s, void *ctx)
{
	struct liveupdate_ioctl_create_session c;
	struct liveupdate_session_retrieve_fd r;
	struct liveupdate_session_get_name g;
	struct fake_msg m;
	int p[2];

	if (pipe(p) < 0)
		return 1;

	/* luo_create_session */
	CHECK_EQ(fake_recv(s, &m), 0);
	CHECK_EQ(m.req.cmd, LIVEUPDATE_IOCTL_CREATE_SESSION);
	CHECK_EQ(m.req.len, 72);
	memcpy(&c, m.arg, sizeof(c));
	CHECK_EQ(c.size, 72);
	CHECK(!strcmp((char *)c.name, "guest-ram"));
	fake_reply(s, 0, &c, sizeof(c), NULL, 0, p[0]);

	/* a 70-character name goes out as 64 unterminated bytes */
	CHECK_EQ(fake_recv(s, &m), 0);
	memcpy(&c, m.arg, sizeof(c));
	CHECK(memchr(c.name, 0, sizeof(c.name)) == NULL);
	CHECK_EQ(c.name[63], 'n');
	fake_reply(s, -EINVAL, NULL, 0, NULL, 0, -1);

	/* luo_retrieve_session, unknown */
	CHECK_EQ(fake_recv(s, &m), 0);
	CHECK_EQ(m.req.cmd, LIVEUPDATE_IOCTL_RETRIEVE_SESSION);
	memcpy(&c, m.arg, sizeof(c));
	CHECK(!strcmp((char *)c.name, "old"));
	fake_reply(s, -ENOENT, NULL, 0, NULL, 0, -1);

	/* luo_retrieve_session */
	CHECK_EQ(fake_recv(s, &m), 0);
	memcpy(&c, m.arg, sizeof(c));
	fake_reply(s, 0, &c, sizeof(c), NULL, 0, p[1]);

	/* luo_session_preserve_fd: checked in test-lib-ioctl, token here */
	CHECK_EQ(fake_recv(s, &m), 0);
	CHECK_EQ(m.req.cmd, LIVEUPDATE_SESSION_PRESERVE_FD);
	CHECK_EQ(m.nr_fds, 1);
	CHECK_EQ(*(uint64_t *)(m.arg + 8), 0xfedcba9876543210ull);
	fake_close_fds(&m);
	fake_echo(s, &m, 16, -1);

	/* luo_session_retrieve_fd */
	CHECK_EQ(fake_recv(s, &m), 0);
	CHECK_EQ(m.req.cmd, LIVEUPDATE_SESSION_RETRIEVE_FD);
	memcpy(&r, m.arg, sizeof(r));
	CHECK_EQ(r.size, 16);
	CHECK_EQ(r.token, 7);
	fake_reply(s, 0, &r, sizeof(r), NULL, 0, p[0]);
	CHECK_EQ(fake_recv(s, &m), 0);
	fake_reply(s, -ENOENT, NULL, 0, NULL, 0, -1);

	/* luo_session_finish */
	CHECK_EQ(fake_recv(s, &m), 0);
	CHECK_EQ(m.req.cmd, LIVEUPDATE_SESSION_FINISH);
	CHECK_EQ(m.req.len, 8);
	CHECK_EQ(*(uint32_t *)m.arg, 8);
	CHECK_EQ(*(uint32_t *)(m.arg + 4), 0);
	fake_reply(s, -EBUSY, NULL, 0, NULL, 0, -1);

	/* luo_session_get_name */
	CHECK_EQ(fake_recv(s, &m), 0);
	CHECK_EQ(m.req.cmd, LIVEUPDATE_SESSION_GET_NAME);
	memcpy(&g, m.arg, sizeof(g));
	CHECK_EQ(g.size, 72);
	CHECK_EQ(g.reserved, 0);
	strcpy((char *)g.name, "guest-ram");
	fake_reply(s, 0, &g, sizeof(g), NULL, 0, -1);
	return 0;
}

static void test_sessions(void)
{
	char name[LIVEUPDATE_SESSION_NAME_LENGTH];
	char longname[71];
	int memfd = memfd_create("t", MFD_CLOEXEC);
	int fd, sfd;
	pid_t pid = fake_start(&fd, srv_sessions, NULL);

	sfd = luo_create_session(fd, "guest-ram");
	CHECK(sfd >= 0);
	close(sfd);
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK_EQ(luo_create_session(fd, longname), -EINVAL);
	CHECK_EQ(luo_create_session(fd, NULL), -EINVAL);
	CHECK_EQ(luo_retrieve_session(fd, "old"), -ENOENT);
	sfd = luo_retrieve_session(fd, "old");
	CHECK(sfd >= 0);
	close(sfd);
	CHECK_EQ(luo_session_preserve_fd(fd, memfd, 0xfedcba9876543210ull),
		 0);
	sfd = luo_session_retrieve_fd(fd, 7);
	CHECK(sfd >= 0);
	CHECK_EQ(fcntl(sfd, F_GETFD), FD_CLOEXEC);
	close(sfd);
	CHECK_EQ(luo_session_retrieve_fd(fd, 8), -ENOENT);
	CHECK_EQ(luo_session_finish(fd), -EBUSY);
	CHECK_EQ(luo_session_get_name(fd, name, 63), -EINVAL);
	CHECK_EQ(luo_session_get_name(fd, NULL, 64), -EINVAL);
	CHECK_EQ(luo_session_get_name(fd, name, sizeof(name)), 0);
	CHECK(!strcmp(name, "guest-ram"));
	close(fd);
	CHECK_SERVER(pid);
	close(memfd);
}

static int srv_status(int s, void *ctx)
{
	struct luo_status st;
	struct fake_msg m;

	CHECK_EQ(fake_recv(s, &m), 0);
	CHECK_EQ(m.req.cmd, LUO_IOCTL_STATUS);
	CHECK_EQ(m.req.len, sizeof(st));
	memcpy(&st, m.arg, sizeof(st));
	CHECK_EQ(st.size, sizeof(st));
	CHECK_EQ(st.flags, 0);
	st.update_number = 3;
	st.pid = 1234;
	st.flags = LUO_STATUS_DEVICE_OPEN;
	strcpy(st.version, "9.9");
	fake_reply(s, 0, &st, sizeof(st), NULL, 0, -1);
	return 0;
}

static void test_status(void)
{
	struct luo_status st;
	int fd;
	pid_t pid = fake_start(&fd, srv_status, NULL);

	memset(&st, 0xff, sizeof(st));
	CHECK_EQ(luo_status(fd, NULL), -EINVAL);
	CHECK_EQ(luo_status(fd, &st), 0);
	CHECK_EQ(st.update_number, 3);
	CHECK_EQ(st.pid, 1234);
	CHECK_EQ(st.flags, LUO_STATUS_DEVICE_OPEN);
	CHECK(!strcmp(st.version, "9.9"));
	close(fd);
	CHECK_SERVER(pid);
}

/* Two pages: a session with 300 files, then a second session. */
static int srv_list(int s, void *ctx)
{
	static struct luo_list_record recs[LUO_LIST_PAGE_RECORDS];
	int mode = *(int *)ctx;
	struct luo_list l;
	struct fake_msg m;
	uint32_t i;

	memset(recs, 0, sizeof(recs));
	CHECK_EQ(fake_recv(s, &m), 0);
	CHECK_EQ(m.req.cmd, LUO_IOCTL_LIST);
	memcpy(&l, m.arg, sizeof(l));
	CHECK_EQ(l.size, sizeof(l));
	CHECK_EQ(l.flags, 0);
	CHECK_EQ(l.session, 0);
	CHECK_EQ(l.file, 0);
	recs[0].type = LUO_LIST_SESSION;
	recs[0].direction = LUO_OUTGOING;
	recs[0].nr_files = 300;
	strcpy(recs[0].name, "big");
	for (i = 1; i < LUO_LIST_PAGE_RECORDS; i++) {
		recs[i].type = LUO_LIST_FILE;
		recs[i].token = i - 1;
		strcpy(recs[i].name, "memfd-v2");
	}
	l.nr_records = LUO_LIST_PAGE_RECORDS;
	l.done = 0;
	l.session = 0;
	l.file = LUO_LIST_PAGE_RECORDS - 1;
	if (mode == 1) {
		/* payload length that does not match nr_records */
		fake_reply(s, 0, &l, sizeof(l), recs, sizeof(recs) - 8, -1);
		return 0;
	}
	if (mode == 2) {
		/* a page that does not move on */
		l.nr_records = 0;
		l.file = 0;
		fake_reply(s, 0, &l, sizeof(l), NULL, 0, -1);
		return 0;
	}
	fake_reply(s, 0, &l, sizeof(l), recs, sizeof(recs), -1);
	if (mode == 3)
		return 0;	/* the callback stops the walk */

	CHECK_EQ(fake_recv(s, &m), 0);
	memcpy(&l, m.arg, sizeof(l));
	CHECK_EQ(l.session, 0);
	CHECK_EQ(l.file, LUO_LIST_PAGE_RECORDS - 1);
	for (i = 0; i < 300 - (LUO_LIST_PAGE_RECORDS - 1); i++) {
		recs[i].type = LUO_LIST_FILE;
		recs[i].token = LUO_LIST_PAGE_RECORDS - 1 + i;
	}
	recs[i].type = LUO_LIST_SESSION;
	recs[i].direction = LUO_INCOMING;
	recs[i].state = LUO_SESSION_RETRIEVED;
	memset(recs[i].name, 'x', sizeof(recs[i].name));	/* unterminated */
	i++;
	l.nr_records = i;
	l.done = 1;
	fake_reply(s, 0, &l, sizeof(l), recs, i * sizeof(recs[0]), -1);
	return 0;
}

struct walk {
	int sessions, files, stop_at;
	uint64_t next_token;
	bool tokens_ok, names_ok;
};

static int walk_fn(const struct luo_list_record *r, void *p)
{
	struct walk *w = p;

	if (r->type == LUO_LIST_SESSION) {
		w->sessions++;
		if (strlen(r->name) >= sizeof(r->name))
			w->names_ok = false;
	} else {
		if (r->token != w->next_token++)
			w->tokens_ok = false;
		w->files++;
	}
	if (w->stop_at && w->sessions + w->files == w->stop_at)
		return 42;
	return 0;
}

static void test_list(void)
{
	struct walk w = { .tokens_ok = true, .names_ok = true };
	int fd, mode = 0;
	pid_t pid = fake_start(&fd, srv_list, &mode);

	CHECK_EQ(luo_list(fd, NULL, NULL), -EINVAL);
	CHECK_EQ(luo_list(fd, walk_fn, &w), 0);
	CHECK_EQ(w.sessions, 2);
	CHECK_EQ(w.files, 300);
	CHECK(w.tokens_ok);
	CHECK(w.names_ok);
	close(fd);
	CHECK_SERVER(pid);

	for (mode = 1; mode <= 3; mode++) {
		memset(&w, 0, sizeof(w));
		w.stop_at = 10;
		pid = fake_start(&fd, srv_list, &mode);
		CHECK_EQ(luo_list(fd, walk_fn, &w), mode == 3 ? 42 : -EPROTO);
		close(fd);
		CHECK_SERVER(pid);
	}
}

static int srv_reboot(int s, void *ctx)
{
	int exe = *(int *)ctx;
	struct luo_reboot r;
	struct fake_msg m;
	struct stat a, b;

	CHECK_EQ(fake_recv(s, &m), 0);
	CHECK_EQ(m.req.cmd, LUO_IOCTL_REBOOT);
	CHECK_EQ(m.req.len, sizeof(r));
	CHECK_EQ(m.nr_fds, 0);
	memcpy(&r, m.arg, sizeof(r));
	CHECK_EQ(r.flags, 0);
	r.update_number = 2;
	fake_reply(s, 0, &r, sizeof(r), NULL, 0, -1);

	CHECK_EQ(fake_recv(s, &m), 0);
	CHECK_EQ(m.nr_fds, 1);
	memcpy(&r, m.arg, sizeof(r));
	CHECK_EQ(r.flags, LUO_REBOOT_EXEC_FD);
	if (m.nr_fds == 1) {
		CHECK(fstat(m.fds[0], &a) == 0 && fstat(exe, &b) == 0);
		CHECK(a.st_ino == b.st_ino);
	}
	fake_close_fds(&m);
	r.update_number = 3;
	fake_reply(s, 0, &r, sizeof(r), NULL, 0, -1);

	CHECK_EQ(fake_recv(s, &m), 0);
	fake_reply(s, -EBUSY, NULL, 0, NULL, 0, -1);
	return 0;
}

static void test_reboot(void)
{
	int exe = open("/proc/self/exe", O_PATH | O_CLOEXEC);
	uint64_t nr = 0;
	int fd;
	pid_t pid = fake_start(&fd, srv_reboot, &exe);

	CHECK_EQ(luo_reboot(fd, -1, &nr), 0);
	CHECK_EQ(nr, 2);
	CHECK_EQ(luo_reboot(fd, exe, &nr), 0);
	CHECK_EQ(nr, 3);
	CHECK_EQ(luo_reboot(fd, -1, NULL), -EBUSY);
	CHECK_EQ(luo_reboot(fd, -5, NULL), -EBADF);
	CHECK_EQ(nr, 3);
	close(fd);
	CHECK_SERVER(pid);
	close(exe);
}

/* --- two threads, two connections ------------------------------------- */

#define ROUNDS	2000

static int srv_echo(int s, void *ctx)
{
	struct fake_msg m;

	for (;;) {
		CHECK_EQ(fake_recv(s, &m), 0);
		if (m.n == 0)
			return 0;
		fake_close_fds(&m);
		if (m.req.cmd == LIVEUPDATE_SESSION_RETRIEVE_FD) {
			int p = open("/dev/null", O_RDONLY | O_CLOEXEC);

			fake_echo(s, &m, 16, p);
			close(p);
		} else {
			fake_echo(s, &m, 72, -1);
		}
	}
}

static void *thread_fn(void *p)
{
	int fd = *(int *)p, i, r;
	uintptr_t bad = 0;
	char name[64];

	for (i = 0; i < ROUNDS; i++) {
		r = luo_session_retrieve_fd(fd, i);
		if (r < 0)
			bad++;
		else
			close(r);
		if (luo_session_get_name(fd, name, sizeof(name)))
			bad++;
	}
	return (void *)bad;
}

static void test_threads(void)
{
	int fds[2];
	pid_t pids[2];
	pthread_t t[2];
	void *res;
	int i;

	for (i = 0; i < 2; i++)
		pids[i] = fake_start(&fds[i], srv_echo, NULL);
	for (i = 0; i < 2; i++)
		CHECK_EQ(pthread_create(&t[i], NULL, thread_fn, &fds[i]), 0);
	for (i = 0; i < 2; i++) {
		CHECK_EQ(pthread_join(t[i], &res), 0);
		CHECK(res == NULL);
	}
	/* The second fake daemon holds a copy of the first one's client end. */
	for (i = 1; i >= 0; i--) {
		close(fds[i]);
		CHECK_SERVER(pids[i]);
	}
}

int main(void)
{
	int before;

	signal(SIGPIPE, SIG_DFL);
	before = fake_count_fds();
	test_sessions();
	test_status();
	test_list();
	test_reboot();
	test_threads();
	CHECK_EQ(fake_count_fds(), before);
	return fake_result("test-lib-api");
}
