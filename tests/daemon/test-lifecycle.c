// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The daemon's life: SIGTERM stops it cleanly and removes the socket; a
 * stale socket file is replaced; a second daemon on a live socket, or a
 * socket path taken by another file, refuses to start; --help, --version
 * and bad options.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "daemon-harness.h"

static void test_sigterm(void)
{
	struct dh_daemon d;
	struct stat st;

	dh_check_eq(dh_start(&d, NULL), 0);
	dh_check_eq(stat(d.socket, &st), 0);
	dh_check(S_ISSOCK(st.st_mode));
	dh_check_eq(st.st_mode & 0777, 0600);
	dh_check_eq(dh_stop(&d), 0);
	dh_check(access(d.socket, F_OK) < 0 && errno == ENOENT);
	dh_check_eq(luo_open_at(d.socket, LUO_OPEN_CONTROL), -ENOENT);
	dh_cleanup(&d);
}

/* A socket file nobody listens on. */
static void make_stale(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);

	dh_check(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	dh_check(fd >= 0);
	dh_check_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
}

static void test_stale_and_second(void)
{
	struct dh_daemon a, b;
	struct luo_status st;
	char path[PATH_MAX + 16];
	int fd;

	/* a's directory, then a stale socket in it for b to replace */
	dh_check_eq(dh_start(&a, NULL), 0);
	snprintf(path, sizeof(path), "%s/stale.sock", a.dir);
	make_stale(path);
	dh_check_eq(dh_start_at(&b, path, NULL), 0);
	fd = luo_open_at(path, LUO_OPEN_CONTROL);
	dh_check(fd >= 0);
	dh_check_eq(luo_status(fd, &st), 0);
	dh_check_eq(st.pid, dh_engine_pid(&b));
	luo_close(fd);
	dh_check_eq(dh_stop(&b), 0);

	/* A second daemon on a's live socket refuses and a keeps serving. */
	dh_check_eq(dh_start_at(&b, a.socket, NULL), -ECHILD);
	dh_check_eq(dh_exit_code(b.status), 1);
	fd = luo_open_at(a.socket, LUO_OPEN_CONTROL);
	dh_check(fd >= 0);
	dh_check_eq(luo_status(fd, &st), 0);
	dh_check_eq(st.pid, dh_engine_pid(&a));
	luo_close(fd);

	/* A file that is not a socket is left alone. */
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	dh_check(fd >= 0);
	close(fd);
	dh_check_eq(dh_start_at(&b, path, NULL), -ECHILD);
	dh_check_eq(dh_exit_code(b.status), 1);
	dh_check_eq(access(path, F_OK), 0);
	unlink(path);
	dh_check_eq(dh_stop(&a), 0);
	dh_cleanup(&a);
}

/* Runs liveupdated with @arg; returns its exit code. */
static int run(const char *arg)
{
	int status, null;
	pid_t pid = fork();

	if (pid == 0) {
		null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		execl(dh_binary(), dh_binary(), arg, (char *)NULL);
		_exit(127);
	}
	dh_check(pid > 0);
	dh_check_eq(waitpid(pid, &status, 0), pid);
	return dh_exit_code(status);
}

/* A handover that does not validate: exit 1, and say why. */
static void test_bad_handover(void)
{
	char arg[32], out[4096] = "";
	int m, p[2], status;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	m = memfd_create("luo-handover", 0);
	dh_check(m >= 0);
	dh_check_eq(write(m, "not a handover", 14), 14);
	dh_check_eq(pipe(p), 0);
	snprintf(arg, sizeof(arg), "--handover-fd=%d", m);
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 2);
		execl(dh_binary(), dh_binary(), arg, (char *)NULL);
		_exit(127);
	}
	dh_check(pid > 0);
	close(p[1]);
	close(m);
	while (got < sizeof(out) - 1 &&
	       (n = read(p[0], out + got, sizeof(out) - 1 - got)) > 0)
		got += (size_t)n;
	close(p[0]);
	dh_check_eq(waitpid(pid, &status, 0), pid);
	dh_check_eq(dh_exit_code(status), 1);
	dh_check(strstr(out, "refusing to start: handover invalid: "));
}

int main(void)
{
	test_sigterm();
	test_stale_and_second();
	test_bad_handover();
	dh_check_eq(run("--help"), 0);
	dh_check_eq(run("--version"), 0);
	dh_check_eq(run("--no-such-option"), 1);
	dh_check_eq(run("--log-level=loud"), 1);
	dh_check_eq(run("--max-sessions=0"), 1);
	dh_check_eq(run("--ready-fd=987"), 1);
	return DH_PASS;
}
