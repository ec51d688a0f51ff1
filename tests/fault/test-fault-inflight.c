// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Root's fds in flight at the limit (liveupdated(8), "Fds in flight").
 * Linux refuses SCM_RIGHTS (ETOOMANYREFS) once the sending user's fds in
 * flight exceed the sender's RLIMIT_NOFILE; the daemon sends as root,
 * without CAP_SYS_RESOURCE here, so every root process's fds in flight
 * count.  The test lowers the daemon's (the engine's) RLIMIT_NOFILE a
 * little above the fds it holds and puts more fds than that in flight
 * itself (a socket pair nobody reads): then CREATE_SESSION,
 * RETRIEVE_SESSION and RETRIEVE_FD are answered EMFILE on a connection
 * that stays open, with nothing left behind (no session, the session and
 * the file not retrieved), and the same requests succeed once the fds in
 * flight are gone.  Then one connection that sends 200 RETRIEVE_FDs and
 * reads nothing holds at most two replies (two fds) in flight, so that
 * another client's session fd still passes at that same limit.
 * Without the vault and under it; under it, the engine is killed after
 * each refusal, and the new one has nothing of the refused request to
 * send (its fd least of all) and keeps it undone.  Last, a
 * RETRIEVE_SESSION reply parked across an UPGRADE is undone too, and an
 * engine killed as it refuses leaves the request answered.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "ft.h"
#include "wire-client.h"

/* Fds the daemon may open above what it holds: LIST's connections. */
#define HEADROOM	48
/* Requests the hostile connection sends without reading a reply. */
#define HOSTILE_REQS	200
#define FDS_PER_MSG	250

/**
 * struct ballast - fds this process keeps in flight, as root
 * @sv:   a socket pair; what is sent to @sv[1] is never read
 * @file: the file sent, again and again
 */
struct ballast {
	int sv[2];
	int file;
};

/* One byte with @n copies of @fd. */
static void send_copies(int sock, int fd, int n)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * FDS_PER_MSG)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = "b", .iov_len = 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = CMSG_SPACE(sizeof(int) * n),
	};
	struct cmsghdr *cm;
	int i;

	memset(&u, 0, sizeof(u));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * n);
	for (i = 0; i < n; i++)
		memcpy(CMSG_DATA(cm) + i * sizeof(int), &fd, sizeof(int));
	dh_check_eq(sendmsg(sock, &mh, MSG_NOSIGNAL), 1);
}

static void ballast_up(struct ballast *b, int n)
{
	int k;

	dh_check_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
			       b->sv), 0);
	b->file = ft_memfd("ballast", 1);
	for (; n > 0; n -= k) {
		k = n < FDS_PER_MSG ? n : FDS_PER_MSG;
		send_copies(b->sv[0], b->file, k);
	}
}

/* The fds in flight go with the socket that holds them. */
static void ballast_down(struct ballast *b)
{
	close(b->sv[0]);
	close(b->sv[1]);
	close(b->file);
}

static int state_of(const struct ft_list *l, const char *session)
{
	const struct luo_list_record *r = ft_session(l, session);

	dh_check(r != NULL);
	return r->state;
}

static const struct luo_list_record *file_of(const struct ft_list *l,
					     const char *session)
{
	const struct luo_list_record *r = ft_session(l, session);

	dh_check(r && r->nr_files == 1);
	return r + 1;
}

/* The engine's RLIMIT_NOFILE a little above the fds it holds. */
static int lower_limit(const struct dh_daemon *d)
{
	pid_t engine = dh_status_pid(d->socket);
	struct rlimit rl;
	int limit = dh_count_fds(engine) + HEADROOM;

	dh_check_eq(prlimit(engine, RLIMIT_NOFILE, NULL, &rl), 0);
	rl.rlim_cur = (rlim_t)limit;
	dh_check_eq(prlimit(engine, RLIMIT_NOFILE, &rl, NULL), 0);
	return limit;
}

/*
 * Under the vault, a new engine after a crash has nothing more to say
 * to @dev: no reply of the refused request, with its fd or without.
 */
static int recover(const struct dh_daemon *d, int dev)
{
	struct luo_status st;
	int queued = -1;

	if (d->no_vault)
		return lower_limit(d);
	dh_kill_engine(d->socket);
	e2e_status(d->socket, &st);	/* the new engine serves */
	dh_check_eq(luo_status(dev, &st), 0);
	dh_check_eq(ioctl(dev, SIOCINQ, &queued), 0);
	dh_check_eq(queued, 0);
	return lower_limit(d);
}

/*
 * Each request, refused for want of room to pass its fd, then done.
 * Returns the engine's limit, which a recovery set again.
 */
static int refused_then_done(const struct dh_daemon *d, int dev, int limit)
{
	struct ballast b;
	struct ft_list l;
	struct luo_status st;
	int s, m, m2;

	ballast_up(&b, limit + 16);
	dh_check_eq(luo_create_session(dev, "new"), -EMFILE);
	ft_list(d->socket, &l);
	dh_check(!ft_session(&l, "new"));
	e2e_status(d->socket, &st);
	dh_check_eq(st.nr_outgoing, 0);
	ballast_down(&b);
	limit = recover(d, dev);
	ft_list(d->socket, &l);
	dh_check(!ft_session(&l, "new"));
	s = luo_create_session(dev, "new");
	dh_check(s >= 0);
	dh_check_eq(luo_close(s), 0);

	ballast_up(&b, limit + 16);
	dh_check_eq(luo_retrieve_session(dev, "in"), -EMFILE);
	ft_list(d->socket, &l);
	dh_check_eq(state_of(&l, "in"), LUO_SESSION_OPEN);
	ballast_down(&b);
	limit = recover(d, dev);
	ft_list(d->socket, &l);
	dh_check_eq(state_of(&l, "in"), LUO_SESSION_OPEN);
	s = luo_retrieve_session(dev, "in");
	dh_check(s >= 0);

	/* The first retrieval is undone; a later one has nothing to undo. */
	ballast_up(&b, limit + 16);
	dh_check_eq(luo_session_retrieve_fd(s, 1), -EMFILE);
	ft_list(d->socket, &l);
	dh_check_eq(file_of(&l, "in")->retrieve_status, 0);
	ballast_down(&b);
	limit = recover(d, dev);
	ft_list(d->socket, &l);
	dh_check_eq(file_of(&l, "in")->retrieve_status, 0);
	m = luo_session_retrieve_fd(s, 1);
	dh_check(m >= 0 && ft_memfd_ok(m, 3));
	ballast_up(&b, limit + 16);
	dh_check_eq(luo_session_retrieve_fd(s, 1), -EMFILE);
	ballast_down(&b);
	m2 = luo_session_retrieve_fd(s, 1);
	dh_check(m2 >= 0);
	ft_list(d->socket, &l);
	dh_check_eq(file_of(&l, "in")->retrieve_status, 1);
	close(m);
	close(m2);
	dh_check_eq(luo_close(s), 0);
	return limit;
}

/* One connection that reads nothing holds two fds in flight, no more. */
static void hostile_bounded(const struct dh_daemon *d, int dev, int limit)
{
	struct liveupdate_session_retrieve_fd arg = {
		.size = sizeof(arg), .fd = -1, .token = 1,
	};
	struct luo_wire_rep rep;
	struct luo_status st;
	int s, i, queued = 0, fd, victim;

	s = luo_retrieve_session(dev, "in2");
	dh_check(s >= 0);
	for (i = 0; i < HOSTILE_REQS; i++)
		dh_check_eq(wc_send(s, LIVEUPDATE_SESSION_RETRIEVE_FD, &arg,
				    sizeof(arg), NULL, 0), 0);
	/* Each round of the loop serves each connection one request. */
	for (i = 0; i < HOSTILE_REQS + 16; i++)
		e2e_status(d->socket, &st);
	dh_check_eq(ioctl(s, SIOCINQ, &queued), 0);
	fprintf(stderr, "unread: %d bytes, replies of %zu; limit %d\n",
		queued, sizeof(rep) + sizeof(arg), limit);
	dh_check(queued <= (int)(2 * (sizeof(rep) + sizeof(arg))));
	victim = luo_create_session(dev, "victim");
	dh_check(victim >= 0);
	dh_check_eq(luo_close(victim), 0);
	for (i = 0; i < HOSTILE_REQS; i++) {
		fd = -1;
		dh_check_eq(wc_recv(s, &rep, &arg, sizeof(arg), &fd), 0);
		dh_check_eq(rep.result, 0);
		dh_check(fd >= 0 && ft_memfd_ok(fd, 4));
		close(fd);
	}
	dh_check_eq(luo_close(s), 0);
}

/*
 * A RETRIEVE_SESSION reply parked (two replies unread before it) crosses
 * an UPGRADE; refused then, it is undone all the same: the session is
 * retrievable again, not finished as by a close of its fd.
 */
static void parked_across_upgrade(const struct dh_daemon *d, int dev)
{
	struct liveupdate_ioctl_create_session arg = { .size = sizeof(arg) };
	struct luo_status st = { .size = sizeof(st) };
	struct luo_wire_rep rep;
	struct ballast b;
	struct ft_list l;
	int ctl, i, fd, s, m, limit;

	for (i = 0; i < 2; i++)
		dh_check_eq(wc_send(dev, LUO_IOCTL_STATUS, &st, sizeof(st),
				    NULL, 0), 0);
	memcpy(arg.name, "in3", 4);
	dh_check_eq(wc_send(dev, LIVEUPDATE_IOCTL_RETRIEVE_SESSION, &arg,
			    sizeof(arg), NULL, 0), 0);
	for (i = 0; i < 16; i++)
		e2e_status(d->socket, &st);
	ft_list(d->socket, &l);
	dh_check_eq(state_of(&l, "in3"), LUO_SESSION_RETRIEVED);
	ctl = luo_open_at(d->socket, LUO_OPEN_CONTROL);
	dh_check(ctl >= 0);
	dh_check_eq(luo_upgrade(ctl, -1), 0);
	luo_close(ctl);
	limit = lower_limit(d);

	ballast_up(&b, limit + 16);
	for (i = 0; i < 2; i++) {
		dh_check_eq(wc_recv(dev, &rep, &st, sizeof(st), NULL), 0);
		dh_check_eq(rep.result, 0);
	}
	fd = -1;
	dh_check_eq(wc_recv(dev, &rep, &arg, sizeof(arg), &fd), 0);
	dh_check_eq(rep.result, -EMFILE);
	dh_check_eq(fd, -1);
	ft_list(d->socket, &l);
	dh_check_eq(state_of(&l, "in3"), LUO_SESSION_OPEN);
	ballast_down(&b);
	s = luo_retrieve_session(dev, "in3");
	dh_check(s >= 0);
	m = luo_session_retrieve_fd(s, 1);
	dh_check(m >= 0 && ft_memfd_ok(m, 5));
	close(m);
	dh_check_eq(luo_close(s), 0);
}

/*
 * Under the vault, the engine dies once its refusal is committed and
 * before the EMFILE is sent: the new engine answers the request (EIO,
 * the commits that could not pass their fds either having recorded
 * nothing of it, or the EMFILE recorded), where it once counted it as
 * answered and its client waited for ever.
 */
static void killed_while_refusing(void)
{
	struct liveupdate_ioctl_create_session arg = { .size = sizeof(arg) };
	struct timeval tv = { .tv_sec = 10 };
	struct dh_daemon d;
	struct ballast b;
	struct ft_list l;
	char flag[PATH_MAX];
	pid_t engine;
	int dev, s, limit, r, fd = -1;

	engine = dh_start_killpoint(&d, "reply-refused", flag, sizeof(flag));
	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	dh_check_eq(setsockopt(dev, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)),
		    0);
	limit = lower_limit(&d);
	ballast_up(&b, limit + 16);
	dh_killpoint_arm(flag);
	/* Not libluo's call: its wait has no bound. */
	memcpy(arg.name, "new", 4);
	r = wc_call(dev, LIVEUPDATE_IOCTL_CREATE_SESSION, &arg, sizeof(arg),
		    -1, &fd);
	dh_check(r == -EIO || r == -EMFILE);
	dh_check_eq(fd, -1);
	dh_killpoint_fired(&d, engine, flag);
	ballast_down(&b);
	ft_list(d.socket, &l);
	dh_check(!ft_session(&l, "new"));
	s = luo_create_session(dev, "new");
	dh_check(s >= 0);
	dh_check_eq(luo_close(s), 0);
	luo_close(dev);
	dh_killpoint_stop(&d, flag);
}

static void run(bool vault)
{
	static const char *const no_vault[] = { "--no-vault", NULL };
	struct dh_daemon d;
	uint64_t upd;
	int dev, s[3], m, limit, i;

	dh_check_eq(dh_start(&d, vault ? NULL : no_vault), 0);
	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	for (i = 0; i < 3; i++) {
		s[i] = luo_create_session(dev, i == 2 ? "in3" :
					  i ? "in2" : "in");
		dh_check(s[i] >= 0);
		m = ft_memfd("in", 3 + i);
		dh_check_eq(luo_session_preserve_fd(s[i], m, 1), 0);
		close(m);
	}
	dh_check_eq(e2e_reboot(d.socket, &upd), 0);
	for (i = 0; i < 3; i++)
		luo_close(s[i]);
	luo_close(dev);
	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);

	limit = lower_limit(&d);
	limit = refused_then_done(&d, dev, limit);
	hostile_bounded(&d, dev, limit);
	parked_across_upgrade(&d, dev);

	luo_close(dev);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
}

int main(void)
{
	run(false);
	run(true);
	killed_while_refusing();
	return DH_PASS;
}
