// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What a request does: the LUO_WIRE_OPEN handshake on a new connection,
 * device and control requests, session requests.  A request is framed
 * (msg.c), its caller identified (who, on what kind of fd) and given to
 * the core, whose dispatch table holds every rule of who may send what,
 * with which fd, and what it charges.  Only the handshake's rules are
 * here: who may open at all, and one device open per uid at a time.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
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
	if (!r)
		r = connlimit_check(&t->connlimit, c->peer.uid, c->peer.pid,
				    0);
	if (!r && d.open.mode == LUO_WIRE_MODE_DEVICE &&
	    transport_device_of(t, c->peer.uid))
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
		list_add_tail(&c->dev_link, &t->devices);
	} else {
		c->type = CONN_CONTROL;
	}
	t->dirty = true;
	t->nr_pending--;
	d.open.version = LUO_WIRE_VERSION;
	conn_reply(c, 0, &d.open, sizeof(d.open), NULL, 0, -1);
}

/*
 * The session fd is made before the core runs, as the kernel reserves the
 * fd number before it creates or retrieves: failing to make it (EMFILE,
 * ENFILE, or EMFILE for a uid at --max-connections-per-user) then changes
 * nothing, where a release afterwards would finish a retrieved session.
 */
static int request_reserve(struct conn *c, int sv[2])
{
	int r = connlimit_check(&c->t->connlimit, c->peer.uid, c->peer.pid,
				1);

	if (r)
		return r;
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
	bool created = _IOC_NR(call->cmd) == LIVEUPDATE_CMD_CREATE_SESSION;
	struct conn *s = sv[0] >= 0 ? conn_new(c->t, sv[0], CONN_SESSION) : NULL;

	if (!s) {
		log_err("cannot serve session %s: %m",
			luo_session_name(call->out_session));
		luo_core_session_release(c->t->core, call->out_session);
		call->copy_len = 0;
		return -ENOMEM;
	}
	s->session = call->out_session;
	s->conns = connlimit_get(&c->t->connlimit, c->peer.uid);
	if (!s->conns || access_bind_session(&c->peer, &s->peer, created)) {
		log_err("cannot serve session %s: out of memory",
			luo_session_name(call->out_session));
		conn_close(s);	/* releases the session */
		call->copy_len = 0;
		sv[0] = -1;
		return -ENOMEM;
	}
	log_info("session '%s' of uid %u %s by pid %d uid %u",
		 luo_session_name(call->out_session),
		 (unsigned int)luo_session_owner(call->out_session),
		 created ? "created" : "retrieved", (int)c->peer.pid,
		 (unsigned int)c->peer.uid);
	call->out_fd = sv[1];
	/* Until the reply is sent (conn_reply(), conn_records.c). */
	c->claim = s;
	s->unclaimed = true;
	conn_touch(s);
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

/* RETRIEVE_FD's token, for conn_undo_set(); 0 for a shorter request. */
static uint64_t request_token(const struct msg_req *req)
{
	size_t off = offsetof(struct liveupdate_session_retrieve_fd, token);
	uint64_t token = 0;

	if (req->hdr.len >= off + sizeof(token))
		memcpy(&token, req->arg + off, sizeof(token));
	return token;
}

/* Who sends the request, for the core's policy (dispatch.c). */
static void request_caller(const struct conn *c, struct luo_caller *who)
{
	who->uid = c->peer.uid;
	who->admin = c->peer.admin;
	who->kind = c->type == CONN_CONTROL ? LUO_CALLER_CONTROL :
		    c->type == CONN_SESSION ? LUO_CALLER_SESSION :
		    LUO_CALLER_DEVICE;
	who->session_room = access_session_room(c->t->access, &c->peer);
}

/*
 * Requests that change nothing the records of a vault hold.  Session
 * requests have numbers of their own: UNPRESERVE_FD and HANDOVER share
 * STATUS's and LIST's.
 */
static bool request_reads_only(const struct conn *c, uint32_t cmd)
{
	if (_IOC_TYPE(cmd) != LIVEUPDATE_IOCTL_TYPE)
		return false;
	if (c->type == CONN_SESSION)
		return _IOC_NR(cmd) == LIVEUPDATE_CMD_SESSION_GET_NAME;
	switch (_IOC_NR(cmd)) {
	case LUO_CMD_STATUS:
	case LUO_CMD_LIST:
	case LUO_CMD_GET_STATE:
		return true;
	default:
		return false;
	}
}

/* A request on a device, control or session connection. */
static void request_call(struct conn *c, struct msg_req *req)
{
	struct transport *t = c->t;
	int sv[2] = { -1, -1 }, r;
	struct msg_decoded d;
	struct luo_call call;

	r = msg_decode(c->type, req, &d);
	if (!request_reads_only(c, req->hdr.cmd))
		t->dirty = true;
	if (!r && d.makes_session)
		r = request_reserve(c, sv);
	if (r) {
		worker_close(req->fd);
		conn_reply_error(c, r);
		return;
	}
	luo_call_init(&call, req->hdr.cmd, req->arg, req->hdr.len, req->fd);
	request_caller(c, &call.caller);
	call.extra = t->extra;
	call.extra_cap = sizeof(t->extra);
	r = request_run(c, req, &call);
	if (defer_request(c, req, &r)) {
		request_close_pair(sv);
		return;
	}
	worker_close(req->fd);
	if (r > 0)	/* LUO_CALL_DEFERRED: never asked for by this daemon */
		r = -EIO;
	if (!r && call.out_session)
		r = request_bind_session(c, &call, sv);
	request_close_pair(sv);
	if (call.out_fd >= 0)
		conn_undo_set(c, call.out_session ? c->claim : NULL,
			      call.retrieved, request_token(req));
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
	conn_touch(c);	/* what it does may change its record */
	if (c->type == CONN_NEW)
		request_open(c, req);
	else
		request_call(c, req);
}
