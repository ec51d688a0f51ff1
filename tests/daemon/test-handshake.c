// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The OPEN handshake: device opens are exclusive (EBUSY) and can be made
 * again once closed; control opens work while the device is held and get
 * EPERM for the kernel's commands; a bad handshake is answered with EINVAL
 * and the connection closed.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "daemon-harness.h"
#include "wire-client.h"

/* The connection was answered @err and then closed by the daemon. */
static void check_refused(int fd, int err)
{
	struct luo_wire_rep rep;

	dh_check_eq(wc_recv(fd, &rep, NULL, 0, NULL), 0);
	dh_check_eq(rep.result, err);
	dh_check_eq(wc_recv(fd, &rep, NULL, 0, NULL), -ECONNRESET);
	close(fd);
}

static void test_bad_opens(const char *path)
{
	struct luo_wire_open op = { .size = sizeof(op), .mode = 3 };
	int fd;

	fd = wc_connect(path);
	dh_check(fd >= 0);
	dh_check_eq(wc_send(fd, LUO_WIRE_OPEN, &op, sizeof(op), NULL, 0), 0);
	check_refused(fd, -EINVAL);

	op.mode = LUO_WIRE_MODE_DEVICE;
	op.size = 8;
	fd = wc_connect(path);
	dh_check_eq(wc_send(fd, LUO_WIRE_OPEN, &op, sizeof(op), NULL, 0), 0);
	check_refused(fd, -EINVAL);

	op.size = sizeof(op);
	op.reserved = 1;
	fd = wc_connect(path);
	dh_check_eq(wc_send(fd, LUO_WIRE_OPEN, &op, sizeof(op), NULL, 0), 0);
	check_refused(fd, -EINVAL);

	/* A request before the handshake. */
	fd = wc_connect(path);
	dh_check_eq(wc_send(fd, LUO_IOCTL_STATUS, &op, sizeof(op), NULL, 0), 0);
	check_refused(fd, -EINVAL);
}

static void test_version(const char *path)
{
	struct luo_wire_open op = {
		.size = sizeof(op), .mode = LUO_WIRE_MODE_CONTROL, .version = 99,
	};
	int fd = wc_connect(path);

	dh_check(fd >= 0);
	dh_check_eq(wc_call(fd, LUO_WIRE_OPEN, &op, sizeof(op), -1, NULL), 0);
	dh_check_eq(op.version, LUO_WIRE_VERSION);
	dh_check_eq(op.mode, LUO_WIRE_MODE_CONTROL);
	close(fd);
}

static void test_exclusive(const char *path)
{
	struct liveupdate_ioctl_create_session cs = { .size = sizeof(cs) };
	struct luo_status st;
	int dev, dev2, ctl, i;

	dev = luo_open_at(path, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	dh_check_eq(luo_open_at(path, LUO_OPEN_DEVICE), -EBUSY);
	ctl = luo_open_at(path, LUO_OPEN_CONTROL);
	dh_check(ctl >= 0);
	dh_check_eq(luo_status(ctl, &st), 0);
	dh_check(st.flags & LUO_STATUS_DEVICE_OPEN);
	dh_check_eq(st.pid, 0 + st.pid);
	dh_check_eq(luo_ioctl(ctl, LIVEUPDATE_IOCTL_CREATE_SESSION, &cs), -EPERM);
	dh_check_eq(luo_create_session(ctl, "x"), -EPERM);
	dh_check_eq(luo_retrieve_session(ctl, "x"), -EPERM);
	/* Closing the device frees it at once for the next open. */
	for (i = 0; i < 20; i++) {
		dh_check_eq(luo_close(dev), 0);
		dev = luo_open_at(path, LUO_OPEN_DEVICE);
		dh_check(dev >= 0);
	}
	dev2 = luo_open_at(path, LUO_OPEN_DEVICE);
	dh_check_eq(dev2, -EBUSY);
	dh_check_eq(luo_status(dev, &st), 0);
	luo_close(dev);
	dh_check_eq(luo_status(ctl, &st), 0);
	dh_check(!(st.flags & LUO_STATUS_DEVICE_OPEN));
	luo_close(ctl);
}

int main(void)
{
	struct dh_daemon d;

	dh_check_eq(dh_start(&d, NULL), 0);
	test_bad_opens(d.socket);
	test_version(d.socket);
	test_exclusive(d.socket);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	return DH_PASS;
}
