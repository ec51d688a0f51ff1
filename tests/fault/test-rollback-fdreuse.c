// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Issue 8, item 5: fd numbers are never trusted across an exec.  A daemon
 * started with --ready-fd 3, as scripts/demo.sh starts it, has its own
 * image's fd above 3; once fd 3 is closed, the image it rolls back to
 * after a refused REBOOT takes number 3 for its own image and the old
 * image's number for its epoll fd.  The handover names the old image's
 * number: that number must not be believed (it names another file now),
 * and nothing may be closed under it.  The daemon keeps serving, nothing
 * changed, and a REBOOT right after it keeps every file.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e.h"

#define DATA_SIZE	(16u << 10)

/* liveupdated with its ready pipe as fd 3 and nothing else above 2. */
static void start_ready3(struct dh_daemon *d)
{
	const char *tmp = getenv("TMPDIR");
	struct pollfd p = { .events = POLLIN };
	char buf[8];
	int pfd[2];

	snprintf(d->dir, sizeof(d->dir), "%s/luo-test-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	dh_check(mkdtemp(d->dir) != NULL);
	dh_check(strlen(d->dir) + 17 < sizeof(d->socket));
	memcpy(d->socket, d->dir, strlen(d->dir));
	strcpy(d->socket + strlen(d->dir), "/liveupdate.sock");
	dh_check_eq(pipe2(pfd, O_CLOEXEC), 0);
	d->status = 0;
	d->no_vault = false;	/* the engine, its child, serves */
	d->pid = fork();
	dh_check(d->pid >= 0);
	if (d->pid == 0) {
		if (dup2(pfd[1], 3) != 3)
			_exit(126);
		for (int fd = 4; fd < 1024; fd++)
			close(fd);
		execl(dh_binary(), dh_binary(), "--socket", d->socket,
		      "--ready-fd", "3", "--log-level", "debug", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	p.fd = pfd[0];
	dh_check_eq(poll(&p, 1, 60000), 1);
	dh_check_eq(read(pfd[0], buf, sizeof(buf)), 8);
	dh_check(!memcmp(buf, "READY=1\n", 8));
	close(pfd[0]);
}

int main(void)
{
	char name[LIVEUPDATE_SESSION_NAME_LENGTH];
	const char *image = getenv("LUO_RB_IMAGE_PATH");
	struct luo_status st;
	struct dh_daemon d;
	uint64_t upd = 0;
	int dev, sfd, m, ctl, exe;

	if (!image)
		dh_skip("LUO_RB_IMAGE_PATH is not set");
	setenv("LUO_RB_IMAGE", "refuse", 1);
	start_ready3(&d);
	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	sfd = luo_create_session(dev, "vm");
	dh_check(sfd >= 0);
	m = e2e_memfd(DATA_SIZE, 42, 7);
	dh_check_eq(luo_session_preserve_fd(sfd, m, 1), 0);
	close(m);
	ctl = luo_open_at(d.socket, LUO_OPEN_CONTROL);
	dh_check(ctl >= 0);
	exe = open(image, O_RDONLY | O_CLOEXEC);
	dh_check(exe >= 0);
	dh_check_eq(luo_reboot(ctl, exe, &upd), -EPROTO);
	close(exe);
	/* Still serving, under the same pid, and nothing changed. */
	dh_check_eq(luo_status(ctl, &st), 0);
	dh_check_eq(st.pid, dh_engine_pid(&d));
	dh_check_eq(st.update_number, 1);
	dh_check_eq(st.nr_outgoing, 1);
	dh_check_eq(st.nr_files, 1);
	luo_close(ctl);
	dh_check_eq(luo_session_get_name(sfd, name, sizeof(name)), 0);
	e2e_status(d.socket, &st);	/* a new connection is served too */
	dh_check_eq(st.pid, dh_engine_pid(&d));
	/* A REBOOT right after it keeps the file, byte for byte. */
	dh_check_eq(e2e_reboot(d.socket, &upd), 0);
	dh_check_eq(upd, 2);
	close(sfd);
	luo_close(dev);
	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	sfd = luo_retrieve_session(dev, "vm");
	dh_check(sfd >= 0);
	m = luo_session_retrieve_fd(sfd, 1);
	dh_check(m >= 0);
	dh_check(e2e_memfd_ok(m, DATA_SIZE, 42));
	dh_check_eq(lseek(m, 0, SEEK_CUR), 7);
	close(m);
	dh_check_eq(luo_session_finish(sfd), 0);
	close(sfd);
	luo_close(dev);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	return DH_PASS;
}
