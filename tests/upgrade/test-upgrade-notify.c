// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * UPGRADE and the service manager (issue 9, item 3): RELOADING=1 (with
 * MONOTONIC_USEC) when an UPGRADE starts, then READY=1 with MAINPID the
 * daemon's own pid, which does not change: the new image runs at the same
 * pid.  An UPGRADE that fails before the exec (an image that cannot be
 * executed) also ends with READY=1, and one rolled back by the keeper
 * announces the pid that serves (REBOOT's path).
 */
#include <errno.h>
#include <fcntl.h>
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

int main(void)
{
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
	dh_check_eq(dh_start(&d, NULL), 0);
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
