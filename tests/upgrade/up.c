// SPDX-License-Identifier: LGPL-2.1-or-later
/* Shared pieces of the UPGRADE tests; see up.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "up.h"

#define UP_SIZE	(64u << 10)

static int preserve(int sfd, uint64_t token, uint64_t seed, off_t pos)
{
	int m = e2e_memfd(UP_SIZE, seed, pos), r;

	dh_check(m >= 0);
	r = luo_session_preserve_fd(sfd, m, token);
	close(m);
	return r;
}

static bool same_file(int a, int b)
{
	struct stat sa, sb;

	return !fstat(a, &sa) && !fstat(b, &sb) && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

static void check_file(int fd, uint64_t seed, off_t pos)
{
	dh_check(fd >= 0);
	dh_check(e2e_memfd_ok(fd, UP_SIZE, seed));
	dh_check_eq(lseek(fd, 0, SEEK_CUR), pos);
}

/**
 * up_setup() - every kind of state
 * @sock: the daemon's socket
 * @s:    out: what the clients hold
 *
 * "in-a" and "in-b" cross a REBOOT; "in-a" is retrieved with
 * its file 1, "in-b" is not.  Then "out" is outgoing with two files and
 * its fd kept, "parked" is handed over (parked, not retrieved).
 */
void up_setup(const char *sock, struct up_state *s)
{
	struct luo_status st;
	uint64_t upd = 0;
	int sa, sb, sp;

	e2e_status(sock, &st);
	s->dev = luo_open_at(sock, LUO_OPEN_DEVICE);
	dh_check(s->dev >= 0);
	sa = luo_create_session(s->dev, "in-a");
	sb = luo_create_session(s->dev, "in-b");
	dh_check(sa >= 0 && sb >= 0);
	dh_check_eq(preserve(sa, 1, 101, 10), 0);
	dh_check_eq(preserve(sa, 2, 102, 0), 0);
	dh_check_eq(preserve(sb, 3, 103, 77), 0);
	dh_check_eq(e2e_reboot(sock, &upd), 0);
	dh_check_eq(upd, st.update_number + 1);
	close(sa);
	close(sb);
	luo_close(s->dev);

	s->dev = luo_open_at(sock, LUO_OPEN_DEVICE);
	dh_check(s->dev >= 0);
	s->in = luo_retrieve_session(s->dev, "in-a");
	dh_check(s->in >= 0);
	s->in_file = luo_session_retrieve_fd(s->in, 1);
	check_file(s->in_file, 101, 10);
	s->out = luo_create_session(s->dev, "out");
	dh_check(s->out >= 0);
	dh_check_eq(preserve(s->out, 5, 105, 5), 0);
	dh_check_eq(preserve(s->out, 6, 106, 4096), 0);
	sp = luo_create_session(s->dev, "parked");
	dh_check(sp >= 0);
	dh_check_eq(preserve(sp, 8, 108, 8), 0);
	dh_check_eq(luo_session_handover(sp, LUO_HANDOVER_KEEP_ON_CLOSE), 0);
	close(sp);
	s->ctl = luo_open_at(sock, LUO_OPEN_CONTROL);
	dh_check(s->ctl >= 0);
}

static int collect(const struct luo_list_record *rec, void *ctx)
{
	struct up_snap *snap = ctx;

	if (snap->nr == sizeof(snap->list) / sizeof(snap->list[0]))
		return -ENOSPC;
	snap->list[snap->nr++] = *rec;
	return 0;
}

/**
 * up_snap() - the daemon's view of its state
 * @sock: the daemon's socket
 * @snap: out: STATUS, GET_STATE and every LIST record
 */
void up_snap(const char *sock, struct up_snap *snap)
{
	int ctl = luo_open_at(sock, LUO_OPEN_CONTROL);
	struct luo_ioctl_get_state gs = { .size = sizeof(gs) };

	dh_check(ctl >= 0);
	memset(snap, 0, sizeof(*snap));
	dh_check_eq(luo_status(ctl, &snap->st), 0);
	dh_check_eq(luo_ioctl(ctl, LUO_IOCTL_GET_STATE, &gs), 0);
	snap->state = gs.state;
	dh_check_eq(luo_list(ctl, collect, snap), 0);
	luo_close(ctl);
}

/**
 * up_same() - nothing changed between two snapshots
 * @a: before
 * @b: after
 */
void up_same(const struct up_snap *a, const struct up_snap *b)
{
	dh_check_eq(b->st.update_number, a->st.update_number);
	dh_check_eq(b->st.nr_outgoing, a->st.nr_outgoing);
	dh_check_eq(b->st.nr_incoming, a->st.nr_incoming);
	dh_check_eq(b->st.nr_files, a->st.nr_files);
	dh_check_eq(b->st.flags & LUO_STATUS_DEVICE_OPEN,
		    a->st.flags & LUO_STATUS_DEVICE_OPEN);
	dh_check_eq(b->st.failed_reboots, a->st.failed_reboots);
	dh_check_eq(b->state, a->state);
	dh_check_eq(b->nr, a->nr);
	for (size_t i = 0; i < a->nr; i++)
		dh_check(!memcmp(&a->list[i], &b->list[i],
				 sizeof(a->list[i])));
}

/**
 * up_check_alive() - every client fd works as before
 * @sock: the daemon's socket
 * @s:    what the clients hold
 */
void up_check_alive(const char *sock, struct up_state *s)
{
	char name[LIVEUPDATE_SESSION_NAME_LENGTH];
	struct luo_status st;
	int fd, dev2;

	/* The control connection and the device hold. */
	dh_check_eq(luo_status(s->ctl, &st), 0);
	dh_check(st.flags & LUO_STATUS_DEVICE_OPEN);
	dh_check_eq(luo_open_at(sock, LUO_OPEN_DEVICE), -EBUSY);
	/* The outgoing session: still outgoing, and preserving. */
	dh_check_eq(luo_session_get_name(s->out, name, sizeof(name)), 0);
	dh_check(!strcmp(name, "out"));
	dh_check_eq(preserve(s->out, 7, 107, 0), 0);
	dh_check_eq(luo_session_retrieve_fd(s->out, 5), -EINVAL);
	/* The retrieved file is the same memory; the session retrieves. */
	check_file(s->in_file, 101, 10);
	fd = luo_session_retrieve_fd(s->in, 1);
	dh_check(fd >= 0);
	dh_check(same_file(fd, s->in_file));
	close(fd);
	fd = luo_session_retrieve_fd(s->in, 2);
	check_file(fd, 102, 0);
	close(fd);
	dh_check_eq(luo_session_finish(s->in), 0);
	/* Not retrieved, and parked: both come back whole. */
	fd = luo_retrieve_session(s->dev, "in-b");
	dh_check(fd >= 0);
	dev2 = luo_session_retrieve_fd(fd, 3);
	check_file(dev2, 103, 77);
	close(dev2);
	dh_check_eq(luo_session_finish(fd), 0);
	close(fd);
	fd = luo_retrieve_session(s->dev, "parked");
	dh_check(fd >= 0);
	dev2 = luo_session_retrieve_fd(fd, 8);
	check_file(dev2, 108, 8);
	close(dev2);
	dh_check_eq(luo_session_finish(fd), 0);
	close(fd);
	dh_check_eq(luo_create_session(s->dev, "out"), -EEXIST);
	close(s->in_file);
	close(s->in);
	close(s->out);
	luo_close(s->ctl);
	luo_close(s->dev);
}

/**
 * up_upgrade() - UPGRADE over a new control open
 * @sock:  the daemon's socket
 * @image: the new image's path, or NULL for the same binary
 *
 * Return: luo_upgrade()'s result.
 */
int up_upgrade(const char *sock, const char *image)
{
	int ctl = luo_open_at(sock, LUO_OPEN_CONTROL), exe = -1, r;

	dh_check(ctl >= 0);
	if (image) {
		exe = open(image, O_RDONLY | O_CLOEXEC);
		dh_check(exe >= 0);
	}
	r = luo_upgrade(ctl, exe);
	if (exe >= 0)
		close(exe);
	luo_close(ctl);
	return r;
}
