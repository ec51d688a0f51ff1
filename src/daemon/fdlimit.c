// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * RLIMIT_NOFILE.  A service manager starts the daemon with a soft limit of
 * 1024, far below what the orchestrator promises (each session and each
 * preserved file costs the daemon an fd); the soft limit is raised to the
 * hard one, and STATUS advertises only what the result can reach.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "fdlimit.h"
#include "log.h"
#include "luo_core.h"

/* The kernel's ceiling when the hard limit is unlimited. */
static rlim_t fdlimit_nr_open(void)
{
	unsigned long v = 0;
	FILE *f = fopen("/proc/sys/fs/nr_open", "re");

	if (f) {
		if (fscanf(f, "%lu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v ? (rlim_t)v : 1024 * 1024;
}

/**
 * fdlimit_raise() - raise RLIMIT_NOFILE's soft limit to its hard limit
 *
 * Logs both limits at notice, and a warning if the raise failed.
 *
 * Return: the soft limit in force afterwards (RLIM_INFINITY as ULONG_MAX).
 */
unsigned long fdlimit_raise(void)
{
	struct rlimit rl;
	rlim_t was;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		log_warn("getrlimit(RLIMIT_NOFILE): %m");
		return 1024;
	}
	was = rl.rlim_cur;
	if (rl.rlim_cur != rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? fdlimit_nr_open() :
			      rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			log_warn("cannot raise RLIMIT_NOFILE from %llu to %llu: "
				 "%m", (unsigned long long)was,
				 (unsigned long long)rl.rlim_cur);
			rl.rlim_cur = was;
		}
	}
	if (rl.rlim_max == RLIM_INFINITY)
		log_notice("RLIMIT_NOFILE: soft %llu (was %llu), hard unlimited",
			   (unsigned long long)rl.rlim_cur,
			   (unsigned long long)was);
	else
		log_notice("RLIMIT_NOFILE: soft %llu (was %llu), hard %llu",
			   (unsigned long long)rl.rlim_cur,
			   (unsigned long long)was,
			   (unsigned long long)rl.rlim_max);
	return rl.rlim_cur == RLIM_INFINITY ? (unsigned long)-1 :
	       (unsigned long)rl.rlim_cur;
}

/* min(@want or @def, @reach); warns if an explicit @want was cut. */
static uint32_t fdlimit_cut(const char *what, uint32_t want, uint32_t def,
			    unsigned long reach)
{
	uint32_t v = want ? want : def;

	if (v <= reach)
		return v;
	if (want)
		log_warn("--max-%s %u: only %lu can have an fd; using %lu",
			 what, want, reach, reach);
	return (uint32_t)reach;
}

/**
 * fdlimit_clamp() - the session and file limits the fds can reach
 * @nofile:       the soft RLIMIT_NOFILE (fdlimit_raise())
 * @max_sessions: in: --max-sessions (0: the core's default); out: at most
 *                one session per fd beyond FDLIMIT_OWN and the device
 *                open's connection
 * @max_files:    in: --max-files (0: the default); out: at most one file
 *                per fd beyond FDLIMIT_OWN and the session's connection
 *
 * Each outgoing session costs the daemon the fd of its connection, each
 * preserved file the daemon's duplicate of it.  Both limits are reachable
 * one at a time, not both at their maximum at once: they share the fds.
 */
void fdlimit_clamp(unsigned long nofile, uint32_t *max_sessions,
		   uint32_t *max_files)
{
	unsigned long reach = nofile > FDLIMIT_OWN + 2 ?
			      nofile - FDLIMIT_OWN - 1 : 1;

	if (reach > UINT32_MAX)
		reach = UINT32_MAX;
	*max_sessions = fdlimit_cut("sessions", *max_sessions,
				    LUO_DEFAULT_MAX_SESSIONS, reach);
	*max_files = fdlimit_cut("files", *max_files, LUO_DEFAULT_MAX_FILES,
				 reach);
	log_notice("at most %u sessions and %u files per session (%lu fds, "
		   "%u kept for the daemon)", *max_sessions, *max_files,
		   nofile, FDLIMIT_OWN);
}
