// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * UPGRADE and the service manager (issue 9, item 3): RELOADING=1 (with
 * MONOTONIC_USEC) when an UPGRADE starts, then READY=1 with MAINPID the
 * daemon's own pid, which does not change: the new image runs at the same
 * pid.  An UPGRADE that fails before the exec (an image that cannot be
 * executed) also ends with READY=1, and one rolled back by the keeper
 * announces the pid that serves (REBOOT's path).
 *
 * Under the vault (the default) MAINPID is the vault's and never changes
 * behind the manager's back: the engine says RELOADING=1, READY=1 and
 * STATUS= but no MAINPID=, also after the vault recovered it from a new
 * image that died; when the vault itself is killed, the engine starts a
 * new one and the manager is told its pid.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "up.h"

/* Datagrams until READY=1 names @pid; returns how many said RELOADING=1
 * before it.  The last MAINPID seen goes to @mainpid. */
static int until_ready(int fd, pid_t pid, pid_t *mainpid)
{
	char buf[512], want[64];
	int reloading = 0;
	ssize_t n;

	snprintf(want, sizeof(want), "MAINPID=%d\nREADY=1", (int)pid);
	for (;;) {
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		dh_check(n > 0);
		buf[n] = '\0';
		if (!strncmp(buf, "RELOADING=1\nMONOTONIC_USEC=", 27))
			reloading++;
		if (!strncmp(buf, "MAINPID=", 8))
			*mainpid = (pid_t)atoi(buf + 8);
		if (!strcmp(buf, want))
			return reloading;
	}
}

/*
 * Datagrams until one is exactly @want; returns how many said RELOADING=1
 * before it.  Every MAINPID= must name @mainpid; a STATUS= line counts in
 * *@status.
 */
static int until_msg(int fd, const char *want, pid_t mainpid, int *status)
{
	char buf[512];
	int reloading = 0;
	ssize_t n;

	for (;;) {
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		dh_check(n > 0);
		buf[n] = '\0';
		if (!strncmp(buf, "RELOADING=1\nMONOTONIC_USEC=", 27))
			reloading++;
		if (!strncmp(buf, "STATUS=", 7))
			(*status)++;
		if (!strncmp(buf, "MAINPID=", 8))
			dh_check_eq(atoi(buf + 8), mainpid);
		if (!strcmp(buf, want))
			return reloading;
	}
}

/* The vault's case; @fd is the fake manager's socket. */
static void test_vault(int fd)
{
	char want[64], buf[512];
	struct dh_daemon d;
	struct luo_status st;
	pid_t engine, vault;
	int ctl, status = 0, wstatus;
	ssize_t n;

	dh_check_eq(dh_start(&d, NULL), 0);
	snprintf(want, sizeof(want), "MAINPID=%d\nREADY=1", (int)d.pid);
	dh_check_eq(until_msg(fd, want, d.pid, &status), 0);
	engine = dh_engine_pid(&d);

	/* UPGRADE: RELOADING=1, then the new image's READY=1, same pids. */
	ctl = luo_open_at(d.socket, LUO_OPEN_CONTROL);
	dh_check(ctl >= 0);
	dh_check_eq(luo_upgrade(ctl, -1), 0);
	dh_check_eq(until_msg(fd, "READY=1", d.pid, &status), 1);
	dh_check_eq(luo_status(ctl, &st), 0);
	dh_check_eq(st.pid, engine);
	luo_close(ctl);

	/* A new image that dies: the vault recovers, MAINPID stays. */
	dh_check_eq(up_upgrade(d.socket, getenv("LUO_RB_IMAGE_PATH")),
		    -ENOEXEC);
	status = 0;
	dh_check_eq(until_msg(fd, "READY=1", d.pid, &status), 1);
	e2e_status(d.socket, &st);
	dh_check(st.pid != (uint32_t)engine);
	dh_check_eq(st.pid, dh_engine_pid(&d));
	engine = (pid_t)st.pid;
	/* The recovered engine sends STATUS= lines again. */
	while (!status) {
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		dh_check(n > 0);
		status += !strncmp(buf, "STATUS=", 7);
	}

	/* The vault is killed: the engine starts one and names it at once. */
	dh_check_eq(kill(d.pid, SIGKILL), 0);
	dh_check_eq(dh_wait(&d), dh_exit_code(SIGKILL));
	for (vault = 0; !vault;) {
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		dh_check(n > 0);
		buf[n] = '\0';
		if (!strncmp(buf, "MAINPID=", 8))
			vault = (pid_t)atoi(buf + 8);
	}
	dh_check(vault != d.pid && vault != engine);
	snprintf(want, sizeof(want), "MAINPID=%d\nREADY=1", (int)vault);
	until_msg(fd, want, vault, &status);
	e2e_status(d.socket, &st);
	dh_check_eq(st.pid, engine);
	/* The new vault stops the engine, our child now (subreaper). */
	dh_check_eq(kill(vault, SIGTERM), 0);
	dh_check_eq(waitpid(engine, &wstatus, 0), engine);
	dh_check_eq(dh_exit_code(wstatus), 0);
	dh_cleanup(&d);
}

int main(void)
{
	static const char *const no_vault[] = { "--no-vault", NULL };
	char dir[] = "/tmp/luo-notify-XXXXXX";
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct dh_daemon d;
	struct timeval tv = { .tv_sec = 30 };
	struct luo_status st;
	pid_t mainpid = 0;
	int fd, ctl, exe;

	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		dh_skip("no PR_SET_CHILD_SUBREAPER");
	dh_check(mkdtemp(dir) != NULL);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", dir);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	dh_check(fd >= 0);
	dh_check_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	dh_check_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)),
		    0);
	setenv("NOTIFY_SOCKET", sa.sun_path, 1);
	setenv("LUO_RB_IMAGE", "kill", 1);	/* the daemon's environment */
	test_vault(fd);

	/* Without a vault: the keeper's case. */
	dh_check_eq(dh_start(&d, no_vault), 0);
	dh_check_eq(until_ready(fd, d.pid, &mainpid), 0);

	ctl = luo_open_at(d.socket, LUO_OPEN_CONTROL);
	dh_check(ctl >= 0);
	dh_check_eq(luo_upgrade(ctl, -1), 0);
	dh_check_eq(until_ready(fd, d.pid, &mainpid), 1);
	dh_check_eq(luo_status(ctl, &st), 0);
	dh_check_eq(st.pid, d.pid);

	/* Not a program: fails before the exec, READY=1 again. */
	exe = memfd_create("not-a-program", MFD_CLOEXEC);
	dh_check_eq(write(exe, "garbage!", 8), 8);
	dh_check_eq(fchmod(exe, 0700), 0);
	dh_check(luo_upgrade(ctl, exe) < 0);
	close(exe);
	dh_check_eq(until_ready(fd, d.pid, &mainpid), 1);
	luo_close(ctl);

	/* Rolled back by the keeper: the pid that serves is announced. */
	dh_check_eq(up_upgrade(d.socket, getenv("LUO_RB_IMAGE_PATH")),
		    -ENOEXEC);
	e2e_status(d.socket, &st);
	dh_check(st.pid != (uint32_t)d.pid);
	dh_check_eq(dh_wait(&d), dh_exit_code(SIGKILL));
	d.pid = (pid_t)st.pid;
	dh_check_eq(until_ready(fd, d.pid, &mainpid), 1);
	dh_check_eq(mainpid, d.pid);

	unsetenv("NOTIFY_SOCKET");
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	close(fd);
	unlink(sa.sun_path);
	rmdir(dir);
	return DH_PASS;
}
