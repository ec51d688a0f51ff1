// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What a request does: the LUO_WIRE_OPEN handshake on a new connection,
 * device and control requests, session requests.  Everything ioctl-shaped
 * is given to the core, which applies the kernel's rules; this file only
 * applies the transport's own: which connection may send what, and which
 * requests may carry an fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "log.h"
#include "worker.h"

/* A new connection's first message; any error closes it. */
static void request_open(struct conn *c, struct msg_req *req)
{
	struct transport *t = c->t;
	struct msg_decoded d;
	int r;

	r = msg_decode(c->type, req, &d);
	if (!r && t->access)
		r = access_check_open(&c->peer, c->src.fd);
	if (!r && d.open.mode == LUO_WIRE_MODE_DEVICE && t->device)
		r = -EBUSY;
	if (r) {
		worker_close(req->fd);
		log_debug("connection %d: open refused: %s", c->src.fd,
			  strerror(-r));
		c->closing = true;
		conn_reply_error(c, r);
		return;
	}
	if (d.open.mode == LUO_WIRE_MODE_DEVICE) {
		c->type = CONN_DEVICE;
		t->device = c;
	} else {
		c->type = CONN_CONTROL;
	}
	t->nr_pending--;
	d.open.version = LUO_WIRE_VERSION;
	conn_reply(c, 0, &d.open, sizeof(d.open), NULL, 0, -1);
}

/*
 * The session fd is made before the core runs, as the kernel reserves the
 * fd number before it creates or retrieves: failing to make it (EMFILE,
 * ENFILE) then changes nothing, where a release afterwards would finish a
 * retrieved session.
 */
static int request_reserve(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	if (!fcntl(sv[0], F_SETFL, O_NONBLOCK))
		return 0;
	close(sv[0]);
	close(sv[1]);
	return -errno;
}

/* Our end of the pair becomes the session's connection, theirs the reply's fd. */
static int request_bind_session(struct conn *c, struct luo_call *call,
				int sv[2])
{
	struct conn *s = sv[0] >= 0 ? conn_new(c->t, sv[0], CONN_SESSION) : NULL;

	if (!s) {
		log_err("cannot serve session %s: %m",
			luo_session_name(call->out_session));
		luo_core_session_release(c->t->core, call->out_session);
		call->copy_len = 0;
		return -ENOMEM;
	}
	s->session = call->out_session;
	if (c->t->access &&
	    access_bind_session(c->t->access, &c->peer, &s->peer,
				_IOC_NR(call->cmd) == LIVEUPDATE_CMD_CREATE_SESSION,
				luo_session_name(call->out_session))) {
		log_err("cannot serve session %s: out of memory",
			luo_session_name(call->out_session));
		conn_close(s);	/* releases the session */
		call->copy_len = 0;
		sv[0] = -1;
		return -ENOMEM;
	}
	call->out_fd = sv[1];
	sv[0] = -1;
	sv[1] = -1;
	return 0;
}

static int request_run(struct conn *c, struct msg_req *req,
		       struct luo_call *call)
{
	struct transport *t = c->t;
	uint32_t size = 0;
	int r;

	if (c->type == CONN_SESSION && !c->session)
		return -ENOENT;	/* detached by HANDOVER */
	if (c->type == CONN_SESSION) {
		r = luo_core_session_ioctl(t->core, c->session, call);
		if (call->detach)
			c->session = NULL;
		return r;
	}
	if (req->hdr.len >= sizeof(size))
		memcpy(&size, req->arg, sizeof(size));
	t->cur = c;
	t->cur_size = size;
	r = luo_core_device_ioctl(t->core, call);
	t->cur = NULL;
	return r;
}

static void request_close_pair(int sv[2])
{
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
}

/* Per-user and per-connection limits (access.c): 0 or -ENOSPC. */
static int request_limits(const struct conn *c, const struct msg_req *req)
{
	const struct access *a = c->t->access;
	uint32_t nr = _IOC_NR(req->hdr.cmd);

	if (!a)
		return 0;
	if (c->type == CONN_DEVICE && nr == LIVEUPDATE_CMD_CREATE_SESSION)
		return access_check_create(a, &c->peer);
	if (c->type == CONN_SESSION && nr == LIVEUPDATE_CMD_SESSION_PRESERVE_FD)
		return access_check_preserve(a, &c->peer);
	return 0;
}

/* A session gained or lost a file: its creator's count follows. */
static void request_charge(struct conn *c, uint32_t cmd)
{
	if (_IOC_NR(cmd) == LIVEUPDATE_CMD_SESSION_PRESERVE_FD)
		access_charge_file(&c->peer);
	else if (_IOC_NR(cmd) == LUO_CMD_SESSION_UNPRESERVE_FD)
		access_uncharge_file(&c->peer);
}

/* A request on a device, control or session connection. */
static void request_call(struct conn *c, struct msg_req *req)
{
	struct transport *t = c->t;
	int sv[2] = { -1, -1 }, r;
	struct msg_decoded d;
	struct luo_call call;

	r = msg_decode(c->type, req, &d);
	if (!r)
		r = request_limits(c, req);
	if (!r && d.makes_session)
		r = request_reserve(sv);
	if (r) {
		worker_close(req->fd);
		conn_reply_error(c, r);
		return;
	}
	luo_call_init(&call, req->hdr.cmd, req->arg, req->hdr.len, req->fd);
	call.extra = t->extra;
	call.extra_cap = sizeof(t->extra);
	r = request_run(c, req, &call);
	if (defer_request(c, req, &r)) {
		request_close_pair(sv);
		return;
	}
	if (!r && t->access && c->type == CONN_SESSION)
		request_charge(c, req->hdr.cmd);
	worker_close(req->fd);
	if (r > 0)	/* LUO_CALL_DEFERRED: never asked for by this daemon */
		r = -EIO;
	if (!r && call.out_session)
		r = request_bind_session(c, &call, sv);
	request_close_pair(sv);
	if (call.copy_len > sizeof(req->arg))
		call.copy_len = sizeof(req->arg);
	if (call.extra_len > call.extra_cap)
		call.extra_len = call.extra_cap;
	conn_reply(c, r, call.arg, call.copy_len, call.extra, call.extra_len,
		   call.out_fd);
}

/**
 * request_handle() - act on one message received on @c
 * @c:   the connection
 * @req: the message; an fd attached to it is closed here
 */
void request_handle(struct conn *c, struct msg_req *req)
{
	if (c->type == CONN_NEW)
		request_open(c, req);
	else
		request_call(c, req);
}
