// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A stop (SIGTERM, SIGINT) releases every session: outgoing ones lose
 * their files, incoming and parked ones are gone for good.  Before that,
 * one line at notice, the default level, gives the totals, one more line
 * per session its name, kind and files, or one line says nothing was held.
 */
#include <inttypes.h>

#include "discard.h"
#include "log.h"
#include "luo_core.h"

static const char *const discard_kinds[] = {
	[LUO_CENSUS_OUTGOING] = "outgoing",
	[LUO_CENSUS_INCOMING] = "incoming",
	[LUO_CENSUS_PARKED] = "parked",
};

static int discard_one(const struct luo_census_session *s, void *ctx)
{
	log_notice("%s: discarding %s session '%s'%s with %" PRIu32 " file%s",
		   (const char *)ctx, discard_kinds[s->kind], s->name,
		   s->retrieved ? " (retrieved)" : "", s->nr_files,
		   s->nr_files == 1 ? "" : "s");
	return 0;
}

/**
 * discard_log() - say what a stop is about to discard
 * @core: the orchestrator's state, still whole
 * @why:  the cause, for each line ("stopping")
 */
void discard_log(const struct luo_core *core, const char *why)
{
	struct luo_census_totals t;
	uint32_t n;

	luo_core_census(core, NULL, NULL, &t);
	n = t.sessions[LUO_CENSUS_OUTGOING] + t.sessions[LUO_CENSUS_INCOMING] +
	    t.sessions[LUO_CENSUS_PARKED];
	if (!n) {
		log_notice("%s: no sessions held, nothing discarded", why);
		return;
	}
	log_notice("%s: discarding %" PRIu32 " sessions (%" PRIu32
		   " outgoing, %" PRIu32 " incoming, %" PRIu32 " parked) and %"
		   PRIu64 " files", why, n, t.sessions[LUO_CENSUS_OUTGOING],
		   t.sessions[LUO_CENSUS_INCOMING],
		   t.sessions[LUO_CENSUS_PARKED], t.files);
	luo_core_census(core, discard_one, (void *)why, &t);
}
