// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * DROP_SESSION among users: sessions are named per uid, so two users may
 * each leave an incoming session "stale" behind; only the administrator
 * drops one (EPERM for anyone else, even for its own session), by owner,
 * and liveupdatectl drop without --owner refuses to guess between them.
 * Real users A and B in a group made for the test, a --group daemon.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "daemon-harness.h"
#include "testusers.h"

static struct tu_group group;
static struct tu_user ua, ub;
static const char *sock;
static const char *ctl_bin;

/* A session "stale" with one memfd, handed over: incoming, unretrieved. */
static int leave_stale(void *ctx)
{
	int dev = luo_open_at(sock, LUO_OPEN_DEVICE), s, m;

	TU_CHILD_CHECK(dev >= 0);
	s = luo_create_session(dev, "stale");
	TU_CHILD_CHECK(s >= 0);
	m = memfd_create("stale", MFD_CLOEXEC);
	TU_CHILD_CHECK(m >= 0);
	TU_CHILD_CHECK(luo_session_preserve_fd(s, m, 1) == 0);
	TU_CHILD_CHECK(luo_session_handover(s, 0) == 0);
	luo_close(s);
	luo_close(dev);
	close(m);
	return 0;
}

/* Not the administrator: EPERM, for its own session and another's. */
static int try_drop(void *ctx)
{
	int ctl = luo_open_at(sock, LUO_OPEN_CONTROL);

	TU_CHILD_CHECK(ctl >= 0);
	TU_CHILD_CHECK(luo_drop_session(ctl, "stale", ua.uid, NULL) == -EPERM);
	TU_CHILD_CHECK(luo_drop_session(ctl, "stale", ub.uid, NULL) == -EPERM);
	luo_close(ctl);
	return 0;
}

/* @ctx: the errno RETRIEVE_SESSION of "stale" is expected to give. */
static int retrieve_stale(void *ctx)
{
	int dev = luo_open_at(sock, LUO_OPEN_DEVICE), s;

	TU_CHILD_CHECK(dev >= 0);
	s = luo_retrieve_session(dev, "stale");
	TU_CHILD_CHECK((s < 0 ? s : 0) == *(int *)ctx);
	if (s >= 0) {
		TU_CHILD_CHECK(luo_session_finish(s) == 0);
		luo_close(s);
	}
	luo_close(dev);
	return 0;
}

static int run_ctl(const char *const *args, char *out, size_t len)
{
	return dh_run_output(ctl_bin, args, -1, -1, out, len);
}

#define expect dh_expect_output

static void test_drop_among_users(void)
{
	const char *const args[] = { "--group", group.name, NULL };
	char out[4096], owner[16], line[128];
	struct dh_daemon d;
	int gone = -ENOENT, there = 0;

	dh_check_eq(dh_start(&d, args), 0);
	sock = d.socket;
	dh_check_eq(tu_run_as(&ua, leave_stale, NULL), 0);
	dh_check_eq(tu_run_as(&ub, leave_stale, NULL), 0);
	dh_check_eq(tu_run_as(&ua, try_drop, NULL), 0);

	dh_check_eq(run_ctl((const char *[]){ "liveupdatectl", "-s", sock,
					      "drop", "stale", NULL },
			    out, sizeof(out)), 1);
	expect(out, "2 incoming sessions are named 'stale'");
	expect(out, "--owner");

	snprintf(owner, sizeof(owner), "%u", (unsigned int)ua.uid);
	dh_check_eq(run_ctl((const char *[]){ "liveupdatectl", "-s", sock,
					      "drop", "stale", "--owner", owner,
					      NULL }, out, sizeof(out)), 0);
	snprintf(line, sizeof(line), "dropped session 'stale' of uid %s: 1 files",
		 owner);
	expect(out, line);
	dh_check_eq(tu_run_as(&ua, retrieve_stale, &gone), 0);
	dh_check_eq(tu_run_as(&ub, retrieve_stale, &there), 0);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
}

int main(void)
{
	ctl_bin = getenv("LIVEUPDATECTL");
	if (!ctl_bin)
		dh_skip("LIVEUPDATECTL not set");
	if (geteuid() != 0 || !tu_available())
		dh_skip("needs root, useradd and groupadd");
	dh_check_eq(tu_group_create(&group, "drop"), 0);
	dh_check_eq(tu_user_create(&ua, "da", &group), 0);
	dh_check_eq(tu_user_create(&ub, "db", &group), 0);
	test_drop_among_users();
	tu_user_remove(&ub);
	tu_user_remove(&ua);
	tu_group_remove(&group);
	return DH_PASS;
}
