// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * luo_open_at(), luo_open() and luo_default_socket_path() against a fake
 * daemon listening on a socket in a temporary directory.
 */
#include "fake.h"

struct open_script {
	uint32_t mode;		/* expected mode */
	int32_t result;		/* answer */
	bool hang_up;		/* close without answering */
	bool garbage;		/* answer with a malformed reply */
};

static int srv_open(int lfd, void *ctx)
{
	const struct open_script *sc = ctx;
	struct luo_wire_open op;
	struct fake_msg m;
	int c;

	c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	CHECK(c >= 0);
	CHECK_EQ(fake_recv(c, &m), 0);
	CHECK_EQ(m.req.cmd, LUO_WIRE_OPEN);
	CHECK_EQ(m.req.len, sizeof(op));
	CHECK_EQ(m.nr_fds, 0);
	memcpy(&op, m.arg, sizeof(op));
	CHECK_EQ(op.size, sizeof(op));
	CHECK_EQ(op.mode, sc->mode);
	CHECK_EQ(op.version, LUO_WIRE_VERSION);
	CHECK_EQ(op.reserved, 0);
	if (sc->hang_up) {
		close(c);
		return 0;
	}
	if (sc->garbage) {
		fake_send_raw(c, "no", 2, NULL, 0);
	} else if (sc->result) {
		fake_reply(c, sc->result, NULL, 0, NULL, 0, -1);
	} else {
		fake_reply(c, 0, &op, sizeof(op), NULL, 0, -1);
		/* Serve one FINISH so the client sees a working connection. */
		CHECK_EQ(fake_recv(c, &m), 0);
		CHECK_EQ(m.req.cmd, LIVEUPDATE_SESSION_FINISH);
		fake_reply(c, 0, m.arg, 8, NULL, 0, -1);
	}
	/* Wait for the client to hang up. */
	CHECK_EQ(fake_recv(c, &m), 0);
	CHECK_EQ(m.n, 0);
	close(c);
	return 0;
}

static int run_open(const char *path, int lfd, struct open_script *sc,
		    bool use_env)
{
	pid_t pid = fake_start_listener(lfd, srv_open, sc);
	int fd;

	if (use_env) {
		setenv("LUO_SOCKET", path, 1);
		fd = luo_open();
		unsetenv("LUO_SOCKET");
	} else {
		fd = luo_open_at(path, (int)sc->mode);
	}
	if (fd >= 0) {
		CHECK_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
		CHECK_EQ(luo_session_finish(fd), 0);
		CHECK_EQ(luo_close(fd), 0);
	}
	CHECK_SERVER(pid);
	return fd;
}

static void test_handshake(const char *path, int lfd)
{
	struct open_script sc = { .mode = LUO_OPEN_DEVICE };
	int before = fake_count_fds();

	CHECK(run_open(path, lfd, &sc, false) >= 0);
	sc.mode = LUO_OPEN_CONTROL;
	CHECK(run_open(path, lfd, &sc, false) >= 0);
	sc.mode = LUO_OPEN_DEVICE;
	CHECK(run_open(path, lfd, &sc, true) >= 0);

	sc.result = -EBUSY;
	CHECK_EQ(run_open(path, lfd, &sc, false), -EBUSY);
	sc.result = -EIO;
	CHECK_EQ(run_open(path, lfd, &sc, false), -EIO);
	sc.result = 0;
	sc.hang_up = true;
	CHECK_EQ(run_open(path, lfd, &sc, false), -ENODEV);
	sc.hang_up = false;
	sc.garbage = true;
	CHECK_EQ(run_open(path, lfd, &sc, false), -EPROTO);
	CHECK_EQ(fake_count_fds(), before);
}

static void test_no_daemon(void)
{
	char path[PATH_MAX];
	int lfd, before = fake_count_fds();

	CHECK_EQ(luo_open_at("/nonexistent/liveupdate.sock", LUO_OPEN_DEVICE),
		 -ENOENT);
	/* A socket file nobody listens on any more: ECONNREFUSED. */
	lfd = fake_listen(path, sizeof(path));
	CHECK(lfd >= 0);
	close(lfd);
	CHECK_EQ(luo_open_at(path, LUO_OPEN_DEVICE), -ENOENT);
	CHECK_EQ(luo_open_at(path, LUO_OPEN_CONTROL), -ENOENT);
	fake_unlink(path);
	CHECK_EQ(luo_open_at("", LUO_OPEN_DEVICE), -ENOENT);
	CHECK_EQ(fake_count_fds(), before);
}

static void test_bad_args(const char *path)
{
	char longpath[200];

	CHECK_EQ(luo_open_at(path, 0), -EINVAL);
	CHECK_EQ(luo_open_at(path, 3), -EINVAL);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	CHECK_EQ(luo_open_at(longpath, LUO_OPEN_DEVICE), -ENAMETOOLONG);
}

static void test_default_path(void)
{
	char buf[256], small[8];

	setenv("LUO_SOCKET", "/some/where.sock", 1);
	CHECK_EQ(luo_default_socket_path(buf, sizeof(buf)), 0);
	CHECK(!strcmp(buf, "/some/where.sock"));
	CHECK_EQ(luo_default_socket_path(small, sizeof(small)),
		 -ENAMETOOLONG);
	CHECK_EQ(luo_default_socket_path(NULL, 10), -EINVAL);
	CHECK_EQ(luo_default_socket_path(buf, 0), -EINVAL);
	/* An empty LUO_SOCKET counts as unset. */
	setenv("LUO_SOCKET", "", 1);
	setenv("XDG_RUNTIME_DIR", "/run/user/4242", 1);
	CHECK_EQ(luo_default_socket_path(buf, sizeof(buf)), 0);
	if (geteuid() == 0)
		CHECK(!strcmp(buf, "/run/liveupdate/liveupdate.sock"));
	else
		CHECK(!strcmp(buf, "/run/user/4242/liveupdate/liveupdate.sock"));
	unsetenv("LUO_SOCKET");
	unsetenv("XDG_RUNTIME_DIR");
	if (geteuid() == 0) {
		CHECK_EQ(luo_default_socket_path(buf, sizeof(buf)), 0);
		CHECK(!strcmp(buf, "/run/liveupdate/liveupdate.sock"));
	} else {
		CHECK_EQ(luo_default_socket_path(buf, sizeof(buf)), -ENOENT);
		CHECK_EQ(luo_open(), -ENOENT);
	}
}

/* As a non-root user (when we are root and may switch): the XDG path. */
static void test_default_path_user(void)
{
	char buf[256];
	pid_t pid;

	if (geteuid() != 0)
		return;
	pid = fork();
	if (pid == 0) {
		fake_failures = 0;
		if (setresuid(65534, 65534, 65534) < 0)
			_exit(0);	/* not allowed here: nothing to test */
		setenv("XDG_RUNTIME_DIR", "/run/user/65534", 1);
		CHECK_EQ(luo_default_socket_path(buf, sizeof(buf)), 0);
		CHECK(!strcmp(buf,
			      "/run/user/65534/liveupdate/liveupdate.sock"));
		unsetenv("XDG_RUNTIME_DIR");
		CHECK_EQ(luo_default_socket_path(buf, sizeof(buf)), -ENOENT);
		CHECK_EQ(luo_open(), -ENOENT);
		_exit(fake_failures ? 1 : 0);
	}
	CHECK_SERVER(pid);
}

int main(void)
{
	char path[PATH_MAX];
	int lfd;

	signal(SIGPIPE, SIG_DFL);
	lfd = fake_listen(path, sizeof(path));
	if (lfd < 0) {
		perror("listen");
		return 77;
	}
	test_handshake(path, lfd);
	test_bad_args(path);
	close(lfd);
	fake_unlink(path);
	test_no_daemon();
	test_default_path();
	test_default_path_user();
	return fake_result("test-lib-open");
}
