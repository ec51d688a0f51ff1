// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What the core holds that must outlive the daemon's process: every fd
 * written down in a handover.  The vault (liveupdated(8), "Crash
 * recovery") keeps a duplicate of each, so that the records the engine
 * keeps (a handover written before each acknowledged change) can be read
 * back by a new engine after a crash.
 */
#include <errno.h>
#include <stdlib.h>

#include "core_internal.h"

static int for_each_file_fd(const struct list_head *sessions,
			    int (*fn)(void *ctx, int fd,
				      const struct luo_fd_id *id),
			    void *ctx)
{
	const struct luo_session *s;
	const struct luo_file *f;
	struct luo_fd_id id;
	int r;

	list_for_each_entry(s, sessions, list) {
		list_for_each_entry(f, &s->files, list) {
			id = (struct luo_fd_id){
				.fd = f->fd, .type = f->type, .dev = f->dev,
				.ino = f->ino,
			};
			if (f->fd >= 0 && (r = fn(ctx, f->fd, &id)))
				return r;
			if (f->retrieved_fd >= 0 &&
			    (r = fn(ctx, f->retrieved_fd, NULL)))
				return r;
		}
	}
	return 0;
}

/**
 * luo_core_for_each_fd() - every fd a handover of the core would name
 * @core: the core
 * @fn:   called with each fd (preserved files, retrieved files) and, for
 *        a preserved file, the identity recorded at preserve (its
 *        handover record's; the fd is the core's own and names that file
 *        for as long as it is held), else NULL; a non-zero return stops
 *        the walk
 * @ctx:  passed to @fn
 *
 * Return: 0, or what @fn returned.
 */
int luo_core_for_each_fd(const struct luo_core *core,
			 int (*fn)(void *ctx, int fd,
				   const struct luo_fd_id *id),
			 void *ctx)
{
	return for_each_file_fd(&core->outgoing, fn, ctx) ?:
	       for_each_file_fd(&core->incoming, fn, ctx);
}

/* ---- what changed since the engine's last commit ----------------------- */

/**
 * luo_core_track_changes() - keep track of changed files from now on
 * @core: the core
 *
 * For the engine's records: luo_core_records_changes() then reports what
 * changed.  Without it nothing is kept.
 */
void luo_core_track_changes(struct luo_core *core)
{
	core->track = true;
}

/**
 * luo_file_touch() - @f must be recorded again (new, or its record changed)
 * @core: the core
 * @f:    a linked file
 */
void luo_file_touch(struct luo_core *core, struct luo_file *f)
{
	if (core->track && list_empty(&f->dirty))
		list_add_tail(&f->dirty, &core->dirty);
}

/**
 * luo_file_gone() - @f is being unlinked: its record ends
 * @core: the core
 * @f:    the file
 */
void luo_file_gone(struct luo_core *core, struct luo_file *f)
{
	struct luo_file_gone *g;
	size_t cap;

	if (!list_empty(&f->dirty))
		list_del(&f->dirty);
	if (!core->track ||
	    (f->rec_slot < 0 && f->rec_fd < 0 && f->rec_rfd < 0))
		return;
	if (core->nr_gone == core->cap_gone) {
		cap = core->cap_gone ? core->cap_gone * 2 : 64;
		g = realloc(core->gone, cap * sizeof(*g));
		if (!g) {
			core->gone_lost = true;
			return;
		}
		core->gone = g;
		core->cap_gone = cap;
	}
	core->gone[core->nr_gone++] = (struct luo_file_gone){
		.slot = f->rec_slot, .fd = f->rec_fd, .rfd = f->rec_rfd,
	};
}

/**
 * luo_session_touch() - @s must be recorded again (new, moved, or its
 * flags changed)
 * @core: the core
 * @s:    a session
 */
void luo_session_touch(struct luo_core *core, struct luo_session *s)
{
	if (core->track && list_empty(&s->dirty))
		list_add_tail(&s->dirty, &core->sdirty);
}

/**
 * luo_session_gone() - @s is being freed: its record ends
 * @core: the core
 * @s:    the session
 */
void luo_session_gone(struct luo_core *core, struct luo_session *s)
{
	int32_t *g;
	size_t cap;

	if (!list_empty(&s->dirty))
		list_del(&s->dirty);
	if (!core->track || s->rec_slot < 0)
		return;
	if (core->nr_sgone == core->cap_sgone) {
		cap = core->cap_sgone ? core->cap_sgone * 2 : 64;
		g = realloc(core->sgone, cap * sizeof(*g));
		if (!g) {
			core->gone_lost = true;
			return;
		}
		core->sgone = g;
		core->cap_sgone = cap;
	}
	core->sgone[core->nr_sgone++] = s->rec_slot;
}

/**
 * luo_session_records_id() - the id the records know a session by
 * @s: a session
 *
 * Return: its records id, never 0.
 */
uint64_t luo_session_records_id(const struct luo_session *s)
{
	return s->rid;
}

static int report_session(struct luo_session *s,
			  const struct luo_records_ops *ops, void *ctx)
{
	struct luo_session_record rec;
	int r;

	luo_handover_session_record(s, &rec);
	r = ops->session_changed(ctx, s->rec_slot, &rec);
	if (r < 0)
		return r;
	s->rec_slot = r;
	if (!list_empty(&s->dirty))
		list_del(&s->dirty);
	return 0;
}

static int report_sessions(struct list_head *sessions,
			   const struct luo_records_ops *ops, void *ctx)
{
	struct luo_session *s;
	int r;

	list_for_each_entry(s, sessions, list)
		if ((r = report_session(s, ops, ctx)))
			return r;
	return 0;
}

static int report(struct luo_core *core, struct luo_file *f,
		  const struct luo_records_ops *ops, void *ctx)
{
	struct luo_file_change c = {
		.old_slot = f->rec_slot, .old_fd = f->rec_fd,
		.old_rfd = f->rec_rfd, .fd = f->fd, .rfd = f->retrieved_fd,
		.id = { .fd = f->fd, .type = f->type, .dev = f->dev,
			.ino = f->ino },
	};
	int r = luo_handover_file_record(f, &c.rec, &c.rid);

	if (r)
		return r;
	(void)core;
	r = ops->changed(ctx, &c);
	if (r < 0)
		return r;
	f->rec_slot = r;
	f->rec_fd = f->fd;
	f->rec_rfd = f->retrieved_fd;
	if (!list_empty(&f->dirty))
		list_del(&f->dirty);
	return 0;
}

static int report_all(struct luo_core *core, struct list_head *sessions,
		      const struct luo_records_ops *ops, void *ctx)
{
	struct luo_session *s;
	struct luo_file *f;
	int r;

	list_for_each_entry(s, sessions, list)
		list_for_each_entry(f, &s->files, list)
			if ((r = report(core, f, ops, ctx)))
				return r;
	return 0;
}

/**
 * luo_core_records_changes() - what to record since the last call
 * @core: the core, tracking changes (luo_core_track_changes())
 * @all:  every file, as if none had been recorded (a full account:
 *        what left before is not reported)
 * @ops:  called for every file that left, every session that left, then
 *        every session to record, then every file to record
 * @ctx:  passed to @ops
 *
 * A file's slot and fds are taken as recorded once @ops->changed returns
 * its slot; a session's once @ops->session_changed does.
 *
 * Return: 0, -ENOMEM if a departure could not be kept (only @all helps
 * then), or what @ops->changed or the record's writing failed with.
 */
int luo_core_records_changes(struct luo_core *core, bool all,
			     const struct luo_records_ops *ops, void *ctx)
{
	struct luo_session *s, *sn;
	struct luo_file *f, *n;
	int r;

	if (all) {
		core->nr_gone = 0;
		core->nr_sgone = 0;
		core->gone_lost = false;
		r = report_sessions(&core->outgoing, ops, ctx) ?:
		    report_sessions(&core->incoming, ops, ctx) ?:
		    report_all(core, &core->outgoing, ops, ctx) ?:
		    report_all(core, &core->incoming, ops, ctx);
		if (r)
			return r;
		list_for_each_entry_safe(s, sn, &core->sdirty, dirty)
			list_del(&s->dirty);
		list_for_each_entry_safe(f, n, &core->dirty, dirty)
			list_del(&f->dirty);
		return 0;
	}
	if (core->gone_lost)
		return -ENOMEM;
	for (size_t i = 0; i < core->nr_gone; i++)
		ops->gone(ctx, &core->gone[i]);
	core->nr_gone = 0;
	for (size_t i = 0; i < core->nr_sgone; i++)
		ops->session_gone(ctx, core->sgone[i]);
	core->nr_sgone = 0;
	list_for_each_entry_safe(s, sn, &core->sdirty, dirty)
		if ((r = report_session(s, ops, ctx)))
			return r;
	list_for_each_entry_safe(f, n, &core->dirty, dirty)
		if ((r = report(core, f, ops, ctx)))
			return r;
	return 0;
}
