// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Kill points: with --fault-injection, LUO_FAULT_KILL_AT=STEP[:FLAGFILE]
 * makes the daemon SIGKILL itself when REBOOT reaches STEP, so that tests
 * can check what survives a crash at every step.  With FLAGFILE, it dies
 * only if it can create that file (O_EXCL), that is once: the image the
 * keeper rolls back to passes the same step alive.
 *
 * Steps, in order: "frozen" (sessions frozen), "written" (handover
 * written), "keeper" (keeper started, before the exec), "takeover" (new
 * image started), "validated" (handover read), "adopted" (listening socket
 * adopted, before the keeper is told).
 *
 * Under a vault, around every reply the records hold (transport.c):
 * "reply-committed" (the change and its reply committed, nothing marked),
 * "reply-sending" (marked as being sent, before sendmsg()), "reply-sent"
 * (after sendmsg()); "reply-refused" (a reply whose fd could not be
 * passed undone and answered EMFILE, committed, not sent yet,
 * conn_inflight.c); "deferred" (a request parked on a client's file
 * and recorded as such, request.c); and, in a commit (records.c),
 * "records-conns" (its connection slots written and ended, before its
 * sessions' and files'), "records-files" (every slot written, before its
 * handover and flip) and "records-handover" (its handover written, before
 * the flip).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "killpoint.h"
#include "log.h"

/* Creates @path if it does not exist; true if this call created it. */
static bool first_time(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/**
 * killpoint() - die here if the test asked for it
 * @d:    the daemon
 * @step: the step of REBOOT just reached
 */
void killpoint(const struct luod *d, const char *step)
{
	killpoint_step(d->opt.fault_injection, step);
}

/**
 * killpoint_step() - die here if the test asked for it and it may
 * @armed: --fault-injection is on
 * @step:  the step just reached
 */
void killpoint_step(bool armed, const char *step)
{
	const char *spec = armed ? getenv("LUO_FAULT_KILL_AT") : NULL;
	size_t len = strlen(step);

	if (!spec || strncmp(spec, step, len) ||
	    (spec[len] != '\0' && spec[len] != ':'))
		return;
	if (spec[len] == ':' && !first_time(spec + len + 1))
		return;
	log_notice("fault injection: killed at step '%s'", step);
	fflush(NULL);
	raise(SIGKILL);
}
