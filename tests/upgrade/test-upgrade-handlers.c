// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Every file handler across UPGRADEs (issue 9, item 1): a session holding
 * both ends of a pipe with unread bytes, an eventfd with a count, a
 * connected Unix socket with unread bytes and a memfd stays outgoing and
 * unfrozen across two UPGRADEs (a handler keeps nothing outside the
 * handover), can still drop a file (UNPRESERVE_FD), and a REBOOT after
 * them freezes and hands over every file: each comes back as it was, and
 * the daemon holds no fd more than before.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "up.h"

int main(void)
{
	struct luo_session_unpreserve_fd un = { .size = sizeof(un), .token = 9 };
	struct dh_daemon d;
	uint64_t update = 0, v;
	int dev, sfd, p[2], sp[2], ev, m, extra, r, w, s, base;
	char got[32];

	dh_check_eq(dh_start(&d, NULL), 0);
	base = e2e_daemon_fds(&d);
	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	sfd = luo_create_session(dev, "all");
	dh_check(sfd >= 0);
	dh_check_eq(pipe2(p, O_CLOEXEC), 0);
	dh_check_eq(write(p[1], "in the pipe", 11), 11);
	ev = eventfd(5, EFD_CLOEXEC);
	dh_check(ev >= 0);
	dh_check_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	dh_check_eq(write(sp[1], "to the socket", 13), 13);
	m = e2e_memfd(8192, 3, 17);
	extra = e2e_memfd(4096, 4, 0);
	dh_check_eq(luo_session_preserve_fd(sfd, p[0], 1), 0);
	dh_check_eq(luo_session_preserve_fd(sfd, p[1], 2), 0);
	dh_check_eq(luo_session_preserve_fd(sfd, ev, 3), 0);
	dh_check_eq(luo_session_preserve_fd(sfd, sp[0], 4), 0);
	dh_check_eq(luo_session_preserve_fd(sfd, m, 5), 0);
	dh_check_eq(luo_session_preserve_fd(sfd, extra, 9), 0);
	close(p[0]);
	close(p[1]);
	close(ev);
	close(sp[0]);
	close(m);
	close(extra);

	dh_check_eq(up_upgrade(d.socket, NULL), 0);
	dh_check_eq(up_upgrade(d.socket, dh_binary()), 0);
	/* Outgoing, unfrozen: a file can still leave and come in. */
	dh_check_eq(luo_ioctl(sfd, LUO_SESSION_UNPRESERVE_FD, &un), 0);
	extra = e2e_memfd(4096, 4, 0);
	dh_check_eq(luo_session_preserve_fd(sfd, extra, 9), 0);
	close(extra);
	dh_check_eq(e2e_reboot(d.socket, &update), 0);
	dh_check_eq(update, 2);
	close(sfd);
	luo_close(dev);

	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	sfd = luo_retrieve_session(dev, "all");
	dh_check(sfd >= 0);
	r = luo_session_retrieve_fd(sfd, 1);
	w = luo_session_retrieve_fd(sfd, 2);
	dh_check(r >= 0 && w >= 0);
	dh_check_eq(read(r, got, sizeof(got)), 11);
	dh_check(!memcmp(got, "in the pipe", 11));
	dh_check_eq(write(w, "!", 1), 1);
	dh_check_eq(read(r, got, sizeof(got)), 1);
	ev = luo_session_retrieve_fd(sfd, 3);
	dh_check(ev >= 0);
	dh_check_eq(read(ev, &v, sizeof(v)), sizeof(v));
	dh_check_eq(v, 5);
	s = luo_session_retrieve_fd(sfd, 4);
	dh_check(s >= 0);
	dh_check_eq(read(s, got, sizeof(got)), 13);
	dh_check(!memcmp(got, "to the socket", 13));
	dh_check_eq(write(s, "back", 4), 4);
	dh_check_eq(read(sp[1], got, sizeof(got)), 4);
	m = luo_session_retrieve_fd(sfd, 5);
	dh_check(m >= 0 && e2e_memfd_ok(m, 8192, 3));
	dh_check_eq(lseek(m, 0, SEEK_CUR), 17);
	extra = luo_session_retrieve_fd(sfd, 9);
	dh_check(extra >= 0 && e2e_memfd_ok(extra, 4096, 4));
	dh_check_eq(luo_session_finish(sfd), 0);
	close(r);
	close(w);
	close(ev);
	close(s);
	close(sp[1]);
	close(m);
	close(extra);
	close(sfd);
	luo_close(dev);
	dh_check_eq(e2e_daemon_fds(&d), base);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	return DH_PASS;
}
