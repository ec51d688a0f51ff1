// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Connection life cycle.  Every connection is served one request per loop
 * round (level-triggered epoll), so one busy client cannot starve others;
 * a reply that cannot be sent is parked with its fd, EPOLLOUT is armed and
 * nothing more is read from that connection until it is gone.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "listen.h"
#include "log.h"
#include "transport.h"
#include "worker.h"

#define CONN_BLOCKED	(EPOLLOUT | EPOLLRDHUP)
#define ACCEPT_BATCH	16

static const char *const conn_names[] = {
	[CONN_NEW] = "new", [CONN_DEVICE] = "device",
	[CONN_CONTROL] = "control", [CONN_SESSION] = "session",
};

static void transport_resume(struct transport *t)
{
	if (!t->paused || t->listener.fd < 0)
		return;
	if (!loop_modify(t->loop, &t->listener, EPOLLIN))
		t->paused = false;
}

/**
 * conn_close() - end a connection and everything it holds
 * @c: the connection; freed after the current loop batch
 *
 * A session connection's close is the kernel's last close of the session
 * fd: the session is released.  Closing a device holder frees the device
 * for its uid's next open.
 */
void conn_close(struct conn *c)
{
	struct transport *t = c->t;

	if (c->src.dead)
		return;
	log_debug("connection %d: %s closed", c->src.fd, conn_names[c->type]);
	conn_undo_forget(c);
	msg_buf_clear(&c->pending);
	defer_drop(c);
	if (c->type == CONN_NEW)
		t->nr_pending--;
	access_peer_release(&c->peer);
	connlimit_put(&t->connlimit, c->conns);
	c->conns = NULL;
	if (c->session)
		luo_core_session_release(t->core, c->session);
	c->session = NULL;
	if (c->type == CONN_DEVICE)
		list_del(&c->dev_link);
	list_del(&c->link);
	loop_source_kill(t->loop, &c->src);
	conn_gone(c);	/* dead: no touch adds it again */
	msg_close_socket(c->src.fd);
	t->dirty = true;
	c->src.fd = -1;
	connlimit_refill(&t->connlimit);
	transport_resume(t);
}

/* The new session's fd reached its caller, or is recorded as pending. */
static void conn_unclaim(struct conn *c)
{
	if (!c->claim)
		return;
	c->claim->unclaimed = false;
	conn_touch(c->claim);
	conn_touch(c);
	c->claim = NULL;
}

/*
 * Sends @c's pending reply, which the committed records hold: marked as
 * sent first (records.c), so that a new engine does not send it again,
 * and unmarked if the socket is full after all.  A reply whose fd cannot
 * be passed becomes EMFILE, the request undone, and that is committed
 * before it is sent (conn_inflight.c).  @parked: it waited for EPOLLOUT.
 */
static void conn_send_recorded(struct conn *c, bool parked)
{
	struct transport *t = c->t;
	bool replying;
	struct iovec iov;
	int fd, r;

	for (;;) {
		iov.iov_base = c->pending.data;
		iov.iov_len = c->pending.len;
		fd = c->pending.fd;
		t->reply_ops->sent(t->reply_ctx, c->src.fd);
		transport_killpoint(t, "reply-sending");
		r = conn_send(c, &iov, 1, fd);
		transport_killpoint(t, "reply-sent");
		if (fd < 0 || !conn_fd_refused(r))
			break;
		t->reply_ops->sent(t->reply_ctx, -1);
		/*
		 * Not being sent while the answer changes: a crash before
		 * the commit (or with a commit that fails) owes EIO.
		 */
		replying = t->inflight &&
			   *t->inflight == (c->src.fd | INFLIGHT_REPLYING);
		if (replying)
			*t->inflight = c->src.fd;
		r = conn_refuse_fd(c);
		if (r)
			break;
		transport_commit(t);
		transport_killpoint(t, "reply-refused");
		if (replying)
			*t->inflight = c->src.fd | INFLIGHT_REPLYING;
	}
	if (r == -EAGAIN || r == -EINTR) {
		t->reply_ops->sent(t->reply_ctx, -1);
		if (c->claim) {
			/* Parked: recorded with its fd, as any parked reply. */
			conn_unclaim(c);
			t->dirty = true;
			transport_commit(t);
		}
		if (!parked && loop_modify(t->loop, &c->src, CONN_BLOCKED))
			conn_close(c);
		return;
	}
	if (r) {
		log_debug("%s connection %d: reply not sent: %s",
			  conn_names[c->type], c->src.fd, strerror(-r));
		msg_buf_clear(&c->pending);
		conn_close(c);
		return;
	}
	conn_undo_forget(c);
	/*
	 * The records keep the sent reply, marked, until the next commit: a
	 * commit of its own would double what a request costs.  The fd sent
	 * is held by the message until the client takes it: this close is
	 * never the last.
	 */
	free(c->pending.data);
	c->pending.data = NULL;
	c->pending.len = 0;
	c->pending.fd = -1;
	/* The next commit records it without, whichever comes. */
	conn_touch(c);
	if (fd >= 0)
		close(fd);
	if (c->closing || (parked && loop_modify(t->loop, &c->src,
						 CONN_EVENTS)))
		conn_close(c);
}

static void conn_flush(struct conn *c)
{
	struct iovec iov;
	int r;

	if (c->t->commit && c->t->reply_ops) {
		conn_send_recorded(c, true);
		return;
	}
	for (;;) {
		iov.iov_base = c->pending.data;
		iov.iov_len = c->pending.len;
		r = conn_send(c, &iov, 1, c->pending.fd);
		if (c->pending.fd < 0 || !conn_fd_refused(r))
			break;
		r = conn_refuse_fd(c);
		if (r)
			break;
	}
	if (r == -EAGAIN || r == -EINTR)
		return;
	conn_undo_forget(c);
	msg_buf_clear(&c->pending);
	c->t->dirty = true;	/* no pending reply any more */
	conn_touch(c);
	if (r || loop_modify(c->t->loop, &c->src, CONN_EVENTS) || c->closing)
		conn_close(c);
}

/**
 * conn_reply() - answer the request just handled
 * @c:         the connection
 * @result:    0 or -errno
 * @arg:       bytes to copy back over the caller's struct
 * @len:       their number
 * @extra:     payload after them, or NULL
 * @extra_len: its size
 * @fd:        fd to pass, or -1; always taken over (closed once sent)
 *
 * If the socket is full the reply is parked and the connection waits for
 * EPOLLOUT; if the peer is gone the connection is closed.
 */
void conn_reply(struct conn *c, int result, const void *arg, uint32_t len,
		const void *extra, uint32_t extra_len, int fd)
{
	struct luo_wire_rep hdr = {
		.result = result, .len = len, .extra_len = extra_len,
	};
	struct iovec iov[3] = {
		{ .iov_base = &hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)arg, .iov_len = len },
		{ .iov_base = (void *)extra, .iov_len = extra_len },
	};
	struct transport *t = c->t;
	bool inflight = t->inflight && *t->inflight == c->src.fd;
	int r;

	conn_touch(c);	/* a reply may be kept pending */
	/*
	 * Under a vault, a reply that acknowledges a change (or carries an
	 * fd) is committed with the change, as the connection's pending
	 * reply: a new engine sends it if this one dies before it did.
	 */
	if (t->commit && t->reply_ops && !c->pending.data &&
	    (t->dirty || fd >= 0) && !msg_buf_fill(&c->pending, iov, 3, fd)) {
		t->dirty = true;
		conn_touch(c);
		transport_commit(t);
		transport_killpoint(t, "reply-committed");
		/* Before the mark: a new engine answers no EIO then. */
		if (inflight)
			*t->inflight = c->src.fd | INFLIGHT_REPLYING;
		conn_send_recorded(c, false);
		conn_unclaim(c);
		if (inflight)
			*t->inflight = -1;
		return;
	}
	conn_unclaim(c);
	/* Nothing is acknowledged before the vault's records say it. */
	transport_commit(c->t);
	/*
	 * From here a crash counts the reply as sent: SIGKILL is taken on
	 * the way out of sendmsg(), so only a kill in the few instructions
	 * before it would leave the client waiting (liveupdated(8)).
	 */
	if (inflight)
		*c->t->inflight = c->src.fd | INFLIGHT_REPLYING;
	r = conn_send(c, iov, 3, fd);
	if (inflight)
		*c->t->inflight = -1;
	if (fd >= 0 && conn_fd_refused(r)) {
		/* EMFILE without the fd, the request undone first. */
		worker_close(fd);
		conn_undo_reply(c);
		conn_reply_error(c, -EMFILE);
		return;
	}
	if (r == -EAGAIN && !msg_buf_fill(&c->pending, iov, 3, fd) &&
	    !loop_modify(c->t->loop, &c->src, CONN_BLOCKED)) {
		/* The parked reply is recorded before anything else runs. */
		c->t->dirty = true;
		conn_touch(c);
		transport_commit(c->t);
		return;
	}
	/*
	 * A sent fd is held by the message until the client takes it, and
	 * what a reply carries is held by the daemon besides (a retrieved
	 * file by the core, a new session's socket by its connection, with
	 * nothing queued on it yet): closing it here is never the last close.
	 */
	if (fd >= 0 && c->pending.fd != fd) {
		if (r)
			worker_close(fd);
		else
			close(fd);
	}
	conn_undo_forget(c);
	if (r)
		log_debug("%s connection %d: reply not sent: %s",
			  conn_names[c->type], c->src.fd, strerror(-r));
	if (r || c->closing)
		conn_close(c);
}

/**
 * conn_reply_error() - answer with an errno and nothing else
 * @c:      the connection
 * @result: -errno
 */
void conn_reply_error(struct conn *c, int result)
{
	conn_reply(c, result, NULL, 0, NULL, 0, -1);
}

static void conn_ready(struct loop_source *src, uint32_t events)
{
	struct conn *c = container_of(src, struct conn, src);
	struct msg_req *req = &c->t->req;
	int r;

	if (c->pending.data) {
		if (events & EPOLLOUT)
			conn_flush(c);
		return;
	}
	if (!(events & EPOLLIN))
		return;
	/*
	 * Under a vault, the records name the connection before its request
	 * leaves the socket: a crash after the read owes it an answer.
	 */
	if (c->t->inflight)
		*c->t->inflight = src->fd;
	r = msg_recv(src->fd, req);
	if (r == -EAGAIN || r == -EINTR || r < 0) {
		if (c->t->inflight)
			*c->t->inflight = -1;
		if (r < 0 && r != -EAGAIN && r != -EINTR)
			conn_close(c);
		return;
	}
	if (r == 0)	/* an empty message: the peer is still there */
		req->error = -EINVAL;
	request_handle(c, req);
	if (c->t->inflight)
		*c->t->inflight = -1;
}

static void conn_hangup(struct loop_source *src)
{
	conn_close(container_of(src, struct conn, src));
}

static void conn_release(struct loop_source *src)
{
	free(container_of(src, struct conn, src));
}

/**
 * conn_new() - serve a connected socket
 * @t:    the transport
 * @fd:   the socket, O_CLOEXEC and non-blocking; taken over on success
 * @type: what it is
 *
 * Return: the connection, or NULL (errno set) and @fd left open.
 */
struct conn *conn_new(struct transport *t, int fd, enum conn_type type)
{
	struct conn *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return NULL;
	c->t = t;
	c->type = type;
	c->pending.fd = -1;
	list_init(&c->dev_link);
	list_init(&c->rec_link);
	list_init(&c->big_link);
	c->rec_slot = -1;
	c->rec_fds[0] = -1;
	c->rec_fds[1] = -1;
	c->order = ++t->next_order;
	c->src.fd = fd;
	c->src.ready = conn_ready;
	c->src.hangup = conn_hangup;
	c->src.release = conn_release;
	conn_inflight_init(c);
	r = loop_add(t->loop, &c->src, CONN_EVENTS);
	if (r) {
		free(c);
		errno = -r;
		return NULL;
	}
	t->dirty = true;
	list_add_tail(&c->link, &t->conns);
	conn_touch(c);
	log_debug("connection %d: %s", fd,
		  type == CONN_NEW ? "accepted" : conn_names[type]);
	return c;
}

/* Out of fds: stop accepting until a connection closes. */
static void transport_pause(struct transport *t, int err)
{
	log_warn("cannot accept connections: %s; pausing", strerror(err));
	if (!loop_modify(t->loop, &t->listener, 0))
		t->paused = true;
}

/* Past --max-pending, the oldest connection without a handshake goes. */
static void transport_evict(struct transport *t)
{
	static const uint64_t every = 1000;
	struct conn *c;

	if (!t->max_pending || t->nr_pending <= t->max_pending)
		return;
	list_for_each_entry(c, &t->conns, link) {
		if (c->type != CONN_NEW)
			continue;
		if (t->evicted++ % every == 0)
			log_warn("%u connections sent no handshake: closing the "
				 "oldest (limit --max-pending %u; %llu so far)",
				 t->nr_pending, t->max_pending,
				 (unsigned long long)t->evicted);
		conn_close(c);
		return;
	}
}

/* A new connection: who it is, and room for it among the pending. */
static void transport_accepted(struct transport *t, int fd)
{
	struct access_peer peer = { 0 };
	struct connlimit_user *conns;
	struct conn *c;
	int r = access_peer_init(t->access, &peer, fd);

	if (r) {
		log_warn("connection %d: no peer credentials: %s", fd,
			 strerror(-r));
		msg_close_socket(fd);
		return;
	}
	conns = connlimit_get(&t->connlimit, peer.uid);
	c = conns ? conn_new(t, fd, CONN_NEW) : NULL;
	if (!c) {
		log_warn("cannot serve a connection: %m");
		connlimit_put(&t->connlimit, conns);
		msg_close_socket(fd);
		return;
	}
	c->peer = peer;
	c->conns = conns;
	t->nr_pending++;
	transport_evict(t);
}

/*
 * Out of fds: one of root's reserve is given up for the next connection,
 * served if it is root's and closed at once otherwise (its client sees the
 * connection closed), so root is never stuck behind the others.
 *
 * Return: root's connection; -ECONNREFUSED if another was closed (or the
 * accept was interrupted), -EAGAIN if there was none (accept() reports
 * EMFILE before it looks), -EMFILE if the reserve is used up, or another
 * -errno of accept().
 */
static int transport_accept_reserve(struct transport *t, int lfd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	int fd, r;

	if (!connlimit_spare(&t->connlimit))
		return -EMFILE;
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd >= 0 && !getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) &&
	    cr.uid == 0) {
		log_info("out of fds: serving root's connection from the "
			 "reserve");
		return fd;
	}
	if (fd >= 0 || errno == ECONNABORTED || errno == EINTR)
		r = -ECONNREFUSED;	/* go on accepting */
	else
		r = -errno;
	if (fd >= 0)
		msg_close_socket(fd);
	connlimit_refill(&t->connlimit);
	return r;
}

static void listener_ready(struct loop_source *src, uint32_t events)
{
	struct transport *t = container_of(src, struct transport, listener);
	int i, fd;

	for (i = 0; i < ACCEPT_BATCH; i++) {
		fd = accept4(src->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0 && (errno == ECONNABORTED || errno == EINTR))
			continue;
		if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
			fd = transport_accept_reserve(t, src->fd);
			if (fd == -ECONNREFUSED)
				continue;
			if (fd < 0)
				errno = -fd;
		}
		if (fd < 0) {
			if (errno != EAGAIN)
				transport_pause(t, errno);
			return;
		}
		transport_accepted(t, fd);
	}
}

/**
 * transport_new() - no connections yet
 * @core: where requests go
 * @loop: the loop to watch sockets with
 *
 * Return: the transport, or NULL.
 */
struct transport *transport_new(struct luo_core *core, struct loop *loop)
{
	struct transport *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->core = core;
	t->loop = loop;
	t->listener.fd = -1;
	t->listener.ready = listener_ready;
	list_init(&t->conns);
	connlimit_init(&t->connlimit, 0);
	list_init(&t->devices);
	list_init(&t->rec_dirty);
	list_init(&t->rec_big);
	return t;
}

/**
 * transport_free() - close every connection and the listening socket
 * @t: the transport, or NULL
 *
 * Sessions of session connections are released; the socket file is
 * removed.  The connections themselves are freed by the loop.
 */
void transport_free(struct transport *t)
{
	struct conn *c, *tmp;

	if (!t)
		return;
	list_for_each_entry_safe(c, tmp, &t->conns, link)
		conn_close(c);
	if (t->listener.fd >= 0) {
		loop_remove(t->loop, &t->listener);
		close(t->listener.fd);
	}
	listen_unlink(t->path, &t->file);
	connlimit_fini(&t->connlimit);
	free(t->rec_gone);
	free(t);
}

static int transport_watch(struct transport *t, int fd)
{
	int r;

	t->listener.fd = fd;
	r = loop_add(t->loop, &t->listener, EPOLLIN);
	if (r)
		t->listener.fd = -1;
	return r;
}

/**
 * transport_listen() - listen on @path
 * @t:    the transport
 * @path: the socket path
 * @gid:  --group: the group to open the socket to, or (gid_t)-1
 *
 * Return: 0 or -errno (logged).
 */
int transport_listen(struct transport *t, const char *path, gid_t gid)
{
	int fd = listen_open(path, gid, &t->file);
	int r;

	if (fd < 0)
		return fd;
	r = transport_watch(t, fd);
	if (r) {
		close(fd);
		listen_unlink(path, &t->file);
		return r;
	}
	snprintf(t->path, sizeof(t->path), "%s", path);
	log_notice("listening on %s", path);
	return 0;
}

/**
 * transport_adopt_listener() - listen on a socket inherited at a reboot
 * @t:  the transport
 * @fd: the socket; taken over on success
 *
 * Return: 0, -ENOTSOCK if @fd is no listening AF_UNIX SOCK_SEQPACKET
 * socket, or another -errno.
 */
int transport_adopt_listener(struct transport *t, int fd)
{
	char path[PATH_MAX];
	int r = listen_adopt(fd, path, sizeof(path), &t->file);

	if (!r)
		r = transport_watch(t, fd);
	if (r)
		return r;
	snprintf(t->path, sizeof(t->path), "%s", path);
	log_info("listening on %s (inherited)", path);
	return 0;
}

/**
 * transport_adopt_reply() - answer a request of the previous image
 * @t:      the transport
 * @fd:     the inherited connection; always taken over
 * @result: 0 or -errno
 * @arg:    copy-back bytes
 * @len:    their number
 *
 * The connection is then served as a control connection: the previous
 * image's device open, if it was one, does not survive the reboot.
 *
 * Return: 0, or -errno if @fd is no AF_UNIX SOCK_SEQPACKET socket.
 */
int transport_adopt_reply(struct transport *t, int fd, int result,
			  const void *arg, uint32_t len)
{
	int type = 0, fl, r;
	socklen_t tl = sizeof(type);
	struct conn *c;

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 ||
	    type != SOCK_SEQPACKET || (fl = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ||
	    !(c = conn_new(t, fd, CONN_CONTROL))) {
		msg_close_socket(fd);
		return -ENOTSOCK;
	}
	r = access_peer_init(t->access, &c->peer, fd);
	if (r)
		log_warn("connection %d: no peer credentials: %s", fd,
			 strerror(-r));
	conn_reply(c, result, arg, len, NULL, 0, -1);
	return 0;
}

/**
 * transport_set_access() - check peers and apply limits
 * @t:           the transport, no connection yet
 * @a:           the daemon's access state; outlives @t
 * @max_pending: connections allowed before their handshake (0: no limit)
 */
void transport_set_access(struct transport *t, struct access *a,
			  uint32_t max_pending)
{
	t->access = a;
	t->max_pending = max_pending;
}

/**
 * transport_set_conn_limit() - connections one uid may hold
 * @t:        the transport
 * @per_user: --max-connections-per-user, 0 for no limit
 */
void transport_set_conn_limit(struct transport *t, uint32_t per_user)
{
	t->connlimit.per_user = per_user;
}

/**
 * transport_leave_socket_file() - never remove the socket file at shut-down
 * @t: the transport
 *
 * For a socket someone else made and keeps (a service manager's).
 */
void transport_leave_socket_file(struct transport *t)
{
	memset(&t->file, 0, sizeof(t->file));
}

/** transport_listen_fd() - the listening socket, or -1 */
int transport_listen_fd(const struct transport *t)
{
	return t->listener.fd;
}

/** transport_path() - the socket's path, "" if unknown */
const char *transport_path(const struct transport *t)
{
	return t->path;
}

/**
 * transport_device_of() - the device open a uid holds
 * @t:   the transport
 * @uid: the uid
 *
 * Each uid has its own device hold, as the kernel has one per machine:
 * a second open by the same uid gets EBUSY, another uid's does not.
 *
 * Return: the connection, or NULL.
 */
struct conn *transport_device_of(const struct transport *t, uid_t uid)
{
	struct conn *c;

	list_for_each_entry(c, &t->devices, dev_link)
		if (c->peer.uid == uid)
			return c;
	return NULL;
}

/**
 * transport_device_held() - is the device held open?
 * @t: the transport
 *
 * Within a request, by the caller's own uid (a user does not learn whether
 * another one holds its device); outside of one, by anyone.
 *
 * Return: true if held.
 */
bool transport_device_held(const struct transport *t)
{
	if (t->cur)
		return transport_device_of(t, t->cur->peer.uid) != NULL;
	return !list_empty(&t->devices);
}

/**
 * transport_current() - the connection whose request the core runs now
 * @t:    the transport
 * @size: out: the size word of that request's struct
 *
 * Return: its fd, or -1 outside of a request.
 */
int transport_current(const struct transport *t, uint32_t *size)
{
	*size = t->cur ? t->cur_size : 0;
	return t->cur ? t->cur->src.fd : -1;
}
