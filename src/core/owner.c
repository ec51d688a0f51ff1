// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Owners (DESIGN.md section 7a): every session belongs to the uid that
 * created it, in every direction and across the handover.  The owner is
 * the session's namespace (each uid its own names), what LIST shows a
 * non-administrator, and what the per-user limits count: its sessions,
 * outgoing, handed over or incoming, and their files.  A charge ends only
 * when the session or file itself goes.
 */
#include <errno.h>
#include <stdlib.h>

#include "core_internal.h"

/**
 * luo_owner_find() - a uid's record
 * @core: the core
 * @uid:  the uid
 *
 * Return: the owner, or NULL if @uid owns no session.
 */
struct luo_owner *luo_owner_find(const struct luo_core *core, uint32_t uid)
{
	struct luo_hnode *n;

	luo_hmap_for_each_hash(n, &core->owners, luo_hash_u64(uid)) {
		struct luo_owner *o = container_of(n, struct luo_owner, node);

		if (o->uid == uid)
			return o;
	}
	return NULL;
}

/**
 * luo_owner_get() - a uid's record, made if it has none
 * @core: the core
 * @uid:  the uid
 *
 * A new record that gets no session must be given back with
 * luo_owner_put().
 *
 * Return: the owner, or NULL when out of memory.
 */
struct luo_owner *luo_owner_get(struct luo_core *core, uint32_t uid)
{
	struct luo_owner *o = luo_owner_find(core, uid);

	if (o)
		return o;
	o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->uid = uid;
	list_init(&o->outgoing);
	list_init(&o->incoming);
	luo_tree_init(&o->by_key);
	if (luo_hmap_insert(&core->owners, &o->node, luo_hash_u64(uid))) {
		free(o);
		return NULL;
	}
	return o;
}

/**
 * luo_owner_put() - free an owner left without sessions
 * @core: the core
 * @o:    the owner
 */
void luo_owner_put(struct luo_core *core, struct luo_owner *o)
{
	if (o->nr_sessions)
		return;
	luo_hmap_remove(&core->owners, &o->node);
	free(o);
}

/**
 * luo_owner_check() - may @uid take more?
 * @core:     the core
 * @uid:      the owner to charge
 * @sessions: sessions it is to gain (0 or 1)
 * @files:    files it is to gain (0 or 1)
 *
 * Return: 0, or -ENOSPC past the per-user limits.
 */
int luo_owner_check(const struct luo_core *core, uint32_t uid,
		    uint32_t sessions, uint32_t files)
{
	const struct luo_owner *o = luo_owner_find(core, uid);
	uint64_t have_s = o ? o->nr_sessions : 0;
	uint64_t have_f = o ? o->nr_files : 0;

	if (sessions && core->max_sessions_per_user &&
	    have_s + sessions > core->max_sessions_per_user)
		return -ENOSPC;
	if (files && core->max_files_per_user &&
	    have_f + files > core->max_files_per_user)
		return -ENOSPC;
	return 0;
}
