// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * HANDOVER of one session (DESIGN.md section 6): the live update of a single
 * service while every other session keeps running.  The session's files are
 * frozen as a reboot would freeze them, then the session moves, under the
 * same name, from the outgoing to the incoming list of this same image.
 *
 * The files keep everything they had: the core's fd, the handler's data and
 * private_data, their place in the table of preserved files (so preserving
 * one of them again still gives EBUSY) and their FLB references, which stay
 * outgoing references (@handed_over) because the FLB objects never left this
 * image.  A daemon REBOOT carries outgoing sessions only: a handed-over
 * session not yet finished is discarded by it like any incoming session.
 */
#include <errno.h>
#include <string.h>

#include "core_internal.h"

static void handover_unfreeze(struct luo_core *core, struct luo_session *s)
{
	struct luo_file *f;

	list_for_each_entry(f, &s->files, list)
		luo_file_unfreeze(core, f);
}

/* Freeze every file FIFO; on failure unfreeze those done, FIFO. */
static int handover_freeze(struct luo_core *core, struct luo_session *s)
{
	struct luo_file *f;
	int ret;

	list_for_each_entry(f, &s->files, list) {
		ret = luo_file_freeze(core, f);
		if (ret) {
			luo_core_log(core, LUO_LOG_WARNING,
				     "handover of '%s': freezing token %llu failed: error %d; unfrozen",
				     s->name, (unsigned long long)f->token, ret);
			handover_unfreeze(core, s);
			return ret;
		}
	}
	return 0;
}

/* Re-file the session under the incoming names; nothing changes on -ENOMEM. */
static int handover_move(struct luo_core *core, struct luo_session *s)
{
	uint64_t hash = luo_session_name_hash(s->name, s->owner->uid);

	luo_hmap_remove(&core->outgoing_names, &s->name_node);
	if (luo_hmap_insert(&core->incoming_names, &s->name_node, hash)) {
		/* The table did not shrink: putting it back cannot fail. */
		luo_hmap_insert(&core->outgoing_names, &s->name_node, hash);
		return -ENOMEM;
	}
	luo_list_del(core, s);
	s->incoming = true;
	luo_list_add(core, s);
	core->nr_outgoing--;
	core->nr_incoming++;
	s->retrieved = false;
	s->finished = false;
	s->handed_over = true;
	return 0;
}

/**
 * luo_session_handover() - LUO_IOCTL_HANDOVER on an outgoing session
 * @core: the core
 * @s:    the session, outgoing (the dispatch table checked it)
 * @arg:  the request, size already checked
 *
 * The session keeps its owner, and its charge: a parked session counts
 * toward its owner's limits as an outgoing one does.
 *
 * Return: 0; -EOPNOTSUPP for unknown flags; -EEXIST if an incoming session
 * of the same owner has the same name; a handler's freeze errno (nothing
 * left frozen);
 * -ENOMEM (nothing changed).
 */
int luo_session_handover(struct luo_core *core, struct luo_session *s,
			 const struct luo_session_handover *arg)
{
	int ret;

	if (arg->flags & ~LUO_HANDOVER_KEEP_ON_CLOSE)
		return -EOPNOTSUPP;
	if (luo_session_find(core, s->name, true, s->owner->uid))
		return -EEXIST;
	ret = handover_freeze(core, s);
	if (ret)
		return ret;
	ret = handover_move(core, s);
	if (ret) {
		handover_unfreeze(core, s);
		return ret;
	}
	s->keep_on_close = arg->flags & LUO_HANDOVER_KEEP_ON_CLOSE;
	luo_session_touch(core, s);
	luo_core_log(core, LUO_LOG_INFO,
		     "session '%s' handed over: %u files%s", s->name,
		     s->nr_files, s->keep_on_close ? ", kept on close" : "");
	return 0;
}
