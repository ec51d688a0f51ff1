// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Requests that wait for a client's file, off the loop.  A handler that
 * cannot open a client's file without waiting (a lease on it is being
 * broken) answers -EWOULDBLOCK and has the worker wait for the open
 * (worker.c).  The request is then parked on its connection, which reads
 * nothing more meanwhile; every other connection is served.  When the wait
 * is over the request runs again from the start, as the client sent it.
 * Under a vault the records hold the parked request as owing EIO: a new
 * engine after a crash answers it so (nothing of it took effect), unless
 * it ran again and its own answer was committed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "conn.h"
#include "log.h"
#include "worker.h"

/**
 * struct defer - a parked request
 * @req: the request as received; its fd, if any, is owned here
 * @job: the worker's wait it waits for
 */
struct defer {
	struct msg_req req;
	struct worker_job *job;
};

static void defer_done(void *ctx, int err)
{
	struct conn *c = ctx;
	struct defer *d = c->deferred;

	c->deferred = NULL;
	conn_touch(c);
	log_debug("connection %d: the file it waited for opens (%s): asking again",
		  c->src.fd, err ? strerror(-err) : "ok");
	if (loop_modify(c->t->loop, &c->src, CONN_EVENTS)) {
		c->deferred = d;
		d->job = NULL;
		conn_close(c);
		return;
	}
	/* Its answer is owed as for a request just read (transport.c). */
	if (c->t->inflight)
		*c->t->inflight = c->src.fd;
	request_handle(c, &d->req);
	if (c->t->inflight)
		*c->t->inflight = -1;
	free(d);
}

/**
 * defer_request() - park the request just run if it must wait for a file
 * @c:      its connection
 * @req:    the request; its fd is taken over if it is parked
 * @result: in: what the core answered; out: -ENOMEM if it had to wait but
 *          cannot be parked
 *
 * Also drops a wait the request started but does not need.
 *
 * Return: true if the request is parked (nothing to answer now).
 */
bool defer_request(struct conn *c, struct msg_req *req, int *result)
{
	struct worker_job *job = worker_claim();
	struct defer *d;

	if (*result != -EWOULDBLOCK || !job) {
		worker_cancel(job);
		return false;
	}
	d = calloc(1, sizeof(*d));
	if (!d || loop_modify(c->t->loop, &c->src, EPOLLRDHUP)) {
		free(d);
		worker_cancel(job);
		*result = -ENOMEM;
		return false;
	}
	memcpy(&d->req, req, sizeof(*req));
	req->fd = -1;
	d->job = job;
	c->deferred = d;
	conn_touch(c);
	/*
	 * Under a vault the records say so before the request stops being
	 * the one in flight: a new engine answers it EIO (conn_handover.c).
	 */
	c->t->dirty = true;
	transport_commit(c->t);
	transport_killpoint(c->t, "deferred");
	worker_arm(job, defer_done, c);
	log_info("connection %d: waits for a file that cannot be opened yet "
		 "(a lease is being broken); others are served meanwhile",
		 c->src.fd);
	return true;
}

/**
 * defer_drop() - forget the parked request of a connection that closes
 * @c: the connection
 */
void defer_drop(struct conn *c)
{
	struct defer *d = c->deferred;

	if (!d)
		return;
	c->deferred = NULL;
	worker_cancel(d->job);
	worker_close(d->req.fd);
	free(d);
}
