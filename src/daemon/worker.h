/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Blocking work on files a client chose, off the event loop (DESIGN.md
 * section 7): closing them (a socket with SO_LINGER blocks its last close)
 * and waiting until one can be opened (a lease must be broken first).  A few
 * threads do the waiting; the loop hears of a finished wait through an
 * eventfd and never waits itself.
 */
#ifndef LUOD_WORKER_H
#define LUOD_WORKER_H

#include <stdbool.h>
#include <stdint.h>

struct loop;
struct worker_job;

/* How long shut-down waits for the closes still under way. */
#define WORKER_STOP_MS	1000

int worker_start(struct loop *loop);
void worker_stop(unsigned int timeout_ms);
void worker_close(int fd);
bool worker_busy(void);
void worker_close_cb(void *ctx, int fd);
int worker_open_wait(void *ctx, int fd, int flags);
struct worker_job *worker_claim(void);
void worker_arm(struct worker_job *job, void (*done)(void *ctx, int err),
		void *ctx);
void worker_cancel(struct worker_job *job);

#endif /* LUOD_WORKER_H */
