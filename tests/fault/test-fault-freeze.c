// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A freeze that fails at every position (SPEC.md 4.4): three sessions of
 * 3, 2 and 3 files, the failing file (fault-v1, "luo-fault:freeze=ERRNO")
 * at each of the 8 positions in turn, among memfd-v2 files and fault-v1
 * files without a plan.  Each time:
 *
 *  - REBOOT returns exactly that errno, and again when retried;
 *  - nothing changed: the update number, STATUS, the whole LIST and the
 *    daemon's fds are as before;
 *  - once the failing file's session is closed and made again without it,
 *    the reboot succeeds and every other file comes back with its data and
 *    position; the daemon ends with the fds it started with.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ft.h"

#define NR_SESSIONS	3
#define MAX_FILES	3
#define NR_POS		8

static const int nr_files[NR_SESSIONS] = { 3, 2, 3 };
static const int errs[] = { EIO, ENOSPC, ENOMEM, EACCES, EFBIG, ENODEV,
			    EAGAIN, EPERM };

struct setup {
	int dev;
	int sfd[NR_SESSIONS];
	int mfd[NR_SESSIONS][MAX_FILES];
};

static uint64_t token(int s, int i)
{
	return (uint64_t)s * 100 + (uint64_t)i;
}

static uint64_t seed(int round, int s, int i)
{
	return (uint64_t)round * 1000 + token(s, i) + 1;
}

static void session_name(char *buf, size_t len, int s)
{
	snprintf(buf, len, "freeze-%d", s);
}

/* Session @s with its files, the one at flat position @bad (if in it)
 * skipped when @skip_bad. */
static void make_session(struct setup *st, int s, int bad, bool skip_bad)
{
	char name[32];
	int pos = 0;

	for (int t = 0; t < s; t++)
		pos += nr_files[t];
	session_name(name, sizeof(name), s);
	st->sfd[s] = luo_create_session(st->dev, name);
	dh_check(st->sfd[s] >= 0);
	for (int i = 0; i < nr_files[s]; i++, pos++) {
		if (pos == bad && skip_bad)
			continue;
		dh_check_eq(luo_session_preserve_fd(st->sfd[s], st->mfd[s][i],
						    token(s, i)), 0);
	}
}

static void make_files(struct setup *st, int round, int bad)
{
	char name[48];
	int pos = 0;

	for (int s = 0; s < NR_SESSIONS; s++) {
		for (int i = 0; i < nr_files[s]; i++, pos++) {
			if (pos == bad)
				snprintf(name, sizeof(name),
					 "luo-fault:freeze=%d", errs[bad]);
			else
				snprintf(name, sizeof(name), "%s",
					 pos % 2 ? "plain" : "luo-fault:");
			st->mfd[s][i] = ft_memfd(name, seed(round, s, i));
		}
	}
}

/* After the good reboot: every file but @bad, with its data. */
static void take_all(const char *sock, int round, int bad)
{
	int dev = luo_open_at(sock, LUO_OPEN_DEVICE), pos = 0;
	char name[32];

	dh_check(dev >= 0);
	for (int s = 0; s < NR_SESSIONS; s++) {
		int sfd, fd;

		session_name(name, sizeof(name), s);
		sfd = luo_retrieve_session(dev, name);
		dh_check(sfd >= 0);
		for (int i = 0; i < nr_files[s]; i++, pos++) {
			fd = luo_session_retrieve_fd(sfd, token(s, i));
			if (pos == bad) {
				dh_check_eq(fd, -ENOENT);
				continue;
			}
			dh_check(fd >= 0);
			dh_check(ft_memfd_ok(fd, seed(round, s, i)));
			close(fd);
		}
		dh_check_eq(luo_session_finish(sfd), 0);
		dh_check_eq(luo_close(sfd), 0);
	}
	dh_check_eq(luo_close(dev), 0);
}

static void round_at(const struct dh_daemon *d, int bad)
{
	struct ft_list before, after;
	struct luo_status st0, st1;
	struct setup st;
	int fds, bad_s = 0, pos = nr_files[0];
	uint64_t upd = 0;

	while (bad >= pos)
		pos += nr_files[++bad_s];
	st.dev = luo_open_at(d->socket, LUO_OPEN_DEVICE);
	dh_check(st.dev >= 0);
	make_files(&st, bad, bad);
	for (int s = 0; s < NR_SESSIONS; s++)
		make_session(&st, s, bad, false);
	ft_list(d->socket, &before);
	dh_check_eq(before.n, NR_SESSIONS + NR_POS);
	e2e_status(d->socket, &st0);
	fds = e2e_daemon_fds(d);

	dh_check_eq(e2e_reboot(d->socket, &upd), -errs[bad]);
	dh_check_eq(e2e_reboot(d->socket, &upd), -errs[bad]);
	e2e_status(d->socket, &st1);
	dh_check_eq(st1.update_number, st0.update_number);
	dh_check_eq(st1.nr_outgoing, NR_SESSIONS);
	dh_check_eq(st1.nr_files, NR_POS);
	dh_check(!(st1.flags & LUO_STATUS_REBOOTING));
	ft_list(d->socket, &after);
	dh_check_eq(after.n, before.n);
	dh_check(!memcmp(&before, &after, sizeof(before)));
	dh_check_eq(e2e_daemon_fds(d), fds);
	/* The sessions are alive: their tokens are still taken. */
	dh_check_eq(luo_session_preserve_fd(st.sfd[0], st.mfd[0][0], 0),
		    -EEXIST);

	/* Without the failing file, the reboot goes through. */
	dh_check_eq(luo_close(st.sfd[bad_s]), 0);
	make_session(&st, bad_s, bad, true);
	dh_check_eq(e2e_reboot(d->socket, &upd), 0);
	dh_check_eq(upd, st0.update_number + 1);
	for (int s = 0; s < NR_SESSIONS; s++) {
		luo_close(st.sfd[s]);
		for (int i = 0; i < nr_files[s]; i++)
			close(st.mfd[s][i]);
	}
	luo_close(st.dev);
	take_all(d->socket, bad, bad);
}

int main(void)
{
	struct dh_daemon d;
	int base;

	ft_start(&d, NULL);
	base = e2e_daemon_fds(&d);
	for (int bad = 0; bad < NR_POS; bad++) {
		round_at(&d, bad);
		dh_check_eq(e2e_daemon_fds(&d), base);
	}
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	return DH_PASS;
}
