// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Which connections the records of a vault (records.c) must write again:
 * each connection is a slot of its own, written when it comes, changes or
 * goes, so that a commit costs what changed, not what is connected.
 *
 * Whatever may change what a connection's record says (a request read on
 * it, a reply kept or sent, its session claimed or detached, a request
 * parked) touches it (conn_touch()); a commit records every touched one
 * again, and ends the slots of those that closed (conn_gone()).  A
 * connection whose pending reply is too big for a slot is written in the
 * handover instead, with the listening socket (transport_save_big()).
 */
#include <errno.h>
#include <stdlib.h>

#include "conn.h"
#include "transport.h"

/**
 * transport_track_changes() - record connections one by one from now on
 * @t: the transport
 *
 * transport_records_changes() then reports what changed.
 */
void transport_track_changes(struct transport *t)
{
	t->track = true;
}

/**
 * conn_touch() - @c must be recorded again
 * @c: the connection; one closed already (conn_close()) is not: its
 *     record ended, and its memory goes at the end of the loop's batch
 */
void conn_touch(struct conn *c)
{
	if (c->t->track && !c->src.dead && list_empty(&c->rec_link))
		list_add_tail(&c->rec_link, &c->t->rec_dirty);
}

/**
 * conn_gone() - @c closes: its record ends
 * @c: the connection
 */
void conn_gone(struct conn *c)
{
	struct transport *t = c->t;
	struct transport_conn_gone *g;
	size_t cap;

	list_del(&c->rec_link);
	list_del(&c->big_link);
	if (!t->track ||
	    (c->rec_slot < 0 && c->rec_fds[0] < 0 && c->rec_fds[1] < 0))
		return;
	if (t->nr_rec_gone == t->cap_rec_gone) {
		cap = t->cap_rec_gone ? t->cap_rec_gone * 2 : 64;
		g = realloc(t->rec_gone, cap * sizeof(*g));
		if (!g) {
			t->rec_lost = true;
			return;
		}
		t->rec_gone = g;
		t->cap_rec_gone = cap;
	}
	t->rec_gone[t->nr_rec_gone++] = (struct transport_conn_gone){
		.slot = c->rec_slot,
		.fds = { c->rec_fds[0], c->rec_fds[1] },
	};
	c->rec_slot = -1;
	c->rec_fds[0] = -1;
	c->rec_fds[1] = -1;
}

static int report(struct conn *c, const struct transport_records_ops *ops,
		  void *ctx)
{
	struct transport_conn_change ch = {
		.old_slot = c->rec_slot,
		.old_fds = { c->rec_fds[0], c->rec_fds[1] },
	};
	int r = conn_slot_record(c, ch.rec, sizeof(ch.rec), &ch.len, ch.fds);

	if (r == -E2BIG) {
		ch.len = 0;
		ch.fds[0] = -1;
		ch.fds[1] = -1;
	} else if (r) {
		return r;
	}
	r = ops->changed(ctx, &ch);
	if (r < -1)
		return r;
	c->rec_slot = r;
	c->rec_fds[0] = ch.fds[0];
	c->rec_fds[1] = ch.fds[1];
	list_del(&c->rec_link);
	list_del(&c->big_link);
	if (!ch.len)
		list_add_tail(&c->big_link, &c->t->rec_big);
	return 0;
}

/**
 * transport_records_changes() - what to record since the last call
 * @t:   the transport, tracking changes (transport_track_changes())
 * @all: every connection, as if none had been recorded (a full account:
 *       what closed before is not reported)
 * @ops: called for every connection that closed, then every one to record
 * @ctx: passed to @ops
 *
 * A connection's slot and fds are taken as recorded once @ops->changed
 * returns.
 *
 * Return: 0, -ENOMEM if a close could not be kept (only @all helps then),
 * or what @ops->changed or the record's writing failed with.
 */
int transport_records_changes(struct transport *t, bool all,
			      const struct transport_records_ops *ops,
			      void *ctx)
{
	struct conn *c, *n;
	int r;

	if (all) {
		t->nr_rec_gone = 0;
		t->rec_lost = false;
		list_for_each_entry(c, &t->conns, link)
			if ((r = report(c, ops, ctx)))
				return r;
		return 0;
	}
	if (t->rec_lost)
		return -ENOMEM;
	for (size_t i = 0; i < t->nr_rec_gone; i++)
		ops->gone(ctx, &t->rec_gone[i]);
	t->nr_rec_gone = 0;
	list_for_each_entry_safe(c, n, &t->rec_dirty, rec_link)
		if ((r = report(c, ops, ctx)))
			return r;
	return 0;
}
