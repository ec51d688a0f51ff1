// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What the core holds that must outlive the daemon's process: every fd
 * written down in a handover.  The vault (liveupdated(8), "Crash
 * recovery") keeps a duplicate of each, so that the records the engine
 * keeps (a handover written before each acknowledged change) can be read
 * back by a new engine after a crash.
 */
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
