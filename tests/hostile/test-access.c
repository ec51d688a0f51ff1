// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Access control, as root acting as nobody/nogroup (65534) in children:
 *  - the socket is 0600 and root's: another user cannot connect;
 *  - the peer's credentials are checked too: with the socket made 0666
 *    behind the daemon's back, the handshake still fails with EACCES;
 *  - --group opens the socket (0660) and its directory (0750) to a group,
 *    whose members can open the device;
 *  - --max-sessions-per-connection, --max-sessions-per-user and
 *    --max-files-per-user: ENOSPC past them; a session and its files count
 *    toward the uid that created it, whoever preserves into it; closing a
 *    session, or UNPRESERVE_FD, gives its share back.
 */
#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "hostile.h"

static const char *sock_path;

#define CHILD_CHECK(cond) do { if (!(cond)) return __LINE__ % 100 + 1; } while (0)

static int child_connect(void *ctx)
{
	int fd = wc_connect(sock_path);

	if (fd >= 0)
		close(fd);
	return (fd < 0 ? fd : 0) == *(int *)ctx ? 0 : 2;
}

static int child_open(void *ctx)
{
	int fd = luo_open_at(sock_path, LUO_OPEN_DEVICE);

	if (fd >= 0)
		luo_close(fd);
	fd = fd < 0 ? fd : 0;
	if (fd != *(int *)ctx)
		fprintf(stderr, "open as uid %u: %s\n", (unsigned int)getuid(),
			strerror(-fd));
	return fd == *(int *)ctx ? 0 : 2;
}

/* Preserves a new memfd under @token; our copy is closed. */
static int preserve(int sess, uint64_t token)
{
	int fd = memfd_create("access", MFD_CLOEXEC), r;

	dh_check(fd >= 0);
	r = luo_session_preserve_fd(sess, fd, token);
	close(fd);
	return r;
}

static void test_default_mode(void)
{
	int want = -EACCES;
	struct dh_daemon d;
	struct stat st;

	dh_check_eq(dh_start(&d, NULL), 0);
	sock_path = d.socket;
	dh_check_eq(stat(d.socket, &st), 0);
	dh_check_eq(st.st_mode & 07777, 0600);
	dh_check_eq(st.st_uid, 0);
	dh_check_eq(hostile_as_user(HOSTILE_UID, HOSTILE_GID, child_connect,
				    &want), 0);
	/* Past the mode: SO_PEERCRED says no. */
	dh_check_eq(chmod(d.socket, 0666), 0);
	dh_check_eq(chmod(d.dir, 0755), 0);
	dh_check_eq(hostile_as_user(HOSTILE_UID, HOSTILE_GID, child_open,
				    &want), 0);
	want = 0;
	dh_check_eq(hostile_as_user(0, 0, child_open, &want), 0);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
}

static void test_group(void)
{
	const char *const args[] = { "--group", "nogroup", NULL };
	char dir[PATH_MAX];
	struct dh_daemon d;
	struct stat st;
	int want = 0;

	dh_check_eq(dh_start(&d, args), 0);
	sock_path = d.socket;
	dh_check_eq(stat(d.socket, &st), 0);
	dh_check_eq(st.st_mode & 07777, 0660);
	dh_check_eq(st.st_gid, HOSTILE_GID);
	snprintf(dir, sizeof(dir), "%s", d.socket);
	dh_check_eq(stat(dirname(dir), &st), 0);
	dh_check_eq(st.st_mode & 07777, 0750);
	dh_check_eq(st.st_gid, HOSTILE_GID);
	dh_check_eq(hostile_as_user(HOSTILE_UID, HOSTILE_GID, child_open,
				    &want), 0);
	/* Another group: the mode keeps it out. */
	want = -EACCES;
	dh_check_eq(hostile_as_user(HOSTILE_UID, HOSTILE_GID - 1,
				    child_connect, &want), 0);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
}

/* Nobody: its own quota, and root's through root's session fd. */
static int child_limits(void *ctx)
{
	int root_sess = *(int *)ctx, dev, s, m;

	m = memfd_create("child", MFD_CLOEXEC);
	CHILD_CHECK(m >= 0);
	CHILD_CHECK(luo_session_preserve_fd(root_sess, m, 99) == -ENOSPC);
	dev = luo_open_at(sock_path, LUO_OPEN_DEVICE);
	CHILD_CHECK(dev >= 0);
	s = luo_create_session(dev, "nobody");
	CHILD_CHECK(s >= 0);
	CHILD_CHECK(luo_session_preserve_fd(s, m, 100) == 0);
	close(m);
	luo_close(s);
	luo_close(dev);
	return 0;
}

static void test_limits(void)
{
	const char *const args[] = {
		"--group", "nogroup", "--max-sessions-per-connection", "2",
		"--max-sessions-per-user", "3", "--max-files-per-user", "3",
		NULL,
	};
	struct dh_daemon d;
	int dev, a, b, c, e;

	dh_check_eq(dh_start(&d, args), 0);
	sock_path = d.socket;
	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	a = luo_create_session(dev, "a");
	b = luo_create_session(dev, "b");
	dh_check(a >= 0 && b >= 0);
	dh_check_eq(luo_create_session(dev, "c"), -ENOSPC);	/* connection */
	luo_close(dev);
	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	c = luo_create_session(dev, "c");
	dh_check(c >= 0);
	dh_check_eq(luo_create_session(dev, "d"), -ENOSPC);	/* user */
	luo_close(dev);
	dh_check_eq(preserve(a, 1), 0);
	dh_check_eq(preserve(a, 2), 0);
	dh_check_eq(preserve(c, 3), 0);
	dh_check_eq(preserve(b, 4), -ENOSPC);
	dh_check_eq(hostile_as_user(HOSTILE_UID, HOSTILE_GID, child_limits,
				    &b), 0);
	/* Closing a gives back one session and two files. */
	luo_close(a);
	dh_check_eq(preserve(b, 4), 0);
	dh_check_eq(preserve(b, 5), 0);
	dh_check_eq(preserve(b, 6), -ENOSPC);
	/* UNPRESERVE_FD gives one back. */
	dh_check_eq(luo_ioctl(b, LUO_SESSION_UNPRESERVE_FD,
			      &(struct luo_session_unpreserve_fd){
				.size = sizeof(struct luo_session_unpreserve_fd),
				.token = 4 }), 0);
	dh_check_eq(preserve(b, 6), 0);
	dh_check_eq(preserve(b, 7), -ENOSPC);
	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	e = luo_create_session(dev, "e");
	dh_check(e >= 0);
	luo_close(dev);
	luo_close(b);
	luo_close(c);
	luo_close(e);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
}

int main(void)
{
	if (geteuid() != 0)
		dh_skip("needs root to act as another user");
	if (!getgrgid(HOSTILE_GID))
		dh_skip("no group 65534");
	test_default_mode();
	test_group();
	test_limits();
	return DH_PASS;
}
