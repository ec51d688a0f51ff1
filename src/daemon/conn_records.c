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
		r = fn(ctx, c->src.fd);
		if (!r && c->pending.data && c->pending.fd >= 0)
			r = fn(ctx, c->pending.fd);
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

/**
 * transport_answer_inflight() - answer EIO to the request a crash cut off
 * @t:   the transport, its connections adopted
 * @fd:  the connection the records say was being served, or -1
 * @err: the -errno to answer: -EIO, or a failed REBOOT's or UPGRADE's
 *
 * The request may or may not have taken effect: EIO says so.  Nothing is
 * sent if the crash came as its reply was being sent (INFLIGHT_REPLYING),
 * or if the request is still unread or the reply evidently sent
 * (reply_was_sent()).
 */
void transport_answer_inflight(struct transport *t, int fd, int err)
{
	struct conn *c;

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
