// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * One whole live-update cycle through the daemon: three sessions, memfds of
 * data (one of 1 GiB) at various positions and with seals, the session fds
 * held across the reboot as an agent holds them until the kexec; then
 * every session incoming, every byte, position and seal back, FINISH, and
 * the daemon back to where it started.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "e2e.h"

#define GIB	(1ul << 30)

struct file_case {
	const char *session;
	uint64_t token;
	size_t size;
	off_t pos;
	unsigned int seals;
};

static const struct file_case cases[] = {
	{ "vm-ram", 1, GIB, GIB / 2 + 3, 0 },
	{ "vm-ram", 0, 0, 0, 0 },				/* empty */
	{ "vm-ram", UINT64_MAX, 12345, 12345, 0 },		/* at EOF */
	{ "state", 7, 1 << 20, 0, F_SEAL_SHRINK | F_SEAL_GROW },
	{ "state", 8, 5000, 9000, F_SEAL_WRITE | F_SEAL_SEAL },	/* past EOF */
	{ "empty-session", 0, 0, 0, 0 },
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))
static const char *const sessions[] = { "vm-ram", "state", "empty-session" };

static int session_fd(const int *sfds, const char *name)
{
	for (int i = 0; i < 3; i++)
		if (!strcmp(sessions[i], name))
			return sfds[i];
	dh_fail(__FILE__, __LINE__, "unknown session");
}

static void stage1(const char *sock, int *sfds)
{
	int dev = luo_open_at(sock, LUO_OPEN_DEVICE);

	dh_check(dev >= 0);
	for (int i = 0; i < 3; i++) {
		sfds[i] = luo_create_session(dev, sessions[i]);
		dh_check(sfds[i] >= 0);
	}
	/* The device fd is not needed for the sessions to live. */
	luo_close(dev);
	for (size_t i = 0; i < NCASES - 1; i++) {
		const struct file_case *c = &cases[i];
		int m = e2e_memfd(c->size, i, c->pos);

		if (c->seals)
			dh_check_eq(fcntl(m, F_ADD_SEALS, c->seals), 0);
		dh_check_eq(luo_session_preserve_fd(session_fd(sfds, c->session),
						    m, c->token), 0);
		close(m);
	}
}

static void stage2(const char *sock)
{
	int dev = luo_open_at(sock, LUO_OPEN_DEVICE), sfds[3];
	char name[LIVEUPDATE_SESSION_NAME_LENGTH];

	dh_check(dev >= 0);
	for (int i = 0; i < 3; i++) {
		sfds[i] = luo_retrieve_session(dev, sessions[i]);
		dh_check(sfds[i] >= 0);
		dh_check_eq(luo_session_get_name(sfds[i], name, sizeof(name)), 0);
		dh_check(!strcmp(name, sessions[i]));
	}
	dh_check_eq(luo_retrieve_session(dev, "vm-ram"), -EINVAL);
	dh_check_eq(luo_retrieve_session(dev, "never-made"), -ENOENT);
	for (size_t i = 0; i < NCASES - 1; i++) {
		const struct file_case *c = &cases[i];
		int m = luo_session_retrieve_fd(session_fd(sfds, c->session),
						c->token);

		dh_check(m >= 0);
		dh_check(fcntl(m, F_GETFD) & FD_CLOEXEC);
		dh_check_eq(lseek(m, 0, SEEK_CUR), c->pos);
		dh_check_eq(fcntl(m, F_GET_SEALS), c->seals);
		dh_check(e2e_memfd_ok(m, c->size, i));
		close(m);
	}
	dh_check_eq(luo_session_retrieve_fd(sfds[0], 99), -ENOENT);
	for (int i = 0; i < 3; i++) {
		dh_check_eq(luo_session_finish(sfds[i]), 0);
		dh_check_eq(luo_session_finish(sfds[i]), 0);	/* idempotent */
		dh_check_eq(luo_session_retrieve_fd(sfds[i], 1), -ENOENT);
		luo_close(sfds[i]);
	}
	luo_close(dev);
}

int main(void)
{
	struct dh_daemon d;
	struct luo_status st;
	uint64_t update = 0;
	int sfds[3], fds_before;

	if (dh_start(&d, NULL))
		dh_skip("cannot start liveupdated");
	fds_before = e2e_daemon_fds(&d);
	stage1(d.socket, sfds);
	e2e_status(d.socket, &st);
	dh_check_eq(st.nr_outgoing, 3);
	dh_check_eq(st.nr_files, NCASES - 1);

	dh_check_eq(e2e_reboot(d.socket, &update), 0);
	dh_check_eq(update, 2);
	/* The session fds of the old image are dead now. */
	for (int i = 0; i < 3; i++) {
		dh_check_eq(luo_session_finish(sfds[i]), -ENODEV);
		luo_close(sfds[i]);
	}
	e2e_status(d.socket, &st);
	dh_check_eq(st.update_number, 2);
	dh_check_eq(st.nr_outgoing, 0);
	dh_check_eq(st.nr_incoming, 3);
	dh_check(st.last_reboot_ns > 0);

	stage2(d.socket);
	e2e_status(d.socket, &st);
	dh_check_eq(st.nr_incoming, 0);
	dh_check_eq(st.nr_files, 0);
	dh_check_eq(e2e_daemon_fds(&d), fds_before);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	return DH_PASS;
}
