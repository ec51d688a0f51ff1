// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The vault keeps reading from every engine it starts.
 *
 * A dead engine's socket is seen at EOF before its SIGCHLD; the socket
 * pair made for the next engine gets the same fd number, and a vault that
 * told engines apart by that number stopped reading from the new one: its
 * next commits filled the socket and the engine blocked for good (found
 * by scripts/vault-soak.sh).  Here the engine is killed three times, and
 * after each recovery a client preserves enough files that their commits
 * overflow any socket buffer, then every file is checked after the next
 * kill.  Bounded by alarm(): a stuck engine fails the test.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "daemon-harness.h"

#define KILLS	3
#define FILES	600	/* per round: far more than a socket buffer's worth */

static int make_file(uint64_t token)
{
	int fd = memfd_create("again", MFD_CLOEXEC);

	dh_check(fd >= 0);
	dh_check_eq(pwrite(fd, &token, sizeof(token), 0), (long)sizeof(token));
	return fd;
}

int main(void)
{
	struct dh_daemon d;
	uint64_t token = 1, got, update;
	pid_t engine;
	int dev, sfd, fd, ctl;

	alarm(120);
	dh_check_eq(dh_start(&d, NULL), 0);
	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	sfd = luo_create_session(dev, "again");
	dh_check(sfd >= 0);
	for (int k = 0; k < KILLS; k++) {
		engine = dh_kill_engine(d.socket);
		dh_check(dh_status_pid(d.socket) != engine);
		for (int i = 0; i < FILES; i++, token++) {
			fd = make_file(token);
			dh_check_eq(luo_session_preserve_fd(sfd, fd, token), 0);
			close(fd);
		}
	}
	/* One more crash, then a REBOOT: every acknowledged file is there. */
	engine = dh_kill_engine(d.socket);
	dh_check(dh_status_pid(d.socket) != engine);
	ctl = luo_open_at(d.socket, LUO_OPEN_CONTROL);
	dh_check(ctl >= 0);
	dh_check_eq(luo_reboot(ctl, -1, &update), 0);
	luo_close(ctl);
	luo_close(sfd);		/* hung up by the REBOOT */
	luo_close(dev);
	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	sfd = luo_retrieve_session(dev, "again");
	dh_check(sfd >= 0);
	for (uint64_t t = 1; t < token; t++) {
		fd = luo_session_retrieve_fd(sfd, t);
		dh_check(fd >= 0);
		dh_check_eq(pread(fd, &got, sizeof(got), 0), (long)sizeof(got));
		dh_check_eq(got, t);
		close(fd);
	}
	dh_check_eq(luo_session_finish(sfd), 0);
	luo_close(sfd);
	luo_close(dev);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	return DH_PASS;
}
