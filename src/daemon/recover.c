// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A new engine after a crash (liveupdated(8), "Crash recovery").
 *
 * The vault started us with --recover, every fd it held under the number
 * the dead engine had for it.  The records' last commit is a handover of
 * the whole state, read in RESTORE mode, the mode an image rolled back to
 * uses: every session as it was (outgoing, incoming, parked), every file
 * with its retrieve status, the FLBs, the RFC state and the update
 * number; then the listening socket and every connection are served
 * again.  The request the engine was handling when it died gets EIO
 * unless its reply was evidently sent (transport_answer_inflight()).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "luo_core.h"
#include "records.h"
#include "transport.h"

static int recover_read(struct luod *d, struct luo_handover_info *info,
			char *why, size_t why_len)
{
	void *blob = NULL;
	size_t len = 0;
	int r;

	r = records_read(d->rec, &blob, &len);
	if (r) {
		snprintf(why, why_len, "cannot read the records: %s",
			 strerror(-r));
		return r;
	}
	r = luo_handover_read_mode(d->core, blob, len, LUO_HANDOVER_RESTORE,
				   info, why, why_len);
	free(blob);
	if (!r)
		luo_core_unfreeze(d->core);	/* nothing was frozen */
	return r;
}

/**
 * recover_run() - serve again everything the records hold
 * @d: the daemon, core and transport made, nothing listening yet
 *
 * Return: 0, or -errno after logging why; the engine exits then, and the
 * vault tries again with a new one.
 */
int recover_run(struct luod *d)
{
	struct luo_handover_info info = { .listen_fd = -1 };
	int inflight = records_inflight(d->rec);
	uint64_t start = luod_now_ns();
	char why[256] = "unknown reason";
	uint32_t out, in;
	uint64_t files;
	int r, n;

	if (!d->rec)
		return -EINVAL;
	r = recover_read(d, &info, why, sizeof(why));
	if (!r)
		r = transport_check_conns(d->tp, &info, true, why, sizeof(why));
	if (!r) {
		r = transport_adopt_listener(d->tp, info.listen_fd);
		if (r)
			snprintf(why, sizeof(why), "listening socket (fd %d): %s",
				 info.listen_fd, strerror(-r));
	}
	if (r) {
		log_err("cannot recover: %s", why);
		luo_handover_info_release(&info);
		return r;
	}
	luo_core_finish_exec(d->core);
	n = transport_adopt_all(d->tp, &info);
	transport_answer_inflight(d->tp, inflight);
	luo_handover_info_release(&info);
	luo_core_counts(d->core, &out, &in, &files);
	log_notice("recovered update %llu after a crash in %.3f ms: %u outgoing and %u incoming sessions, %llu files, %d connections",
		   (unsigned long long)luo_core_update_number(d->core),
		   (luod_now_ns() - start) / 1e6, out, in,
		   (unsigned long long)files, n);
	return 0;
}
