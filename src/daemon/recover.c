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
 * again.  A reply committed with its change is sent unless the records
 * mark it as sent; the request the engine was handling when it died,
 * with no reply committed, gets EIO unless its reply was evidently sent
 * (transport_answer_inflight()); a request parked on a client's file
 * gets the EIO the records hold for it.
 *
 * A recovery recovers what it has: a file whose fd the vault could not
 * give back (a copy lost with the service manager's fd store, say) or
 * that names another file is dropped from its session, a connection in
 * that state is dropped as if its client had closed it, and a listening
 * socket in that state is made anew as at a fresh start; each drop is
 * logged as an error, and everything else is served.  Only malformed
 * records fail a recovery.  (A REBOOT's or UPGRADE's new image stays
 * strict, so that a bad image rolls back: reboot.c.)
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "luo_core.h"
#include "records.h"
#include "transport.h"

/**
 * recover_inherited() - the fds the vault put in place, before anything
 * @out: out: a malloc'd array of bytes by fd number, 1 for inherited
 * @n:   out: its size
 *
 * Called first thing in an engine started with --recover: every fd open
 * then (but 0, 1, 2) came from the vault.
 *
 * Return: 0 or -errno.
 */
int recover_inherited(uint8_t **out, size_t *n)
{
	long max = sysconf(_SC_OPEN_MAX);
	struct dirent *e;
	uint8_t *seen;
	DIR *dir;
	long fd;

	if (max <= 0)
		return -EINVAL;
	seen = calloc((size_t)max, 1);
	if (!seen)
		return -ENOMEM;
	dir = opendir("/proc/self/fd");
	if (!dir) {
		free(seen);
		return -errno;
	}
	while ((e = readdir(dir))) {
		fd = strtol(e->d_name, NULL, 10);
		if (fd > 2 && fd < max && fd != dirfd(dir))
			seen[fd] = 1;
	}
	closedir(dir);
	*out = seen;
	*n = (size_t)max;
	return 0;
}

struct named {
	uint8_t *seen;
	size_t n;
};

static int unmark_known(void *ctx, int fd, const struct luo_fd_id *id)
{
	struct named *nm = ctx;

	(void)id;
	if (fd >= 0 && (size_t)fd < nm->n)
		nm->seen[fd] = 0;
	return 0;
}

static int unmark(void *ctx, int fd)
{
	struct named *nm = ctx;

	if (fd >= 0 && (size_t)fd < nm->n)
		nm->seen[fd] = 0;
	return 0;
}

/*
 * What the vault still held that the records no longer name (a commit
 * written, its drops not yet sent when the engine died) is closed.
 */
static void recover_close_unnamed(struct luod *d)
{
	struct named nm = { .seen = d->inherited, .n = d->nr_inherited };
	unsigned int closed = 0;

	if (!nm.seen)
		return;
	transport_for_each_fd(d->tp, unmark, &nm);
	luo_core_for_each_fd(d->core, unmark_known, &nm);
	unmark(&nm, d->opt.vault_fd);
	unmark(&nm, d->opt.records_fd);
	for (size_t i = 3; i < nm.n; i++) {
		if (!nm.seen[i])
			continue;
		close((int)i);
		closed++;
	}
	if (closed)
		log_info("recovery: closed %u fds the records no longer name",
			 closed);
	free(d->inherited);
	d->inherited = NULL;
}

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
	r = luo_handover_read_mode(d->core, blob, len, LUO_HANDOVER_RECOVER,
				   info, why, why_len);
	free(blob);
	if (!r)
		luo_core_unfreeze(d->core);	/* nothing was frozen */
	return r;
}

/*
 * The listening socket the records name, or, if the core dropped it, a
 * new one as a fresh start makes.
 */
static int recover_listener(struct luod *d, int fd, char *why,
			    size_t why_len)
{
	int r;

	if (fd < 0) {
		log_err("recovery: making a new listening socket");
		r = luod_listen(d);
		if (r)
			snprintf(why, why_len, "no listening socket: %s",
				 strerror(-r));
		return r;
	}
	r = transport_adopt_listener(d->tp, fd);
	if (r)
		snprintf(why, why_len, "listening socket (fd %d): %s", fd,
			 strerror(-r));
	return r;
}

/*
 * The sessions of dropped connections, as their clients' close leaves
 * them (conn_close()); after recover_close_unnamed(), which must not
 * find the fds of the files they release closed already.
 */
static void recover_orphans(struct luod *d,
			    const struct luo_handover_info *info,
			    const uint8_t *orphans)
{
	for (uint32_t i = 0; orphans && i < info->nr_sessions; i++) {
		if (orphans[i] == TRANSPORT_ORPHAN_RELEASE)
			luo_core_session_release(d->core, info->sessions[i]);
		else if (orphans[i] == TRANSPORT_ORPHAN_ABANDON)
			luo_core_session_abandon(d->core, info->sessions[i]);
	}
}

static const char *plural(unsigned int n, const char *one, const char *more)
{
	return n == 1 ? one : more;
}

/**
 * recover_run() - serve again everything the records hold
 * @d: the daemon, core and transport made, nothing listening yet
 *
 * What the vault could not give back is dropped and logged, the rest is
 * served (see above).
 *
 * Return: 0, or -errno after logging why (malformed records, or no
 * listening socket); the engine exits then, and the vault tries again
 * with a new one.
 */
int recover_run(struct luod *d)
{
	struct luo_handover_info info = { .listen_fd = -1 };
	int inflight = records_inflight(d->rec);
	int sent = records_sent(d->rec);
	uint64_t start = luod_now_ns();
	char why[256] = "unknown reason", dropped[128] = "";
	unsigned int conns_dropped = 0;
	uint8_t *orphans = NULL;
	uint32_t out, in;
	uint64_t files;
	int r, n;

	if (!d->rec)
		return -EINVAL;
	reboot_stats_load(d);
	r = recover_read(d, &info, why, sizeof(why));
	if (!r)
		r = transport_check_conns_recover(d->tp, &info, why,
						  sizeof(why));
	if (!r && !(orphans = calloc(info.nr_sessions + 1, 1))) {
		snprintf(why, sizeof(why), "out of memory");
		r = -ENOMEM;
	}
	for (uint32_t i = 0; !r && i < info.nr_dropped; i++)
		log_err("recovery: dropped %s", info.dropped[i]);
	if (!r)
		r = recover_listener(d, info.listen_fd, why, sizeof(why));
	if (r) {
		log_err("cannot recover: %s", why);
		luo_handover_info_release(&info);
		free(orphans);
		return r;
	}
	luo_core_finish_exec(d->core);
	n = transport_adopt_all(d->tp, &info, orphans, &conns_dropped);
	recover_close_unnamed(d);
	recover_orphans(d, &info, orphans);
	free(orphans);
	if (info.dropped_files || conns_dropped)
		snprintf(dropped, sizeof(dropped),
			 "; dropped %u %s and %u %s whose fds were missing",
			 info.dropped_files,
			 plural(info.dropped_files, "file", "files"),
			 conns_dropped,
			 plural(conns_dropped, "connection", "connections"));
	/* A REBOOT or UPGRADE whose new image the vault saw fail. */
	transport_answer_inflight(d->tp, inflight, sent,
				  d->opt.rb.rolled_back ?
				  reboot_vault_rolled_back(d) : -EIO);
	luo_handover_info_release(&info);
	luo_core_counts(d->core, &out, &in, &files);
	log_notice("recovered update %llu after a crash in %.3f ms: %u outgoing and %u incoming sessions, %llu files, %d connections%s",
		   (unsigned long long)luo_core_update_number(d->core),
		   (luod_now_ns() - start) / 1e6, out, in,
		   (unsigned long long)files, n, dropped);
	return 0;
}
