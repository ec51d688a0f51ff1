/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internals shared by transport.c (connection life cycle, replies) and
 * request.c (what a request does).
 */
#ifndef LUOD_CONN_H
#define LUOD_CONN_H

#include <limits.h>

#include "access.h"
#include "connlimit.h"
#include "list.h"
#include "listen.h"
#include "loop.h"
#include "luo_core.h"
#include "msg.h"
#include "transport.h"

/* The records' in-flight word: the reply is being sent (conn_reply()). */
#define INFLIGHT_REPLYING	0x40000000

/* What a connection that can take a request waits for. */
#define CONN_EVENTS	(EPOLLIN | EPOLLRDHUP)

struct conn;

/**
 * struct conn_undo - what a request did that its reply's fd stands for
 * @session:   CREATE_SESSION or RETRIEVE_SESSION: the connection of the
 *             session it created or retrieved, or NULL
 * @retrieved: RETRIEVE_FD: it retrieved the file of @token (the first
 *             time: struct luo_call.retrieved)
 * @token:     that file's token
 */
struct conn_undo {
	struct conn *session;
	bool retrieved;
	uint64_t token;
};

/**
 * struct conn - one connection
 * @src:     its place in the loop; @src.fd is the socket, owned
 * @t:       the transport
 * @type:    enum conn_type
 * @session: CONN_SESSION: the core's session
 * @pending: a reply that could not be sent yet; while it is there nothing
 *           more is read from this connection
 * @closing: close once @pending is sent (an error reply to a handshake)
 * @peer:    who is at the other end (access.h)
 * @conns:   its count among its uid's connections (connlimit.h), or NULL
 * @deferred: a request waiting for a client's file (defer.c), or NULL;
 *           while it is there nothing more is read from this connection
 * @claim:   while the reply that carries a new session fd is being sent
 *           (conn_reply()): the session's connection.  The records hold
 *           that reply as EIO and the session as @unclaimed until the
 *           reply is marked as sent: a crash before undoes the request.
 * @unclaimed: its session fd has not reached the caller yet (@claim)
 * @undo:    what the reply in the making or in @pending did, undone if
 *           its fd cannot be passed (conn_inflight.c)
 * @unsent_by: a session connection: the connection whose reply carries
 *           its session fd and has not been sent yet (@undo.session)
 * @sndbuf:  the socket's send buffer (SO_SNDBUF): what it may hold unread
 * @link:    in transport.conns
 * @dev_link: CONN_DEVICE: in transport.devices
 * @rec_link: in transport.rec_dirty while it must be recorded again
 *           (conn_touch()), else empty
 * @big_link: in transport.rec_big while its record is too big for a slot
 *           and is written in the handover, else empty
 * @rec_slot: its records slot, or -1
 * @rec_fds: its socket and pending reply's fd as its slot names them (-1:
 *           none)
 * @order:   when it came, among the transport's connections
 */
struct conn {
	struct loop_source src;
	struct transport *t;
	enum conn_type type;
	struct luo_session *session;
	struct msg_buf pending;
	bool closing;
	struct access_peer peer;
	struct connlimit_user *conns;
	struct defer *deferred;
	struct conn *claim;
	bool unclaimed;
	struct conn_undo undo;
	struct conn *unsent_by;
	int sndbuf;
	struct list_head link;
	struct list_head dev_link;
	struct list_head rec_link;
	struct list_head big_link;
	int32_t rec_slot;
	int rec_fds[2];
	uint64_t order;
};

/**
 * struct transport - all connections
 * @core:         the core requests go to
 * @loop:         the loop
 * @listener:     the listening socket's source (fd -1 if none)
 * @path:         the socket's path, unlinked at shut-down ("" if none)
 * @file:         the socket file at @path, removed only if still there
 * @paused:       accept() ran out of fds; resumed when a connection closes
 * @devices:      the connections holding the device open, one per uid
 * @conns:        every live connection
 * @cur:          the connection whose request the core is running
 * @cur_size:     that request's size word
 * @req:          the request being handled (one at a time)
 * @extra:        reply payload buffer for the core
 * @access:       peer checks and limits (the daemon's), or NULL for none
 * @max_pending:  connections allowed before their handshake; past it the
 *                oldest is closed (0: no limit)
 * @nr_pending:   connections before their handshake
 * @evicted:      connections closed for want of a handshake
 * @connlimit:    connections per uid, and root's reserve of fds
 * @commit:       writes the records before a reply (conn_records.c), or
 *                NULL without a vault
 * @commit_ctx:   passed to @commit
 * @dirty:        something the records hold changed since the last commit
 * @inflight:     the records' word naming the connection whose request is
 *                being handled (-1: none), or NULL without a vault
 * @reply_ops:    what the records do around a reply, or NULL
 * @reply_ctx:    passed to @reply_ops
 * @track:        connections are recorded one by one (conn_slots.c)
 * @rec_dirty:    connections to record again (struct conn.rec_link)
 * @rec_big:      connections recorded in the handover, not in a slot
 * @rec_gone:     connections closed since the last commit
 * @nr_rec_gone:  entries of @rec_gone
 * @cap_rec_gone: room in @rec_gone
 * @rec_lost:     a closed connection could not be kept: all must be redone
 * @next_order:   the next connection's order
 */
struct transport {
	struct luo_core *core;
	struct loop *loop;
	struct loop_source listener;
	char path[PATH_MAX];
	struct listen_file file;
	bool paused;
	struct list_head devices;
	struct list_head conns;
	struct conn *cur;
	uint32_t cur_size;
	struct msg_req req;
	uint8_t extra[LUO_WIRE_MAX_EXTRA] __attribute__((aligned(8)));
	struct access *access;
	uint32_t max_pending;
	uint32_t nr_pending;
	uint64_t evicted;
	struct connlimit connlimit;
	void (*commit)(void *ctx);
	void *commit_ctx;
	bool dirty;
	volatile int32_t *inflight;
	const struct transport_reply_ops *reply_ops;
	void *reply_ctx;
	bool track;
	struct list_head rec_dirty;
	struct list_head rec_big;
	struct transport_conn_gone *rec_gone;
	size_t nr_rec_gone, cap_rec_gone;
	bool rec_lost;
	uint64_t next_order;
};

struct conn *conn_new(struct transport *t, int fd, enum conn_type type);
void conn_close(struct conn *c);
void conn_reply(struct conn *c, int result, const void *arg, uint32_t len,
		const void *extra, uint32_t extra_len, int fd);
void conn_reply_error(struct conn *c, int result);
struct conn *transport_device_of(const struct transport *t, uid_t uid);

/* conn_inflight.c: fds in flight to a client */
void conn_inflight_init(struct conn *c);
int conn_send(struct conn *c, const struct iovec *iov, int niov, int fd);
bool conn_fd_refused(int err);
int conn_refuse_fd(struct conn *c);
void conn_undo_reply(struct conn *c);
void conn_undo_set(struct conn *c, struct conn *session, bool retrieved,
		   uint64_t token);
void conn_undo_forget(struct conn *c);

void request_handle(struct conn *c, struct msg_req *req);

void conn_touch(struct conn *c);
void conn_gone(struct conn *c);
int conn_slot_record(const struct conn *c, uint8_t *out, size_t room,
		     size_t *len, int fds[2]);
int conn_big_record(const struct conn *c, uint8_t *out, size_t room,
		    size_t *len);

bool defer_request(struct conn *c, struct msg_req *req, int *result);
void defer_drop(struct conn *c);

#endif /* LUOD_CONN_H */
