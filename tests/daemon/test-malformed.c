// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Malformed messages get an errno, their fds are closed, and the daemon
 * keeps serving, on the same connection too: short, wrong length,
 * oversized, empty, two fds, an fd on a request that takes none.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "daemon-harness.h"
#include "wire-client.h"

static int reply_of(int fd)
{
	struct luo_wire_rep rep;

	dh_check_eq(wc_recv(fd, &rep, NULL, 0, NULL), 0);
	dh_check_eq(rep.len, 0);
	return rep.result;
}

/* The connection still works. */
static void check_alive(int fd)
{
	struct luo_status st;

	dh_check_eq(luo_status(fd, &st), 0);
	dh_check(st.pid > 0);
}

static void test_framing(int fd)
{
	static char big[LUO_WIRE_MAX_REQ + 512];
	struct luo_wire_req hdr = { .cmd = LUO_IOCTL_STATUS, .len = 88 };
	struct luo_status st = { .size = sizeof(st) };

	dh_check_eq(wc_send_raw(fd, &hdr, 4, NULL, 0), 0);
	dh_check_eq(reply_of(fd), -EINVAL);
	check_alive(fd);
	dh_check_eq(wc_send_raw(fd, "", 0, NULL, 0), 0);
	dh_check_eq(reply_of(fd), -EINVAL);
	check_alive(fd);
	/* len says 88, 16 bytes follow */
	memcpy(big, &hdr, sizeof(hdr));
	memcpy(big + sizeof(hdr), &st, 16);
	dh_check_eq(wc_send_raw(fd, big, sizeof(hdr) + 16, NULL, 0), 0);
	dh_check_eq(reply_of(fd), -EINVAL);
	check_alive(fd);
	hdr.len = sizeof(big) - sizeof(hdr);
	memcpy(big, &hdr, sizeof(hdr));
	dh_check_eq(wc_send_raw(fd, big, sizeof(big), NULL, 0), 0);
	dh_check_eq(reply_of(fd), -EMSGSIZE);
	check_alive(fd);
}

static void test_fds(int fd, int sfd)
{
	struct luo_status st = { .size = sizeof(st) };
	struct liveupdate_session_get_name gn = { .size = sizeof(gn) };
	int m[3];

	m[0] = memfd_create("a", MFD_CLOEXEC);
	m[1] = memfd_create("b", MFD_CLOEXEC);
	m[2] = memfd_create("c", MFD_CLOEXEC);
	dh_check(m[0] >= 0 && m[1] >= 0 && m[2] >= 0);
	dh_check_eq(wc_send(fd, LUO_IOCTL_STATUS, &st, sizeof(st), m, 1), 0);
	dh_check_eq(reply_of(fd), -EINVAL);
	dh_check_eq(wc_send(fd, LUO_IOCTL_REBOOT, &st, 16, m, 2), 0);
	dh_check_eq(reply_of(fd), -EINVAL);
	dh_check_eq(wc_send(fd, LUO_IOCTL_REBOOT, &st, 16, m, 3), 0);
	dh_check_eq(reply_of(fd), -EINVAL);
	check_alive(fd);
	dh_check_eq(wc_send(sfd, LIVEUPDATE_SESSION_GET_NAME, &gn, sizeof(gn),
			    m, 1), 0);
	dh_check_eq(reply_of(sfd), -EINVAL);
	dh_check_eq(wc_send(sfd, LIVEUPDATE_SESSION_PRESERVE_FD, &gn, 16, m, 2),
		    0);
	dh_check_eq(reply_of(sfd), -EINVAL);
	dh_check_eq(luo_session_get_name(sfd, (char *)gn.name, sizeof(gn.name)),
		    0);
	dh_check(!strcmp((char *)gn.name, "malformed"));
	close(m[0]);
	close(m[1]);
	close(m[2]);
}

int main(void)
{
	struct dh_daemon d;
	int dev, sfd, base;

	dh_check_eq(dh_start(&d, NULL), 0);
	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	sfd = luo_create_session(dev, "malformed");
	dh_check(sfd >= 0);
	check_alive(dev);
	base = dh_count_fds(dh_engine_pid(&d));
	test_framing(dev);
	test_fds(dev, sfd);
	/* Every fd sent with a refused message was closed. */
	check_alive(dev);
	dh_check_eq(dh_count_fds(dh_engine_pid(&d)), base);
	close(sfd);
	close(dev);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	return DH_PASS;
}
