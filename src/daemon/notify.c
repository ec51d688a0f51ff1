// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The service manager's notify protocol (sd_notify(3)), when NOTIFY_SOCKET
 * is set: the process a manager tracks (MAINPID) never changes behind its
 * back (DESIGN.md section 7).  The keeper announces itself before a
 * REBOOT's exec and hands the main pid back to the daemon's pid once the
 * new image has taken over; the image that serves after the switch (the
 * new one, or the old one rolled back to, possibly under the keeper's pid)
 * announces its pid and READY=1.  An UPGRADE is announced with RELOADING=1
 * and ends with that READY=1.  Under a vault the vault is the main pid
 * (vault.c): the engine sends READY=1, RELOADING=1 and STATUS= lines but
 * never MAINPID=, and an engine that starts a new vault after its vault
 * died announces the new vault's pid.  Without NOTIFY_SOCKET nothing is
 * sent.
 */
#include <systemd/sd-daemon.h>
#include <time.h>

#include "log.h"
#include "notify.h"

/* An engine under a vault: the vault is the main pid, never us. */
static bool notify_engine;

/**
 * notify_set_engine() - this process is a vault's engine
 *
 * The vault is the process the manager tracks: from now on
 * notify_serving() says READY=1 without MAINPID=.
 */
void notify_set_engine(void)
{
	notify_engine = true;
}

/**
 * notify_mainpid() - tell the service manager which process to track
 * @pid: the process
 */
void notify_mainpid(pid_t pid)
{
	int r = sd_notifyf(0, "MAINPID=%d", (int)pid);

	if (r < 0)
		log_warn("notify: MAINPID=%d: %s", (int)pid, strerror(-r));
}

/**
 * notify_reloading() - an UPGRADE starts: RELOADING=1
 *
 * READY=1 follows from the image that serves after it (notify_serving()).
 */
void notify_reloading(void)
{
	struct timespec ts;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	r = sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
		       (unsigned long long)ts.tv_sec * 1000000ull +
		       (unsigned long long)ts.tv_nsec / 1000);
	if (r < 0)
		log_warn("notify: RELOADING=1: %s", strerror(-r));
}

/**
 * notify_serving() - this process serves: MAINPID=<its pid> and READY=1
 *
 * A vault's engine says READY=1 alone (notify_set_engine()).
 */
void notify_serving(void)
{
	int r = notify_engine ? sd_notify(0, "READY=1") :
		sd_notifyf(0, "MAINPID=%d\nREADY=1", (int)getpid());

	if (r < 0)
		log_warn("notify: READY=1: %s", strerror(-r));
	else if (r > 0)
		log_debug("notify: MAINPID=%d, READY=1", (int)getpid());
}
