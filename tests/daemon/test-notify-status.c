// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Issue 10, item 1: STATUS= lines for the service manager.  Under a fake
 * manager (a datagram socket as NOTIFY_SOCKET) the daemon sends a STATUS=
 * line right after READY=1, then one whenever what it says changes
 * (sessions, files, the last REBOOT), at most one a second: a burst of 20
 * changes within a second gives at most three lines, and the last line
 * always tells the final state.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "daemon-harness.h"

static int mgr = -1;
static char mgr_path[PATH_MAX + 16];
static char last[512];
static int lines;

static void manager_start(const char *dir)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(mgr_path, sizeof(mgr_path), "%.*s/notify", PATH_MAX - 1,
		 dir);
	dh_check(strlen(mgr_path) < sizeof(sa.sun_path));
	strcpy(sa.sun_path, mgr_path);
	mgr = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	dh_check(mgr >= 0);
	dh_check_eq(bind(mgr, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setenv("NOTIFY_SOCKET", mgr_path, 1);
}

/* Reads datagrams until a STATUS= line contains @want (5 s at most). */
static void wait_status(const char *want)
{
	struct pollfd p = { .fd = mgr, .events = POLLIN };
	char buf[1024], *line, *save;
	ssize_t n;

	for (;;) {
		dh_check(poll(&p, 1, 5000) == 1);
		n = recv(mgr, buf, sizeof(buf) - 1, 0);
		dh_check(n > 0);
		buf[n] = '\0';
		for (line = strtok_r(buf, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			if (strncmp(line, "STATUS=", 7))
				continue;
			snprintf(last, sizeof(last), "%s", line + 7);
			lines++;
		}
		if (strstr(last, want))
			return;
	}
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int main(void)
{
	struct dh_daemon d;
	char dir[PATH_MAX];
	const char *tmp = getenv("TMPDIR");
	int dev, ctl, sfd, m, i, burst, held[20];
	uint64_t upd, t0;

	snprintf(dir, sizeof(dir), "%s/luo-status-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	dh_check(mkdtemp(dir) != NULL);
	manager_start(dir);
	dh_check_eq(dh_start(&d, NULL), 0);
	/* The first line, at once. */
	wait_status("update 1; sessions: 0 outgoing, 0 incoming; files: 0; "
		    "no REBOOT yet");
	dh_check_eq(lines, 1);

	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	sfd = luo_create_session(dev, "status");
	dh_check(sfd >= 0);
	m = memfd_create("status", MFD_CLOEXEC);
	dh_check(m >= 0);
	dh_check_eq(ftruncate(m, 4096), 0);
	dh_check_eq(luo_session_preserve_fd(sfd, m, 1), 0);
	close(m);
	wait_status("sessions: 1 outgoing, 0 incoming; files: 1;");

	/* A burst of 40 changes: few lines, the last one right. */
	lines = 0;
	t0 = now_ms();
	for (i = 0; i < 20; i++) {
		char name[16];

		snprintf(name, sizeof(name), "burst-%d", i);
		held[i] = luo_create_session(dev, name);
		dh_check(held[i] >= 0);
	}
	burst = (int)(now_ms() - t0);
	wait_status("sessions: 21 outgoing, 0 incoming; files: 1;");
	if (burst < 1000 && lines > 3) {
		fprintf(stderr, "%d STATUS lines for a burst of %d ms\n",
			lines, burst);
		dh_check(!"at most one STATUS= line a second");
	}
	for (i = 0; i < 20; i++)
		luo_close(held[i]);
	wait_status("sessions: 1 outgoing, 0 incoming; files: 1;");

	/* A REBOOT: the new image tells its state. */
	ctl = luo_open_at(d.socket, LUO_OPEN_CONTROL);
	dh_check(ctl >= 0);
	dh_check_eq(luo_reboot(ctl, -1, &upd), 0);
	luo_close(ctl);
	wait_status("update 2; sessions: 0 outgoing, 1 incoming; files: 1; "
		    "last REBOOT took ");
	luo_close(sfd);
	luo_close(dev);

	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	unsetenv("NOTIFY_SOCKET");
	close(mgr);
	unlink(mgr_path);
	rmdir(dir);
	return DH_PASS;
}
