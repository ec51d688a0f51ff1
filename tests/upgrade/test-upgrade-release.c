// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Upgrading from the previous release and back (issue 9, item 2).  The
 * previous release (v0.1.0, or the commit in previous-release) is built
 * by build-previous.sh.  It has no UPGRADE, so:
 *
 *  1. the old daemon, with sessions of root and of a user (owners), is
 *     REBOOTed (its own request) into the current build, which reads the
 *     old handover: every session is incoming under its owner, and comes
 *     back byte for byte;
 *  2. the current build, holding every kind of state, is asked to UPGRADE
 *     into the old binary: the old image does not know the UPGRADE's
 *     handover ("luo-handover-v2") and refuses it without harm, the
 *     current image is rolled back to, UPGRADE fails with EPROTO and
 *     nothing changed (LIST, STATUS, every fd);
 *  3. a REBOOT's handover is still the old format, so the current build
 *     REBOOTs back into the old binary, which takes it over.
 *
 * Skipped (77) only if git or the release's history is not available.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testusers.h"
#include "up.h"

#define SIZE	(32u << 10)

static char old_bin[4096];
static const char *cur_bin;	/* the current build's liveupdated */
static const char *sock;
static struct tu_user user;
static struct tu_group group;
static int chan[2];

static void build_previous(void)
{
	const char *src = getenv("LUO_SOURCE_ROOT");
	const char *out = getenv("LUO_PREVIOUS_BUILD");
	char cmd[8192];
	FILE *p;
	int st;

	if (!src || !out)
		dh_skip("LUO_SOURCE_ROOT or LUO_PREVIOUS_BUILD not set");
	snprintf(cmd, sizeof(cmd), "sh '%s/tests/upgrade/build-previous.sh' '%s' '%s'",
		 src, src, out);
	p = popen(cmd, "r");
	dh_check(p != NULL);
	if (!fgets(old_bin, sizeof(old_bin), p))
		old_bin[0] = '\0';
	st = pclose(p);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
		dh_skip("the previous release cannot be built from git here");
	dh_check(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	old_bin[strcspn(old_bin, "\n")] = '\0';
	dh_check(access(old_bin, X_OK) == 0);
}

static int send_fd(int s, int fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} cb = { 0 };
	struct iovec iov = { .iov_base = "f", .iov_len = 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cb.buf, .msg_controllen = sizeof(cb.buf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(s, &mh, 0) == 1 ? 0 : -1;
}

static int recv_fd(int s)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} cb;
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cb.buf, .msg_controllen = sizeof(cb.buf),
	};
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(s, &mh, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&mh);
	if (!cm || cm->cmsg_len != CMSG_LEN(sizeof(int)))
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* The user's session "mine" with token 9; its fd goes to the parent. */
static int user_create(void *unused)
{
	int dev = luo_open_at(sock, LUO_OPEN_DEVICE), sfd, m;

	if (dev < 0)
		return 10;
	sfd = luo_create_session(dev, "mine");
	m = e2e_memfd(SIZE, 9, 9);
	if (sfd < 0 || m < 0 || luo_session_preserve_fd(sfd, m, 9))
		return 11;
	return send_fd(chan[1], sfd) ? 12 : 0;
}

/* After the REBOOT: the user retrieves "mine", whole. */
static int user_retrieve(void *unused)
{
	int dev = luo_open_at(sock, LUO_OPEN_DEVICE), sfd, m;

	if (dev < 0)
		return 20;
	sfd = luo_retrieve_session(dev, "mine");
	if (sfd < 0)
		return 21;
	m = luo_session_retrieve_fd(sfd, 9);
	if (m < 0 || !e2e_memfd_ok(m, SIZE, 9) || lseek(m, 0, SEEK_CUR) != 9)
		return 22;
	return luo_session_finish(sfd) ? 23 : 0;
}

static int find_owner(const struct luo_list_record *r, void *ctx)
{
	if (r->type == LUO_LIST_SESSION && !strcmp(r->name, "mine"))
		*(int64_t *)ctx = r->owner;
	return 0;
}

/* The previous release's daemon REBOOTed into the current build. */
static void test_from_previous(struct dh_daemon *d)
{
	struct luo_upgrade probe = { .size = sizeof(probe), .flags = 2 };
	const char *args[] = { "--group", group.name, NULL };
	int64_t owner = -1;
	uint64_t upd = 0;
	int dev, sa, m, exe, ctl, user_sfd;

	setenv("LIVEUPDATED", old_bin, 1);
	dh_check_eq(dh_start(d, args), 0);
	/* The previous release has no vault; its images keep none. */
	d->no_vault = true;
	sock = d->socket;
	ctl = luo_open_at(sock, LUO_OPEN_CONTROL);
	dh_check(ctl >= 0);
	/* No UPGRADE in the old release: not a command at all. */
	dh_check_eq(luo_ioctl(ctl, LUO_IOCTL_UPGRADE, &probe), -EINVAL);
	dh_check_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, chan),
		    0);
	dh_check_eq(tu_run_as(&user, user_create, NULL), 0);
	user_sfd = recv_fd(chan[0]);
	dh_check(user_sfd >= 0);
	dev = luo_open_at(sock, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	sa = luo_create_session(dev, "root-a");
	dh_check(sa >= 0);
	m = e2e_memfd(SIZE, 1, 100);
	dh_check_eq(luo_session_preserve_fd(sa, m, 1), 0);
	close(m);
	exe = open(cur_bin, O_RDONLY | O_CLOEXEC);
	dh_check(exe >= 0);
	dh_check_eq(luo_reboot(ctl, exe, &upd), 0);
	close(exe);
	dh_check_eq(upd, 2);
	close(sa);
	close(user_sfd);
	luo_close(dev);
	/* The current build serves: it knows UPGRADE. */
	dh_check_eq(luo_ioctl(ctl, LUO_IOCTL_UPGRADE, &probe), -EOPNOTSUPP);
	dh_check_eq(luo_list(ctl, find_owner, &owner), 0);
	dh_check_eq(owner, user.uid);
	luo_close(ctl);
	dev = luo_open_at(sock, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	/* Root does not see the user's name; the user retrieves it. */
	dh_check_eq(luo_retrieve_session(dev, "mine"), -ENOENT);
	sa = luo_retrieve_session(dev, "root-a");
	dh_check(sa >= 0);
	m = luo_session_retrieve_fd(sa, 1);
	dh_check(m >= 0 && e2e_memfd_ok(m, SIZE, 1));
	dh_check_eq(lseek(m, 0, SEEK_CUR), 100);
	close(m);
	dh_check_eq(luo_session_finish(sa), 0);
	close(sa);
	luo_close(dev);
	dh_check_eq(tu_run_as(&user, user_retrieve, NULL), 0);
}

/* The current build cannot UPGRADE into the old one: refused, no harm. */
static void test_to_previous(struct dh_daemon *d)
{
	struct up_snap before, after;
	struct up_state s;
	uint64_t upd = 0;
	int ctl, exe, dev, sfd, m;

	up_setup(d->socket, &s);		/* REBOOTs the current build */
	up_snap(d->socket, &before);
	dh_check_eq(up_upgrade(d->socket, old_bin), -EPROTO);
	up_snap(d->socket, &after);
	up_same(&before, &after);
	dh_check_eq(after.st.pid, d->pid);
	up_check_alive(d->socket, &s);

	/* A REBOOT's handover the old release takes over. */
	dev = luo_open_at(d->socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	sfd = luo_create_session(dev, "down");
	dh_check(sfd >= 0);
	m = e2e_memfd(SIZE, 4, 44);
	dh_check_eq(luo_session_preserve_fd(sfd, m, 4), 0);
	close(m);
	ctl = luo_open_at(d->socket, LUO_OPEN_CONTROL);
	dh_check(ctl >= 0);
	exe = open(old_bin, O_RDONLY | O_CLOEXEC);
	dh_check(exe >= 0);
	dh_check_eq(luo_reboot(ctl, exe, &upd), 0);
	close(exe);
	dh_check_eq(upd, 4);
	close(sfd);
	luo_close(dev);
	/* The old release serves again: no UPGRADE. */
	dh_check_eq(luo_upgrade(ctl, -1), -EINVAL);
	luo_close(ctl);
	dev = luo_open_at(d->socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	sfd = luo_retrieve_session(dev, "down");
	dh_check(sfd >= 0);
	m = luo_session_retrieve_fd(sfd, 4);
	dh_check(m >= 0 && e2e_memfd_ok(m, SIZE, 4));
	dh_check_eq(lseek(m, 0, SEEK_CUR), 44);
	close(m);
	dh_check_eq(luo_session_finish(sfd), 0);
	close(sfd);
	luo_close(dev);
}

int main(void)
{
	struct dh_daemon d;

	if (geteuid() != 0 || !tu_available())
		dh_skip("needs root, useradd and groupadd");
	cur_bin = dh_binary();
	build_previous();
	dh_check_eq(tu_group_create(&group, "relg"), 0);
	dh_check_eq(tu_user_create(&user, "rel", &group), 0);
	test_from_previous(&d);
	test_to_previous(&d);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	tu_user_remove(&user);
	tu_group_remove(&group);
	return DH_PASS;
}
