// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * STATUS= lines for the service manager (sd_notify(3)), when NOTIFY_SOCKET
 * is set: what `systemctl status liveupdated` shows.  The line says the
 * update number, the sessions (outgoing and incoming), the files they hold
 * and how the last REBOOT went.  It is composed after every batch of the
 * loop's events and sent only when it differs from the last one sent, at
 * most once a second: a change within the second is sent when the second
 * is over (a one-shot timer), so the last state always reaches the manager
 * and an idle daemon never wakes up for it.  The first line goes out at
 * once, right after READY=1.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include "daemon.h"
#include "log.h"
#include "notify.h"

/* At most one STATUS= line a second. */
#define NOTIFY_STATUS_INTERVAL_NS	1000000000ull

static struct {
	struct luod *d;
	struct loop_source timer;
	bool armed;
	uint64_t sent_ns;
	char sent[256];
} ns = { .timer.fd = -1 };

/**
 * notify_status_text() - the STATUS= text for the daemon's current state
 * @d:   the daemon
 * @buf: out: the text
 * @len: size of @buf
 */
void notify_status_text(const struct luod *d, char *buf, size_t len)
{
	uint32_t out = 0, in = 0;
	uint64_t files = 0;
	char last[128];
	/* Positive as documented; some rollback paths record it negated. */
	int err = d->last_error < 0 ? -d->last_error : d->last_error;

	luo_core_counts(d->core, &out, &in, &files);
	if (d->rebooting)
		snprintf(last, sizeof(last), "a REBOOT is under way");
	else if (err)
		snprintf(last, sizeof(last), "last REBOOT failed (%s): %s",
			 strerror(err), d->last_failure);
	else if (d->last_reboot_ns)
		snprintf(last, sizeof(last), "last REBOOT took %" PRIu64 ".%03"
			 PRIu64 " ms", d->last_reboot_ns / 1000000,
			 d->last_reboot_ns / 1000 % 1000);
	else
		snprintf(last, sizeof(last), "no REBOOT yet");
	snprintf(buf, len, "update %llu; sessions: %u outgoing, %u incoming; "
		 "files: %llu; %s",
		 (unsigned long long)luo_core_update_number(d->core), out, in,
		 (unsigned long long)files, last);
}

static void notify_status_arm(uint64_t in_ns)
{
	struct itimerspec it = {
		.it_value.tv_sec = (time_t)(in_ns / 1000000000u),
		.it_value.tv_nsec = (long)(in_ns % 1000000000u),
	};

	if (!it.it_value.tv_sec && !it.it_value.tv_nsec)
		it.it_value.tv_nsec = 1;
	if (timerfd_settime(ns.timer.fd, 0, &it, NULL) < 0)
		log_warn("notify: STATUS timer: %m");
	else
		ns.armed = true;
}

/* Sends the current line if it changed and the second is over. */
static void notify_status_update(void *ctx)
{
	char text[sizeof(ns.sent)];
	uint64_t now;
	int r;

	if (!ns.d || ns.armed)
		return;
	notify_status_text(ns.d, text, sizeof(text));
	if (!strcmp(text, ns.sent))
		return;
	now = luod_now_ns();
	if (ns.sent_ns && now - ns.sent_ns < NOTIFY_STATUS_INTERVAL_NS) {
		notify_status_arm(ns.sent_ns + NOTIFY_STATUS_INTERVAL_NS - now);
		return;
	}
	r = sd_notifyf(0, "STATUS=%s", text);
	if (r < 0)
		log_warn("notify: STATUS=: %s", strerror(-r));
	memcpy(ns.sent, text, sizeof(ns.sent));
	ns.sent_ns = now;
}

static void notify_status_timer(struct loop_source *src, uint32_t events)
{
	uint64_t n;

	if (read(src->fd, &n, sizeof(n)) != sizeof(n))
		return;
	ns.armed = false;
	notify_status_update(NULL);
}

/**
 * notify_status_start() - send STATUS= lines from now on
 * @d: the daemon, serving
 *
 * Nothing happens without NOTIFY_SOCKET.  A daemon that cannot make its
 * timer serves all the same, without STATUS= lines (logged).
 */
void notify_status_start(struct luod *d)
{
	const char *env = getenv("NOTIFY_SOCKET");

	if (!env || !*env || ns.d)
		return;
	ns.timer.fd = timerfd_create(CLOCK_MONOTONIC,
				     TFD_CLOEXEC | TFD_NONBLOCK);
	ns.timer.ready = notify_status_timer;
	if (ns.timer.fd < 0 || loop_add(d->loop, &ns.timer, EPOLLIN) < 0) {
		log_warn("notify: no STATUS= lines: %m");
		if (ns.timer.fd >= 0)
			close(ns.timer.fd);
		ns.timer.fd = -1;
		return;
	}
	ns.d = d;
	loop_set_after(d->loop, notify_status_update, NULL);
	notify_status_update(NULL);
}

/**
 * notify_status_stop() - no more STATUS= lines; before the loop is freed
 * @d: the daemon
 */
void notify_status_stop(struct luod *d)
{
	if (!ns.d)
		return;
	loop_set_after(d->loop, NULL, NULL);
	loop_remove(d->loop, &ns.timer);
	close(ns.timer.fd);
	ns.timer.fd = -1;
	ns.d = NULL;
	ns.armed = false;
}
