// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Issue 8, item 6: a rolled-back REBOOT restores the incoming side as it
 * was too.  After a first REBOOT, session "a" is retrieved with one of its
 * files, "b" is not, and "d" is parked by HANDOVER; a REBOOT into an image
 * that refuses the handover changes none of it: the retrieved session's
 * fd still answers and still hands out the same file, the retrieved file
 * still counts as preserved (EBUSY), "a" cannot be retrieved twice, "b"
 * and "d" are retrieved intact, and the RFC state is still "updated".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "e2e.h"

#define SIZE	(8u << 10)

static void preserve(int dev, const char *name, uint64_t token, int *sfd)
{
	int m = e2e_memfd(SIZE, token, (off_t)token);

	*sfd = luo_create_session(dev, name);
	dh_check(*sfd >= 0);
	dh_check_eq(luo_session_preserve_fd(*sfd, m, token), 0);
	close(m);
}

static void retrieve_intact(int dev, const char *name, uint64_t token)
{
	int sfd = luo_retrieve_session(dev, name), m;

	dh_check(sfd >= 0);
	m = luo_session_retrieve_fd(sfd, token);
	dh_check(m >= 0);
	dh_check(e2e_memfd_ok(m, SIZE, token));
	dh_check_eq(lseek(m, 0, SEEK_CUR), (off_t)token);
	close(m);
	dh_check_eq(luo_session_finish(sfd), 0);
	close(sfd);
}

static uint32_t state(int fd)
{
	struct luo_ioctl_get_state st = { .size = sizeof(st) };

	dh_check_eq(luo_ioctl(fd, LUO_IOCTL_GET_STATE, &st), 0);
	return st.state;
}

int main(void)
{
	const char *image = getenv("LUO_RB_IMAGE_PATH");
	struct stat before, after;
	struct luo_status st;
	struct dh_daemon d;
	uint64_t upd = 0;
	int dev, s[4], sa, fa, fa2, ctl, exe, x;

	if (!image)
		dh_skip("LUO_RB_IMAGE_PATH is not set");
	setenv("LUO_RB_IMAGE", "refuse", 1);
	dh_check_eq(dh_start(&d, NULL), 0);
	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	preserve(dev, "a", 1, &s[0]);
	preserve(dev, "b", 2, &s[1]);
	dh_check_eq(luo_reboot(dev, -1, &upd), 0);
	close(s[0]);
	close(s[1]);
	luo_close(dev);
	/* Update 2: "a" retrieved with its file, "b" not, "d" parked. */
	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	sa = luo_retrieve_session(dev, "a");
	dh_check(sa >= 0);
	fa = luo_session_retrieve_fd(sa, 1);
	dh_check(fa >= 0);
	dh_check_eq(fstat(fa, &before), 0);
	preserve(dev, "d", 4, &s[3]);
	dh_check_eq(luo_session_handover(s[3], 0), 0);
	close(s[3]);
	dh_check_eq(state(dev), LIVEUPDATE_STATE_UPDATED);
	/* The REBOOT that the new image refuses. */
	ctl = luo_open_at(d.socket, LUO_OPEN_CONTROL);
	dh_check(ctl >= 0);
	exe = open(image, O_RDONLY | O_CLOEXEC);
	dh_check(exe >= 0);
	dh_check_eq(luo_reboot(ctl, exe, &upd), -EPROTO);
	close(exe);
	dh_check_eq(luo_status(ctl, &st), 0);
	dh_check_eq(st.update_number, 2);
	dh_check_eq(st.nr_outgoing, 0);
	dh_check_eq(st.nr_incoming, 3);
	dh_check_eq(state(ctl), LIVEUPDATE_STATE_UPDATED);
	luo_close(ctl);
	/* "a": the same session fd, the same retrieved file, still held. */
	fa2 = luo_session_retrieve_fd(sa, 1);
	dh_check(fa2 >= 0);
	dh_check_eq(fstat(fa2, &after), 0);
	dh_check_eq(after.st_ino, before.st_ino);
	dh_check_eq(after.st_dev, before.st_dev);
	dh_check(e2e_memfd_ok(fa2, SIZE, 1));
	close(fa2);
	dh_check_eq(luo_retrieve_session(dev, "a"), -EINVAL);
	x = luo_create_session(dev, "x");
	dh_check(x >= 0);
	dh_check_eq(luo_session_preserve_fd(x, fa, 9), -EBUSY);
	close(x);
	dh_check_eq(luo_session_finish(sa), 0);
	close(sa);
	close(fa);
	retrieve_intact(dev, "b", 2);
	retrieve_intact(dev, "d", 4);
	dh_check_eq(state(dev), LIVEUPDATE_STATE_NORMAL);
	luo_close(dev);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	return DH_PASS;
}
