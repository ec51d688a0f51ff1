// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The socket path is not trusted blindly (issue 8 item 4).  Root's daemon
 * with --group, in a sticky world-writable directory like /tmp where
 * another user (a test user) planted things:
 *  - a symlink of theirs at the socket's directory, pointing to a
 *    directory of root's: refused, the target neither chmod'ed nor
 *    chown'ed to the group, no socket made in it;
 *  - a symlink of theirs at a parent: refused, nothing created behind it;
 *  - a socket directory that is theirs: refused;
 *  - a stale socket of theirs at the path: refused and not removed;
 *  - a directory on the way that others may write to: refused;
 * while a symlink of root's on the way (as /var/run -> /run) is followed,
 * and the socket directory the daemon made is opened to the group.  At
 * its stop the daemon removes its socket file, never one that replaced
 * it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "hostile.h"
#include "testusers.h"

static struct tu_user user;
static struct tu_group group;
static char base[PATH_MAX], sticky[PATH_MAX], target[PATH_MAX];

static void path(char *buf, const char *dir, const char *rest)
{
	int n = snprintf(buf, PATH_MAX, "%s/%s", dir, rest);

	dh_check(n > 0 && n < PATH_MAX);
}

/* A symlink at @at to @to, owned by the test user. */
static void plant_symlink(const char *at, const char *to)
{
	dh_check_eq(symlink(to, at), 0);
	dh_check_eq(lchown(at, user.uid, user.gid), 0);
}

/* The daemon must refuse to start on @sock. */
static void check_refused(const char *sock)
{
	const char *const args[] = { "--group", group.name, NULL };
	struct dh_daemon d = { 0 };
	int r = dh_start_at(&d, sock, args);

	if (r == 0)
		fprintf(stderr, "daemon started on %s\n", sock);
	dh_check_eq(r, -ECHILD);
	dh_check_eq(dh_exit_code(d.status), 1);
}

/* @dir is still root:root @mode and holds nothing. */
static void check_untouched(const char *dir, mode_t mode)
{
	char sock[PATH_MAX];
	struct stat st;

	dh_check_eq(lstat(dir, &st), 0);
	dh_check_eq(st.st_mode & 07777, mode);
	dh_check_eq(st.st_uid, 0);
	dh_check_eq(st.st_gid, 0);
	path(sock, dir, "liveupdate.sock");
	dh_check_eq(lstat(sock, &st), -1);
	dh_check_eq(errno, ENOENT);
}

static void test_symlinked_socket_dir(void)
{
	char link[PATH_MAX], sock[PATH_MAX];

	path(link, sticky, "liveupdate");
	plant_symlink(link, target);
	path(sock, link, "liveupdate.sock");
	check_refused(sock);
	check_untouched(target, 0700);
	dh_check_eq(unlink(link), 0);
}

static void test_symlinked_parent(void)
{
	char link[PATH_MAX], sock[PATH_MAX], made[PATH_MAX];
	struct stat st;

	path(link, sticky, "parent");
	plant_symlink(link, target);
	path(sock, link, "liveupdate/liveupdate.sock");
	check_refused(sock);
	check_untouched(target, 0700);
	path(made, target, "liveupdate");
	dh_check_eq(lstat(made, &st), -1);
	dh_check_eq(unlink(link), 0);
}

static void test_their_dir(void)
{
	char dir[PATH_MAX], sock[PATH_MAX];
	struct stat st;

	path(dir, sticky, "theirs");
	dh_check_eq(mkdir(dir, 0755), 0);
	dh_check_eq(chown(dir, user.uid, user.gid), 0);
	path(sock, dir, "liveupdate.sock");
	check_refused(sock);
	dh_check_eq(stat(dir, &st), 0);
	dh_check_eq(st.st_uid, user.uid);
	dh_check_eq(st.st_gid, user.gid);
	dh_check_eq(st.st_mode & 07777, 0755);
	dh_check_eq(rmdir(dir), 0);
}

static void test_their_stale_socket(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	path(sa.sun_path, sticky, "stale.sock");
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	dh_check(fd >= 0);
	dh_check_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);	/* nobody listens: stale */
	dh_check_eq(lchown(sa.sun_path, user.uid, user.gid), 0);
	check_refused(sa.sun_path);
	dh_check_eq(lstat(sa.sun_path, &st), 0);
	dh_check_eq(st.st_uid, user.uid);
	dh_check_eq(unlink(sa.sun_path), 0);
}

static void test_writable_parent(void)
{
	char dir[PATH_MAX], sock[PATH_MAX];

	path(dir, base, "open");
	dh_check_eq(mkdir(dir, 0755), 0);
	dh_check_eq(chmod(dir, 0777), 0);
	path(sock, dir, "liveupdate/liveupdate.sock");
	check_refused(sock);
	path(sock, dir, "liveupdate");
	dh_check_eq(access(sock, F_OK), -1);
	dh_check_eq(rmdir(dir), 0);
}

/* Root's own symlink is followed; the directory made is the group's. */
static void test_root_symlink_followed(void)
{
	const char *const args[] = { "--group", group.name, NULL };
	char link[PATH_MAX], sock[PATH_MAX], dir[PATH_MAX];
	struct dh_daemon d = { 0 };
	struct stat st;
	uint64_t ns;

	path(link, sticky, "rootlink");
	dh_check_eq(symlink(base, link), 0);
	path(sock, link, "made/liveupdate.sock");
	dh_check_eq(dh_start_at(&d, sock, args), 0);
	dh_check_eq(hostile_status_rtt(sock, &ns), 0);
	path(dir, base, "made");
	dh_check_eq(stat(dir, &st), 0);
	dh_check_eq(st.st_mode & 07777, 0750);
	dh_check_eq(st.st_gid, group.gid);
	dh_check_eq(stat(sock, &st), 0);
	dh_check_eq(st.st_mode & 07777, 0660);
	dh_check_eq(dh_stop(&d), 0);
	dh_check_eq(access(sock, F_OK), -1);
	dh_check_eq(rmdir(dir), 0);
	dh_check_eq(unlink(link), 0);
}

/* A socket file put in place of the daemon's is not removed at its stop. */
static void test_replaced_socket_kept(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct dh_daemon d = { 0 };
	struct stat st;
	int fd;

	dh_check_eq(dh_start(&d, NULL), 0);
	dh_check(strlen(d.socket) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, d.socket, strlen(d.socket) + 1);
	dh_check_eq(unlink(d.socket), 0);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	dh_check(fd >= 0);
	dh_check_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	dh_check_eq(dh_stop(&d), 0);
	dh_check_eq(lstat(d.socket, &st), 0);
	dh_check(S_ISSOCK(st.st_mode));
	close(fd);
	dh_cleanup(&d);
}

static void cleanup(void)
{
	char p[PATH_MAX];

	if (!base[0])
		return;
	path(p, base, "target");
	rmdir(p);
	rmdir(sticky);
	rmdir(base);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");

	if (!tu_available())
		dh_skip("needs root and useradd");
	dh_binary();
	dh_check_eq(tu_group_create(&group, "spathg"), 0);
	dh_check_eq(tu_user_create(&user, "spath", NULL), 0);
	snprintf(base, sizeof(base), "%s/luo-spath-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	dh_check(mkdtemp(base) != NULL);
	atexit(cleanup);
	dh_check_eq(chmod(base, 0755), 0);
	path(sticky, base, "tmp");
	dh_check_eq(mkdir(sticky, 0755), 0);
	dh_check_eq(chmod(sticky, 01777), 0);
	path(target, base, "target");
	dh_check_eq(mkdir(target, 0700), 0);

	test_symlinked_socket_dir();
	test_symlinked_parent();
	test_their_dir();
	test_their_stale_socket();
	test_writable_parent();
	test_root_symlink_followed();
	test_replaced_socket_kept();

	tu_user_remove(&user);
	tu_group_remove(&group);
	return DH_PASS;
}
