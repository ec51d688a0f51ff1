// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The transport's part of the records a vault keeps (liveupdated(8),
 * "Crash recovery"): what changed since the last commit, the commit
 * before any reply, the fds of every connection, and the answer a new
 * engine owes the request a crash interrupted.
 */
#include <errno.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>

#include "conn.h"
#include "log.h"
#include "transport.h"

/**
 * transport_set_records() - commit the records before every reply
 * @t:        the transport
 * @commit:   writes the records (records.c)
 * @ctx:      passed to @commit
 * @inflight: the records' word naming the connection whose request is
 *            being handled
 */
void transport_set_records(struct transport *t, void (*commit)(void *ctx),
			   void *ctx, volatile int32_t *inflight)
{
	t->commit = commit;
	t->commit_ctx = ctx;
	t->inflight = inflight;
	t->dirty = true;
}

/**
 * transport_set_reply_ops() - what the records do around a reply
 * @t:   the transport
 * @ops: the records' functions (records.c); outlive @t
 * @ctx: passed to them
 */
void transport_set_reply_ops(struct transport *t,
			     const struct transport_reply_ops *ops, void *ctx)
{
	t->reply_ops = ops;
	t->reply_ctx = ctx;
}

/**
 * transport_killpoint() - a testing aid: die here if asked (killpoint.c)
 * @t:    the transport
 * @step: the step reached
 */
void transport_killpoint(struct transport *t, const char *step)
{
	if (t->reply_ops)
		t->reply_ops->killpoint(t->reply_ctx, step);
}

/**
 * transport_mark_dirty() - the records must be written again
 * @t: the transport
 */
void transport_mark_dirty(struct transport *t)
{
	t->dirty = true;
}

/**
 * transport_commit() - write the records now if anything changed
 * @t: the transport
 *
 * Called before every reply and after each turn of the loop.
 */
void transport_commit(struct transport *t)
{
	if (!t->commit || !t->dirty)
		return;
	t->dirty = false;
	t->commit(t->commit_ctx);
}

/* @c's socket, and its pending reply's fd if the records keep it. */
static int conn_each_fd(const struct conn *c, int (*fn)(void *ctx, int fd),
			void *ctx)
{
	int r = fn(ctx, c->src.fd);

	/* A new session's fd is not kept for a client not told. */
	if (!r && c->pending.data && c->pending.fd >= 0 && !c->claim)
		r = fn(ctx, c->pending.fd);
	return r;
}

/**
 * transport_for_each_fd() - every fd a handover of the connections names
 * @t:   the transport
 * @fn:  called with each fd (the listening socket, every connection, every
 *       pending reply's fd); a non-zero return stops the walk
 * @ctx: passed to @fn
 *
 * Return: 0, or what @fn returned.
 */
int transport_for_each_fd(const struct transport *t,
			  int (*fn)(void *ctx, int fd), void *ctx)
{
	const struct conn *c;
	int r = 0;

	if (t->listener.fd >= 0)
		r = fn(ctx, t->listener.fd);
	list_for_each_entry(c, &t->conns, link) {
		if (r)
			break;
		r = conn_each_fd(c, fn, ctx);
	}
	return r;
}

/**
 * transport_for_each_big_fd() - every fd the records' handover names
 * @t:   the transport
 * @fn:  called with each fd (the listening socket, and the socket and
 *       pending reply's fd of every connection recorded there, not in a
 *       slot: transport_save_big()); a non-zero return stops the walk
 * @ctx: passed to @fn
 *
 * Return: 0, or what @fn returned.
 */
int transport_for_each_big_fd(const struct transport *t,
			      int (*fn)(void *ctx, int fd), void *ctx)
{
	const struct conn *c;
	int r = 0;

	if (t->listener.fd >= 0)
		r = fn(ctx, t->listener.fd);
	list_for_each_entry(c, &t->rec_big, big_link) {
		if (r)
			break;
		r = conn_each_fd(c, fn, ctx);
	}
	return r;
}

/*
 * Is the interrupted request still unread, or its reply already sent?
 * The records name the connection before its request is read, so the
 * request may still wait in the socket (SIOCINQ): the new engine reads
 * it.  A reply still waiting for the client (SIOCOUTQ) was sent.
 */
static bool reply_was_sent(int fd)
{
	int out = 0, in = 0;

	if (ioctl(fd, SIOCOUTQ, &out) < 0 || ioctl(fd, SIOCINQ, &in) < 0)
		return false;
	return out > 0 || in > 0;
}

/* The recorded pending reply the dead engine had sent: not again. */
static void drop_sent(struct conn *c)
{
	log_debug("connection %d: its recorded reply was sent", c->src.fd);
	msg_buf_clear(&c->pending);
	c->t->dirty = true;
	conn_touch(c);
	if (c->closing || loop_modify(c->t->loop, &c->src, CONN_EVENTS))
		conn_close(c);
}

/*
 * A session whose fd died with the engine before its reply was sent: the
 * request is undone (its caller gets the EIO the records hold instead).
 */
static void abandon(struct conn *c)
{
	log_notice("connection %d: its session fd was never sent: the request is undone",
		   c->src.fd);
	if (c->session)
		luo_core_session_abandon(c->t->core, c->session);
	c->session = NULL;
	c->unclaimed = false;
	conn_close(c);
}

/**
 * transport_answer_inflight() - what a new engine owes the cut-off request
 * @t:    the transport, its connections adopted
 * @fd:   the connection the records say was being served, or -1
 * @sent: the connection whose recorded reply the records mark as sent
 *        (records_sent()), or -1
 * @err:  the -errno for a request whose effect was not committed: -EIO,
 *        or a failed REBOOT's or UPGRADE's
 *
 * A reply the records hold as pending is sent by the new engine, unless
 * it is marked as sent: it is dropped then.  A reply that carries a new
 * session fd is recorded as EIO with the session unclaimed (the vault
 * holds no client's end of a session): unless it is marked as sent, the
 * session is abandoned, which undoes the request
 * (luo_core_session_abandon()), and the EIO is sent.  A request whose
 * effect was not committed with its reply gets EIO: nothing of it took
 * effect.
 * Nothing is sent if the crash came as a reply the records do not hold
 * (one that changed nothing) was being sent (INFLIGHT_REPLYING), or if
 * the request is still unread or its reply evidently sent
 * (reply_was_sent()).
 */
void transport_answer_inflight(struct transport *t, int fd, int sent,
			       int err)
{
	struct conn *c, *tmp;

	list_for_each_entry_safe(c, tmp, &t->conns, link) {
		if (c->unclaimed && sent < 0)
			abandon(c);
		else if (c->unclaimed) {
			c->unclaimed = false;
			conn_touch(c);
		}
	}
	list_for_each_entry_safe(c, tmp, &t->conns, link) {
		if (sent >= 0 && c->src.fd == sent && c->pending.data) {
			drop_sent(c);
			break;
		}
	}
	if (fd < 0)
		return;
	if (fd & INFLIGHT_REPLYING) {
		log_debug("connection %d: the crash came as its reply was sent",
			  fd & ~INFLIGHT_REPLYING);
		return;
	}
	list_for_each_entry(c, &t->conns, link) {
		if (c->src.fd != fd)
			continue;
		if (c->pending.data || reply_was_sent(fd))
			return;
		log_notice("connection %d: the request a crash interrupted: %s",
			   fd, strerror(-err));
		conn_reply_error(c, err);
		return;
	}
}
