// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A session fd is one end of a socket pair: the session is released on
 * the last close of that end (not while a dup, or a copy in flight, keeps
 * it open), and the release takes effect before the client's next request
 * is served, as the kernel's synchronous close would.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "daemon-harness.h"

static uint32_t outgoing(int fd)
{
	struct luo_status st;

	dh_check_eq(luo_status(fd, &st), 0);
	return st.nr_outgoing;
}

static void test_release(int dev)
{
	int sfd, i;

	for (i = 0; i < 50; i++) {
		sfd = luo_create_session(dev, "release");
		dh_check(sfd >= 0);
		dh_check_eq(luo_create_session(dev, "release"), -EEXIST);
		dh_check_eq(outgoing(dev), 1);
		close(sfd);
		/* No wait: the close is seen before this request. */
		dh_check_eq(outgoing(dev), 0);
	}
}

static void test_dup(int dev)
{
	char name[LIVEUPDATE_SESSION_NAME_LENGTH];
	int sfd, dup_fd, again;

	sfd = luo_create_session(dev, "dup");
	dh_check(sfd >= 0);
	dup_fd = dup(sfd);
	dh_check(dup_fd >= 0);
	close(sfd);
	dh_check_eq(luo_create_session(dev, "dup"), -EEXIST);
	dh_check_eq(outgoing(dev), 1);
	dh_check_eq(luo_session_get_name(dup_fd, name, sizeof(name)), 0);
	dh_check(!strcmp(name, "dup"));
	close(dup_fd);
	again = luo_create_session(dev, "dup");
	dh_check(again >= 0);
	close(again);
}

/* Closing the device does not touch sessions (SPEC.md 2.3). */
static void test_device_close(const char *path)
{
	int dev = luo_open_at(path, LUO_OPEN_DEVICE), sfd, ctl;
	char name[LIVEUPDATE_SESSION_NAME_LENGTH];

	dh_check(dev >= 0);
	sfd = luo_create_session(dev, "survivor");
	dh_check(sfd >= 0);
	luo_close(dev);
	ctl = luo_open_at(path, LUO_OPEN_CONTROL);
	dh_check(ctl >= 0);
	dh_check_eq(outgoing(ctl), 1);
	dh_check_eq(luo_session_get_name(sfd, name, sizeof(name)), 0);
	close(sfd);
	dh_check_eq(outgoing(ctl), 0);
	luo_close(ctl);
}

int main(void)
{
	struct dh_daemon d;
	int dev;

	dh_check_eq(dh_start(&d, NULL), 0);
	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	test_release(dev);
	test_dup(dev);
	luo_close(dev);
	test_device_close(d.socket);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	return DH_PASS;
}
