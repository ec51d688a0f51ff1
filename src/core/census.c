// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What the core holds, session by session, for the host to report (the
 * daemon logs it when it stops and discards everything).
 */
#include <string.h>

#include "core_internal.h"

static int census_list(const struct list_head *head, luo_census_fn fn,
		       void *ctx, struct luo_census_totals *t)
{
	struct luo_census_session info;
	struct luo_session *s;
	int r;

	list_for_each_entry(s, head, list) {
		info.name = s->name;
		info.kind = !s->incoming ? LUO_CENSUS_OUTGOING :
			    s->handed_over ? LUO_CENSUS_PARKED :
			    LUO_CENSUS_INCOMING;
		info.retrieved = s->retrieved;
		info.nr_files = s->nr_files;
		t->sessions[info.kind]++;
		t->files += s->nr_files;
		if (fn) {
			r = fn(&info, ctx);
			if (r)
				return r;
		}
	}
	return 0;
}

/**
 * luo_core_census() - walk every session the core holds
 * @core:   the core
 * @fn:     called once per session, outgoing ones first, or NULL to count
 *          only; a non-zero return stops the walk
 * @ctx:    passed to @fn
 * @totals: out: sessions of each kind and their files (those walked)
 *
 * Return: 0, or the first non-zero value @fn returned.
 */
int luo_core_census(const struct luo_core *core, luo_census_fn fn, void *ctx,
		    struct luo_census_totals *totals)
{
	int r;

	memset(totals, 0, sizeof(*totals));
	r = census_list(&core->outgoing, fn, ctx, totals);
	return r ? r : census_list(&core->incoming, fn, ctx, totals);
}
