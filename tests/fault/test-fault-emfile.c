// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The daemon out of fds (EMFILE): its RLIMIT_NOFILE is lowered (prlimit)
 * to a few fds above what it uses, then sessions are created until
 * CREATE_SESSION fails.  The errno is EMFILE or ENFILE, nothing crashes or
 * hangs; PRESERVE_FD, which needs an fd too, fails the same way and leaves
 * nothing behind; a connection that arrives meanwhile waits (accept is
 * paused, not retried in a loop) and is served once sessions are closed;
 * then the daemon serves a whole cycle and has the fds it started with.
 *
 * Under the vault (the default): the fds the engine sends the vault are
 * in flight until the vault reads them and count, with every root
 * process's, against the engine's RLIMIT_NOFILE (ETOOMANYREFS).  A reply
 * whose fd meets that limit is answered EMFILE too (liveupdated(8), "Fds
 * in flight"), and a commit that meets it is retried whole.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ft.h"

#define MAX_SESSIONS	64
#define HEADROOM	8

static bool out_of_fds(int err)
{
	return err == -EMFILE || err == -ENFILE;
}

static int raw_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int c = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	dh_check(c >= 0);
	dh_check(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path));
	dh_check_eq(connect(c, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return c;
}

static void full_cycle(const struct dh_daemon *d)
{
	int dev = luo_open_at(d->socket, LUO_OPEN_DEVICE), sfd, m;
	uint64_t upd;

	dh_check(dev >= 0);
	sfd = luo_create_session(dev, "after");
	dh_check(sfd >= 0);
	m = ft_memfd("plain", 7);
	dh_check_eq(luo_session_preserve_fd(sfd, m, 1), 0);
	close(m);
	dh_check_eq(e2e_reboot(d->socket, &upd), 0);
	luo_close(sfd);
	luo_close(dev);
	dev = luo_open_at(d->socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	sfd = luo_retrieve_session(dev, "after");
	dh_check(sfd >= 0);
	m = luo_session_retrieve_fd(sfd, 1);
	dh_check(m >= 0 && ft_memfd_ok(m, 7));
	close(m);
	dh_check_eq(luo_session_finish(sfd), 0);
	luo_close(sfd);
	luo_close(dev);
}

int main(void)
{
	struct rlimit rl;
	struct ft_list l;
	struct dh_daemon d;
	struct luo_status st;
	int base, dev, sfd[MAX_SESSIONS], n = 0, err = 0, m, c, ctl;
	char name[32];

	ft_start(&d, NULL);
	base = e2e_daemon_fds(&d);
	dh_check_eq(prlimit(dh_engine_pid(&d), RLIMIT_NOFILE, NULL, &rl), 0);
	rl.rlim_cur = (rlim_t)(base + HEADROOM);
	dh_check_eq(prlimit(dh_engine_pid(&d), RLIMIT_NOFILE, &rl, NULL), 0);

	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	while (n < MAX_SESSIONS) {
		snprintf(name, sizeof(name), "s%d", n);
		err = luo_create_session(dev, name);
		if (err < 0)
			break;
		sfd[n++] = err;
	}
	dh_check(out_of_fds(err));
	dh_check(n > 0);
	/* What failed left nothing: that name is free, nothing listed. */
	ft_list(d.socket, &l);
	dh_check_eq(l.n, (size_t)n);

	m = ft_memfd("plain", 1);
	err = luo_session_preserve_fd(sfd[0], m, 1);
	dh_check(out_of_fds(err));
	ft_list(d.socket, &l);
	dh_check_eq(l.rec[0].nr_files, 0);

	/* A connection while out of fds: it waits in the backlog.  The
	 * round trip on the device makes sure the daemon saw it. */
	c = raw_connect(d.socket);
	dh_check(out_of_fds(luo_create_session(dev, "one-more")));

	while (n)
		dh_check_eq(luo_close(sfd[--n]), 0);
	/* Accepting again: a new client is served. */
	ctl = luo_open_at(d.socket, LUO_OPEN_CONTROL);
	dh_check(ctl >= 0);
	dh_check_eq(luo_status(ctl, &st), 0);
	dh_check_eq(st.nr_outgoing, 0);
	luo_close(ctl);
	close(c);
	sfd[0] = luo_create_session(dev, "s0");
	dh_check(sfd[0] >= 0);
	dh_check_eq(luo_session_preserve_fd(sfd[0], m, 1), 0);
	luo_close(sfd[0]);
	luo_close(dev);
	close(m);
	dh_check_eq(e2e_daemon_fds(&d), base);

	full_cycle(&d);
	dh_check_eq(e2e_daemon_fds(&d), base);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	return DH_PASS;
}
