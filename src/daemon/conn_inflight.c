// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fds in flight to clients (liveupdated(8), "Fds in flight").
 *
 * An fd the daemon passes (a session fd, a retrieved file) is in flight
 * until its client reads the reply, and Linux counts every fd in flight
 * of the sending user, root, machine-wide: past the sender's
 * RLIMIT_NOFILE, without CAP_SYS_RESOURCE, sendmsg() refuses SCM_RIGHTS
 * with ETOOMANYREFS.  Two things follow.
 *
 * A client can keep only a few of them in flight: each connection's send
 * buffer is the smallest the kernel allows, so that a client that leaves
 * replies unread has its connection parked by the kernel after a few
 * (transport.c stops reading its requests), and a reply with an fd goes
 * only while the socket is writable as poll() tells it (at most one
 * reply unread before it), else it is parked too and the EPOLLOUT that
 * follows the client's read sends it.  A reply bigger than the buffer
 * (a LIST page) raises it for that one message.
 *
 * A reply whose fd cannot be passed all the same is answered EMFILE
 * without the fd, as the kernel's ioctl answers when it cannot install
 * one, and what its request did is undone first: the new session is
 * abandoned, the retrieved session or file is not retrieved any more, so
 * that the same request succeeds once there is room.
 */
#include <errno.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "conn.h"
#include "log.h"

/* What the kernel's unix_dgram_sendmsg() keeps of the buffer for itself. */
#define SNDBUF_SLACK	32

/* The answer that takes the place of a reply whose fd cannot be passed. */
static const struct luo_wire_rep emfile_rep = { .result = -EMFILE };

/**
 * conn_inflight_init() - the smallest send buffer for a new connection
 * @c: the connection, its socket in @c->src.fd
 *
 * The kernel raises the 1 asked for to its minimum (4608 bytes on
 * x86-64: 6 small replies).  If the socket refuses, @c->sndbuf is what
 * it has, and the bound is that much looser.
 */
void conn_inflight_init(struct conn *c)
{
	int one = 1, v = 0;
	socklen_t len = sizeof(v);

	setsockopt(c->src.fd, SOL_SOCKET, SO_SNDBUF, &one, sizeof(one));
	if (getsockopt(c->src.fd, SOL_SOCKET, SO_SNDBUF, &v, &len) < 0 ||
	    v <= 0)
		v = 0;
	c->sndbuf = v;
}

/*
 * Room for a reply with an fd: the socket is writable as poll() says it
 * (unix_writable(): the bytes unread, plus one, times four within the
 * buffer), so that a reply parked here is sent on the EPOLLOUT that
 * comes when the client reads, never spinning on one that came before.
 */
static bool fd_room(const struct conn *c)
{
	int out = 0;

	if (!c->sndbuf || ioctl(c->src.fd, SIOCOUTQ, &out) < 0)
		return true;
	return ((long)out + 1) * 4 <= c->sndbuf;
}

static void set_sndbuf(int fd, int bytes)
{
	int half = bytes / 2 + 1;	/* the kernel doubles what it is given */

	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &half, sizeof(half));
}

/**
 * conn_send() - send one reply on a client's connection
 * @c:    the connection
 * @iov:  the message parts
 * @niov: their number
 * @fd:   fd to pass (not closed), or -1
 *
 * Return: 0, or -errno: -EAGAIN also when a reply with an fd must wait for
 * the client to read what it was sent (the connection then waits for
 * EPOLLOUT as for a full socket), -ETOOMANYREFS when the fd cannot be
 * passed (conn_fd_refused()).
 */
int conn_send(struct conn *c, const struct iovec *iov, int niov, int fd)
{
	size_t len = 0;
	bool big;
	int r, i;

	if (fd >= 0 && !fd_room(c))
		return -EAGAIN;
	for (i = 0; i < niov; i++)
		len += iov[i].iov_len;
	big = c->sndbuf && len + SNDBUF_SLACK > (size_t)c->sndbuf;
	if (big)
		set_sndbuf(c->src.fd, (int)(len + SNDBUF_SLACK));
	r = msg_send(c->src.fd, iov, niov, fd);
	if (big)
		set_sndbuf(c->src.fd, c->sndbuf - 1);
	return r;
}

/**
 * conn_fd_refused() - did a send fail because of the fd it carried?
 * @err: msg_send()'s -errno
 *
 * Return: true for ETOOMANYREFS (the sender's fds in flight are past its
 * RLIMIT_NOFILE), and EMFILE or ENFILE, should a kernel say so.
 */
bool conn_fd_refused(int err)
{
	return err == -ETOOMANYREFS || err == -EMFILE || err == -ENFILE;
}

/**
 * conn_undo_set() - what the reply about to be sent on @c stands for
 * @c:         the connection
 * @session:   the connection of a session the request created or
 *             retrieved, or NULL
 * @retrieved: the request retrieved the file of @token in @c's session
 * @token:     that token
 */
void conn_undo_set(struct conn *c, struct conn *session, bool retrieved,
		   uint64_t token)
{
	conn_undo_forget(c);
	c->undo.session = session;
	c->undo.retrieved = retrieved;
	c->undo.token = token;
	if (session)
		session->unsent_by = c;
}

/**
 * conn_undo_forget() - the reply of @c was sent, or is gone: keep it all
 * @c: the connection, or the session connection a reply stands for
 */
void conn_undo_forget(struct conn *c)
{
	if (c->undo.session)
		c->undo.session->unsent_by = NULL;
	if (c->unsent_by) {
		/* Its record named us (undo_conn): recorded again. */
		conn_touch(c->unsent_by);
		c->unsent_by->undo.session = NULL;
	}
	c->unsent_by = NULL;
	memset(&c->undo, 0, sizeof(c->undo));
}

/**
 * conn_undo_reply() - undo what the reply of @c stands for
 * @c: the connection whose reply's fd cannot be passed
 *
 * A session it created goes, one it retrieved is retrievable again
 * (luo_core_session_abandon()), a file it retrieved is not retrieved any
 * more (luo_core_file_unretrieve()).
 */
void conn_undo_reply(struct conn *c)
{
	struct luo_core *core = c->t->core;
	struct conn *s = c->undo.session;

	log_info("connection %d: its reply's fd cannot be passed (root's fds in flight are at the limit): EMFILE, the request undone",
		 c->src.fd);

	if (s) {
		if (c->claim == s)
			c->claim = NULL;
		s->unclaimed = false;
		if (s->session)
			luo_core_session_abandon(core, s->session);
		s->session = NULL;
		conn_undo_forget(s);
		conn_close(s);
	}
	if (c->undo.retrieved && c->session)
		luo_core_file_unretrieve(core, c->session, c->undo.token);
	conn_undo_forget(c);
	conn_touch(c);		/* its record: the answer, no undo */
	c->t->dirty = true;
}

/**
 * conn_refuse_fd() - answer EMFILE instead of a reply whose fd cannot pass
 * @c: the connection; @c->pending holds the reply and its fd
 *
 * What the request did is undone and @c->pending becomes the EMFILE
 * answer, without an fd; under a vault the caller commits that before it
 * sends it, so that a new engine never sends the fd after all.
 *
 * Return: 0, or -ENOMEM (@c->pending is empty then).
 */
int conn_refuse_fd(struct conn *c)
{
	struct iovec iov = {
		.iov_base = (void *)&emfile_rep, .iov_len = sizeof(emfile_rep),
	};

	conn_undo_reply(c);
	msg_buf_clear(&c->pending);
	return msg_buf_fill(&c->pending, &iov, 1, -1);
}
