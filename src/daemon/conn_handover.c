// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Connections across a REBOOT's exec (DESIGN.md section 7).
 *
 * The daemon's end of every connection (new, device, control, session)
 * crosses the exec with the listening socket, recorded in the handover's
 * "connections" property: its fd with the identity of its socket, its
 * type (a device open holds its uid's device), its peer's credentials, the
 * session it serves (by handover index), and a reply not yet sent.  The image that
 * takes over keeps only the connection awaiting REBOOT's answer (a kexec
 * ends every process); an image that a REBOOT rolled back to serves every
 * one of them as before, so a failed REBOOT changes nothing a client sees.
 *
 * A REBOOT queued on another connection while one was under way is
 * answered EBUSY by the image that serves next, before anything else.
 *
 * The records are this daemon's business only: the core writes and reads
 * them as an opaque property.  Native byte order: they never leave the
 * machine.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "log.h"
#include "transport.h"
#include "worker.h"

#define CONNS_MAGIC	"LUOCONN1"
#define NO_SESSION	0xffffffffu

enum {
	CR_ALLOWED = 1u << 0,	/* the peer passed the access check */
	CR_ADMIN = 1u << 1,	/* the peer is the administrator */
	CR_CLOSING = 1u << 2,	/* closes once its pending reply is sent */
	CR_DETACHED = 1u << 3,	/* a session connection HANDOVER detached */
	/* Under a vault, in the records only: its session fd is not sent yet. */
	CR_UNCLAIMED = 1u << 4,
	/* Its pending reply's fd is a file its request retrieved first. */
	CR_UNDO_RETRIEVED = 1u << 5,
	CR_ALL = CR_ALLOWED | CR_ADMIN | CR_CLOSING | CR_DETACHED |
		 CR_UNCLAIMED | CR_UNDO_RETRIEVED,
};

/**
 * struct conn_id - an fd and its file, as struct luo_fd_id, fixed size
 */
struct conn_id {
	int32_t fd;
	uint32_t type;
	uint64_t dev;
	uint64_t ino;
};

/**
 * struct conn_record - one connection in "connections"
 * @sock:        the daemon's end
 * @pending_fd:  the fd of the pending reply, fd -1 if none
 * @type:        enum conn_type
 * @session:     handover index of the session it serves, or NO_SESSION
 * @pid:         the peer's pid
 * @uid:         its uid
 * @gid:         its gid
 * @flags:       CR_*
 * @pending_len: bytes of the pending reply, after the record, padded to 8
 * @undo_conn:   1 + the socket of the session connection whose session
 *               the pending reply's fd stands for (conn_inflight.c);
 *               0: none
 */
struct conn_record {
	struct conn_id sock;
	struct conn_id pending_fd;
	uint32_t type;
	uint32_t session;
	int32_t pid;
	uint32_t uid;
	uint32_t gid;
	uint32_t flags;
	uint32_t pending_len;
	uint32_t undo_conn;
};

struct conns_header {
	char magic[8];
	uint32_t count;
	uint32_t reserved;
};

static size_t pad8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

static int id_of(int fd, struct conn_id *out)
{
	struct luo_fd_id id;
	int r = luo_fd_id_of(fd, &id);

	out->fd = id.fd;
	out->type = id.type;
	out->dev = id.dev;
	out->ino = id.ino;
	return r;
}

static bool id_check(const struct conn_id *in)
{
	struct luo_fd_id id = {
		.fd = in->fd, .type = in->type, .dev = in->dev, .ino = in->ino,
	};

	return luo_fd_id_check(&id);
}

/*
 * A request parked on a client's file (defer.c) has taken no effect yet:
 * the handover records EIO as the reply it owes, so an image that reads
 * it answers the request, and the request the parked one becomes when it
 * is answered takes its place at the next commit.
 */
static const struct luo_wire_rep eio_rep = { .result = -EIO };

/*
 * The pending reply to record: the one waiting to be sent, or EIO (a
 * parked request, or a reply whose session fd is not sent yet).
 */
static const void *pending_of(const struct conn *c, size_t *len, int *fd)
{
	if (c->pending.data && !c->claim) {
		*len = c->pending.len;
		*fd = c->pending.fd;
		return c->pending.data;
	}
	*fd = -1;
	if (c->deferred || c->claim) {
		*len = sizeof(eio_rep);
		return &eio_rep;
	}
	*len = 0;
	return NULL;
}

static int record_of(const struct conn *c, struct conn_record *rec)
{
	size_t len;
	int r, fd;

	memset(rec, 0, sizeof(*rec));
	pending_of(c, &len, &fd);
	/* What the pending reply's fd stands for (conn_inflight.c). */
	if (fd >= 0 && c->undo.session)
		rec->undo_conn = (uint32_t)c->undo.session->src.fd + 1;
	r = id_of(c->src.fd, &rec->sock);
	if (!r)
		r = id_of(fd, &rec->pending_fd);
	rec->type = c->type;
	rec->session = c->session ? luo_session_handover_index(c->session) :
		       NO_SESSION;
	rec->pid = c->peer.pid;
	rec->uid = c->peer.uid;
	rec->gid = c->peer.gid;
	rec->flags = (c->peer.allowed ? CR_ALLOWED : 0) |
		     (c->peer.admin ? CR_ADMIN : 0) |
		     (c->closing ? CR_CLOSING : 0) |
		     (c->type == CONN_SESSION && !c->session ? CR_DETACHED : 0) |
		     (c->unclaimed ? CR_UNCLAIMED : 0) |
		     (fd >= 0 && c->undo.retrieved ? CR_UNDO_RETRIEVED : 0);
	rec->pending_len = (uint32_t)len;
	return r;
}

/**
 * transport_save() - describe every connection for the handover
 * @t:    the transport
 * @blob: out: the records (malloc'd), for struct luo_handover_info.conns
 * @len:  out: their size
 *
 * The core's sessions must be numbered (luo_core_handover_number()).
 *
 * Return: 0, -ENOMEM, or the -errno of an fstat().
 */
int transport_save(struct transport *t, void **blob, size_t *len)
{
	struct conns_header hdr = { .magic = CONNS_MAGIC };
	struct conn_record rec;
	size_t size = sizeof(hdr), off;
	struct conn *c;
	uint8_t *buf;
	int r;

	const void *pending;
	size_t plen;
	int pfd;

	list_for_each_entry(c, &t->conns, link) {
		pending_of(c, &plen, &pfd);
		size += sizeof(rec) + pad8(plen);
		hdr.count++;
	}
	buf = calloc(1, size);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, &hdr, sizeof(hdr));
	off = sizeof(hdr);
	list_for_each_entry(c, &t->conns, link) {
		r = record_of(c, &rec);
		if (r) {
			free(buf);
			return r;
		}
		memcpy(buf + off, &rec, sizeof(rec));
		off += sizeof(rec);
		pending = pending_of(c, &plen, &pfd);
		if (rec.pending_len)
			memcpy(buf + off, pending, rec.pending_len);
		off += pad8(rec.pending_len);
	}
	*blob = buf;
	*len = size;
	return 0;
}

static int set_cloexec(int fd, bool on)
{
	if (fd < 0)
		return 0;
	return fcntl(fd, F_SETFD, on ? FD_CLOEXEC : 0) < 0 ? -errno : 0;
}

/**
 * transport_busy() - is a request waiting for a client's file (defer.c)?
 * @t: the transport
 *
 * Such a request cannot cross an exec: a REBOOT waits for it (EBUSY).
 *
 * Return: true if one is.
 */
bool transport_busy(const struct transport *t)
{
	const struct conn *c;

	list_for_each_entry(c, &t->conns, link)
		if (c->deferred)
			return true;
	return false;
}

/**
 * transport_inherit() - let every connection cross the exec, or not
 * @t:  the transport
 * @on: true: clear close-on-exec on every connection and pending reply
 *      fd; false: set it again (the exec failed)
 *
 * Return: 0, or the first fcntl()'s -errno (setting it again goes on).
 */
int transport_inherit(struct transport *t, bool on)
{
	struct conn *c;
	int r = 0;

	list_for_each_entry(c, &t->conns, link) {
		if (!r || !on)
			r = set_cloexec(c->src.fd, !on) ?: r;
		if ((!r || !on) && c->pending.data)
			r = set_cloexec(c->pending.fd, !on) ?: r;
	}
	return r;
}

/**
 * struct conns_reader - walking the records
 * @p:     the next record
 * @end:   the end of the records
 * @left:  records not yet read
 */
struct conns_reader {
	const uint8_t *p;
	const uint8_t *end;
	uint32_t left;
};

static int conns_begin(const struct luo_handover_info *info,
		       struct conns_reader *rd)
{
	struct conns_header hdr;

	rd->p = info->conns;
	rd->end = rd->p + info->conns_len;
	rd->left = 0;
	if (!info->conns)
		return 0;
	if (info->conns_len < sizeof(hdr))
		return -EINVAL;
	memcpy(&hdr, rd->p, sizeof(hdr));
	if (memcmp(hdr.magic, CONNS_MAGIC, sizeof(hdr.magic)) || hdr.reserved)
		return -EINVAL;
	rd->p += sizeof(hdr);
	rd->left = hdr.count;
	return 0;
}

/* The next record and its pending bytes; 1 at the end, -EINVAL if bad. */
static int conns_next(struct conns_reader *rd, struct conn_record *rec,
		      const uint8_t **pending)
{
	if (!rd->left)
		return rd->p == rd->end ? 1 : -EINVAL;
	if ((size_t)(rd->end - rd->p) < sizeof(*rec))
		return -EINVAL;
	memcpy(rec, rd->p, sizeof(*rec));
	rd->p += sizeof(*rec);
	if ((size_t)(rd->end - rd->p) < pad8(rec->pending_len))
		return -EINVAL;
	*pending = rd->p;
	rd->p += pad8(rec->pending_len);
	rd->left--;
	return 0;
}

static int check_record(const struct luo_handover_info *info,
			const struct conn_record *rec, bool restore,
			char *why, size_t why_len)
{
	if (rec->type > CONN_SESSION || (rec->flags & ~CR_ALL) ||
	    rec->pending_len > LUO_WIRE_MAX_REP ||
	    (rec->pending_fd.fd >= 0 && !rec->pending_len) ||
	    ((rec->undo_conn || (rec->flags & CR_UNDO_RETRIEVED)) &&
	     rec->pending_fd.fd < 0) ||
	    rec->undo_conn > INT32_MAX) {
		snprintf(why, why_len, "connection %d: malformed record",
			 rec->sock.fd);
		return -EINVAL;
	}
	if (!id_check(&rec->sock) ||
	    (rec->pending_fd.fd >= 0 && !id_check(&rec->pending_fd))) {
		snprintf(why, why_len,
			 "connection %d is not the socket that was written down",
			 rec->sock.fd);
		return -EBADF;
	}
	if (!restore || rec->type != CONN_SESSION)
		return 0;
	if ((rec->session == NO_SESSION) != !!(rec->flags & CR_DETACHED) ||
	    (rec->session != NO_SESSION &&
	     (rec->session >= info->nr_sessions ||
	      !info->sessions[rec->session]))) {
		snprintf(why, why_len, "connection %d: no session %u",
			 rec->sock.fd, rec->session);
		return -EINVAL;
	}
	return 0;
}

static int check_conns(const struct luo_handover_info *info, bool restore,
		       bool recover, char *why, size_t why_len)
{
	long max = sysconf(_SC_OPEN_MAX);
	struct conns_reader rd;
	struct conn_record rec;
	const uint8_t *pending;
	uint8_t *seen;
	int r;

	if (conns_begin(info, &rd)) {
		snprintf(why, why_len, "connections: malformed");
		return -EINVAL;
	}
	seen = calloc(max > 0 ? (size_t)max : 1, 1);
	if (!seen)
		return -ENOMEM;
	while (!(r = conns_next(&rd, &rec, &pending)) || r < 0) {
		if (r < 0) {
			snprintf(why, why_len, "connections: malformed");
			break;
		}
		r = check_record(info, &rec, restore, why, why_len);
		/* A recovery drops it (transport_adopt_all()). */
		if (r == -EBADF && recover)
			r = 0;
		if (!r && (rec.sock.fd < 0 || rec.sock.fd >= max ||
			   seen[rec.sock.fd] ||
			   (rec.pending_fd.fd >= 0 &&
			    (rec.pending_fd.fd >= max ||
			     seen[rec.pending_fd.fd])))) {
			snprintf(why, why_len, "connection %d: fd used twice",
				 rec.sock.fd);
			r = -EINVAL;
		}
		if (r)
			break;
		seen[rec.sock.fd] = 1;
		if (rec.pending_fd.fd >= 0)
			seen[rec.pending_fd.fd] = 1;
	}
	free(seen);
	return r < 0 ? r : 0;
}

/**
 * transport_check_conns() - is every recorded connection what it was?
 * @t:       the transport
 * @info:    the handover read (its sessions, for @restore)
 * @restore: the connections will be served again (a rollback)
 * @why:     out: on failure, what was wrong
 * @why_len: its size
 *
 * Called before anything is kept, so that an image that finds a number
 * naming another file refuses the handover rather than serve or close it.
 *
 * Return: 0, -EINVAL for malformed records or -EBADF for a wrong fd.
 */
int transport_check_conns(struct transport *t,
			  const struct luo_handover_info *info, bool restore,
			  char *why, size_t why_len)
{
	(void)t;
	return check_conns(info, restore, false, why, why_len);
}

/**
 * transport_check_conns_recover() - are the records' connections sound?
 * @t:       the transport
 * @info:    the records a new engine read after a crash
 * @why:     out: on failure, what was wrong
 * @why_len: its size
 *
 * transport_check_conns() with restore, for a recovery: a connection
 * whose fd (or its pending reply's) is missing or is another file is no
 * error; transport_adopt_all() drops it.
 *
 * Return: 0, or -EINVAL for malformed records.
 */
int transport_check_conns_recover(struct transport *t,
				  const struct luo_handover_info *info,
				  char *why, size_t why_len)
{
	(void)t;
	return check_conns(info, true, true, why, why_len);
}

/* A REBOOT queued while another was under way: EBUSY, as documented. */
static void answer_queued_reboot(struct transport *t, int fd, uint32_t type)
{
	struct luo_wire_rep rep = { .result = -EBUSY };
	struct iovec iov = { .iov_base = &rep, .iov_len = sizeof(rep) };
	struct luo_wire_req hdr;
	ssize_t n;

	if (type != CONN_DEVICE && type != CONN_CONTROL)
		return;
	n = recv(fd, &hdr, sizeof(hdr), MSG_PEEK | MSG_DONTWAIT);
	if (n < (ssize_t)sizeof(hdr) || hdr.cmd != LUO_IOCTL_REBOOT)
		return;
	if (msg_recv(fd, &t->req) <= 0)
		return;
	if (t->req.fd >= 0)
		worker_close(t->req.fd);
	t->req.fd = -1;
	if (msg_send(fd, &iov, 1, -1))
		log_debug("connection %d: EBUSY not sent", fd);
	else
		log_notice("connection %d: REBOOT while another was under way: EBUSY",
			   fd);
}

static void restore_pending(struct conn *c, const struct conn_record *rec,
			    const uint8_t *pending)
{
	struct iovec iov = {
		.iov_base = (void *)pending, .iov_len = rec->pending_len,
	};
	int fd = rec->pending_fd.fd;

	if (fd >= 0)
		set_cloexec(fd, true);
	if (msg_buf_fill(&c->pending, &iov, 1, fd) ||
	    loop_modify(c->t->loop, &c->src, EPOLLOUT | EPOLLRDHUP)) {
		log_warn("connection %d: its pending reply is lost", c->src.fd);
		if (fd >= 0 && c->pending.fd != fd)
			worker_close(fd);
		conn_close(c);
	}
}

/* Serve a recorded connection again, as it was. */
static struct conn *restore_one(struct transport *t,
				const struct luo_handover_info *info,
				const struct conn_record *rec,
				const uint8_t *pending)
{
	struct conn *c;

	struct connlimit_user *conns = connlimit_get(&t->connlimit, rec->uid);

	set_cloexec(rec->sock.fd, true);
	c = conns ? conn_new(t, rec->sock.fd, rec->type) : NULL;
	if (!c) {
		log_warn("connection %d: cannot serve it again: %m",
			 rec->sock.fd);
		connlimit_put(&t->connlimit, conns);
		if (rec->pending_fd.fd >= 0)
			worker_close(rec->pending_fd.fd);
		msg_close_socket(rec->sock.fd);
		return NULL;
	}
	c->conns = conns;
	c->peer.pid = rec->pid;
	c->peer.uid = rec->uid;
	c->peer.gid = rec->gid;
	c->peer.allowed = rec->flags & CR_ALLOWED;
	c->peer.admin = rec->flags & CR_ADMIN;
	c->closing = rec->flags & CR_CLOSING;
	c->unclaimed = rec->flags & CR_UNCLAIMED;
	if (rec->type == CONN_NEW)
		t->nr_pending++;
	if (rec->type == CONN_SESSION && rec->session != NO_SESSION)
		c->session = info->sessions[rec->session];
	if (rec->type == CONN_DEVICE)
		list_add_tail(&c->dev_link, &t->devices);
	if (rec->pending_len)
		restore_pending(c, rec, pending);
	return c;
}

/* RETRIEVE_FD's token in its recorded reply, 0 if too short. */
static uint64_t pending_token(const struct conn_record *rec,
			      const uint8_t *pending)
{
	size_t off = sizeof(struct luo_wire_rep) +
		     offsetof(struct liveupdate_session_retrieve_fd, token);
	uint64_t token = 0;

	if (rec->pending_len >= off + sizeof(token))
		memcpy(&token, pending + off, sizeof(token));
	return token;
}

static struct conn *conn_by_fd(struct transport *t, int fd)
{
	struct conn *c;

	list_for_each_entry(c, &t->conns, link)
		if (c->src.fd == fd && !c->src.dead)
			return c;
	return NULL;
}

/*
 * What each restored pending reply's fd stands for, so that it is undone
 * if the fd cannot be passed (conn_inflight.c): the session connection
 * it names, once every connection is served again.
 */
static void restore_undo(struct transport *t,
			 const struct luo_handover_info *info)
{
	struct conns_reader rd;
	struct conn_record rec;
	const uint8_t *pending;
	struct conn *c, *s;

	conns_begin(info, &rd);
	while (!conns_next(&rd, &rec, &pending)) {
		if (!rec.undo_conn && !(rec.flags & CR_UNDO_RETRIEVED))
			continue;
		c = conn_by_fd(t, rec.sock.fd);
		if (!c || !c->pending.data || c->pending.fd < 0)
			continue;
		s = rec.undo_conn ? conn_by_fd(t, (int)rec.undo_conn - 1) :
		    NULL;
		if (s && (s->type != CONN_SESSION || !s->session))
			s = NULL;
		conn_undo_set(c, s, rec.flags & CR_UNDO_RETRIEVED,
			      pending_token(&rec, pending));
	}
}

/*
 * Connections a REBOOT ends.  Under a vault they end only once the
 * records say so: ending one shuts its socket down for the vault's copy
 * too, and a new image that dies before its first commit is recovered
 * from the records of before the REBOOT, with every connection served.
 */
struct ending {
	int *fds;
	size_t nr;
};

static void end_later(struct transport *t, struct ending *e, int fd)
{
	int *fds;

	if (t->commit) {
		fds = realloc(e->fds, (e->nr + 1) * sizeof(*fds));
		if (fds) {
			e->fds = fds;
			e->fds[e->nr++] = fd;
			return;
		}
		transport_commit(t);	/* out of memory: commit first */
	}
	msg_close_socket(fd);
}

static void end_now(struct transport *t, struct ending *e)
{
	if (e->nr) {
		transport_mark_dirty(t);
		transport_commit(t);
	}
	for (size_t i = 0; i < e->nr; i++)
		msg_close_socket(e->fds[i]);
	free(e->fds);
}

/**
 * transport_adopt_conns() - the connections after the exec
 * @t:       the transport, its listening socket adopted
 * @info:    the handover, checked by transport_check_conns()
 * @restore: serve every connection again (a rollback); otherwise keep only
 *           the one awaiting REBOOT's answer, as a control connection
 * @result:  REBOOT's answer: 0 or -errno
 * @arg:     copy-back bytes of the answer
 * @len:     their number
 *
 * Every other connection's queued REBOOT is answered EBUSY first.
 *
 * Return: 0, or -ENOENT if no recorded connection awaits the answer (the
 * caller then answers on @info->reply_fd itself).
 */
int transport_adopt_conns(struct transport *t,
			  const struct luo_handover_info *info, bool restore,
			  int result, const void *arg, uint32_t len)
{
	struct conn *c, *reply = NULL;
	struct ending ending = { .fds = NULL };
	struct conns_reader rd;
	struct conn_record rec;
	const uint8_t *pending;
	bool is_reply;

	conns_begin(info, &rd);
	while (!conns_next(&rd, &rec, &pending)) {
		is_reply = info->reply_fd >= 0 && rec.sock.fd == info->reply_fd;
		if (!is_reply)
			answer_queued_reboot(t, rec.sock.fd, rec.type);
		if (!restore && !is_reply) {
			if (rec.pending_fd.fd >= 0)
				worker_close(rec.pending_fd.fd);
			end_later(t, &ending, rec.sock.fd);
			continue;
		}
		if (!restore) {
			rec.type = CONN_CONTROL;
			rec.flags &= ~(CR_CLOSING | CR_DETACHED);
			rec.session = NO_SESSION;
		}
		c = restore_one(t, info, &rec, pending);
		if (is_reply)
			reply = c;
	}
	if (restore)
		restore_undo(t, info);
	if (reply && reply->pending.data)
		log_warn("connection %d: REBOOT's answer after a pending reply is lost",
			 reply->src.fd);
	else if (reply)
		conn_reply(reply, result, arg, len, NULL, 0, -1);
	end_now(t, &ending);
	if (!reply)
		return info->conns ? 0 : -ENOENT;
	return 0;
}

/*
 * A recorded connection whose fd, or its pending reply's, is missing or
 * is another file: not served, and none of its fds touched (the caller
 * closes what is its own).  What it held goes as if its client had closed
 * it (conn_close()): its pending reply, or the request parked on a
 * client's file that the records hold as one, with it; its session is
 * left in @orphans for the caller to release.
 */
static void drop_one(const struct luo_handover_info *info,
		     const struct conn_record *rec, uint8_t *orphans)
{
	const char *what = rec->type == CONN_NEW ? "new" :
			   rec->type == CONN_DEVICE ? "device" :
			   rec->type == CONN_CONTROL ? "control" : "session";
	struct luo_session *s = NULL;
	bool sock_ok = id_check(&rec->sock);

	if (rec->type == CONN_SESSION && rec->session != NO_SESSION) {
		s = info->sessions[rec->session];
		orphans[rec->session] = rec->flags & CR_UNCLAIMED ?
					TRANSPORT_ORPHAN_ABANDON :
					TRANSPORT_ORPHAN_RELEASE;
	}
	log_err("recovery: dropped %s connection %d of pid %d (uid %u)%s%s%s: %s fd %d %s",
		what, rec->sock.fd, (int)rec->pid, rec->uid,
		s ? ", session '" : "", s ? luo_session_name(s) : "",
		s ? "'" : "",
		sock_ok ? "its pending reply's" : "its",
		sock_ok ? rec->pending_fd.fd : rec->sock.fd,
		fcntl(sock_ok ? rec->pending_fd.fd : rec->sock.fd, F_GETFD) < 0 ?
		"is not open" : "is not the file that was written down");
}

/**
 * transport_adopt_all() - serve every recorded connection again, as it was
 * @t:       the transport, its listening socket adopted
 * @info:    the records a new engine read after a crash, checked by
 *           transport_check_conns_recover()
 * @orphans: out: one byte per session of @info (@info->nr_sessions),
 *           zeroed by the caller: TRANSPORT_ORPHAN_* for a session whose
 *           connection was dropped
 * @dropped: out: the number of connections dropped
 *
 * Unlike a rollback, nothing queued is answered here: a request the
 * engine had not read yet is read and answered as usual.  A connection
 * whose fd, or its pending reply's, is missing or is another file is
 * dropped, logged; its fds are left alone and its session is the
 * caller's to release (@orphans), once it has closed the fds no one
 * names (recover.c).
 *
 * Return: the number of connections served again.
 */
int transport_adopt_all(struct transport *t,
			const struct luo_handover_info *info,
			uint8_t *orphans, unsigned int *dropped)
{
	struct conns_reader rd;
	struct conn_record rec;
	const uint8_t *pending;
	int n = 0;

	*dropped = 0;
	conns_begin(info, &rd);
	while (!conns_next(&rd, &rec, &pending)) {
		if (!id_check(&rec.sock) ||
		    (rec.pending_fd.fd >= 0 && !id_check(&rec.pending_fd))) {
			drop_one(info, &rec, orphans);
			(*dropped)++;
			continue;
		}
		n += restore_one(t, info, &rec, pending) != NULL;
	}
	restore_undo(t, info);
	return n;
}

/* ---- one connection at a time, for the records (conn_slots.c) ---------- */

#define BIG_MAGIC	"LUOCONB1"

/**
 * struct conn_slot_head - a connection as the records hold it
 * @order:   its order among the connections: the handover's
 * @session: the records id of the session it serves, 0: none
 * @rec:     its record, @rec.session NO_SESSION (the handover index is
 *           known only when the records are put together)
 *
 * In a slot, @rec.pending_len bytes of pending reply follow; in the
 * handover's list of those too big for a slot (BIG_MAGIC), the same,
 * padded to 8.
 */
struct conn_slot_head {
	uint64_t order;
	uint64_t session;
	struct conn_record rec;
};

_Static_assert(sizeof(struct conn_slot_head) < TRANSPORT_CONN_SLOT,
	       "conn slot layout");

/* The head of @c's record and its pending reply. */
static int slot_head_of(const struct conn *c, struct conn_slot_head *h,
			const void **pending, int *pfd)
{
	size_t len;
	int r;

	memset(h, 0, sizeof(*h));
	h->order = c->order;
	h->session = c->session ? luo_session_records_id(c->session) : 0;
	r = record_of(c, &h->rec);
	h->rec.session = NO_SESSION;
	*pending = pending_of(c, &len, pfd);
	return r;
}

/**
 * conn_slot_record() - @c's record for a slot of the records
 * @c:    the connection
 * @out:  where to write it
 * @room: bytes at @out
 * @len:  out: bytes written
 * @fds:  out: the fds it names: its socket, its pending reply's (or -1)
 *
 * Return: 0, -E2BIG if its pending reply does not fit, or the -errno of
 * an fstat().
 */
int conn_slot_record(const struct conn *c, uint8_t *out, size_t room,
		     size_t *len, int fds[2])
{
	struct conn_slot_head h;
	const void *pending;
	int r = slot_head_of(c, &h, &pending, &fds[1]);

	fds[0] = c->src.fd;
	if (r)
		return r;
	if (sizeof(h) + h.rec.pending_len > room)
		return -E2BIG;
	memcpy(out, &h, sizeof(h));
	if (h.rec.pending_len)
		memcpy(out + sizeof(h), pending, h.rec.pending_len);
	*len = sizeof(h) + h.rec.pending_len;
	return 0;
}

/**
 * conn_big_record() - @c's record for the handover's list of big ones
 * @c:    the connection
 * @out:  where to write it, or NULL to learn its size
 * @room: bytes at @out
 * @len:  out: bytes written (or needed), a multiple of 8
 *
 * Return: 0, -ENOSPC if @room is too small, or the -errno of an fstat().
 */
int conn_big_record(const struct conn *c, uint8_t *out, size_t room,
		    size_t *len)
{
	struct conn_slot_head h;
	const void *pending;
	int pfd, r = slot_head_of(c, &h, &pending, &pfd);

	if (r)
		return r;
	*len = sizeof(h) + pad8(h.rec.pending_len);
	if (!out)
		return 0;
	if (*len > room)
		return -ENOSPC;
	memset(out, 0, *len);
	memcpy(out, &h, sizeof(h));
	if (h.rec.pending_len)
		memcpy(out + sizeof(h), pending, h.rec.pending_len);
	return 0;
}

/**
 * transport_save_big() - the connections too big for a slot
 * @t:    the transport, tracking changes, the last changes reported
 * @blob: out: their records (malloc'd), for the records' handover
 * @len:  out: their size
 *
 * Return: 0, -ENOMEM, or the -errno of an fstat().
 */
int transport_save_big(struct transport *t, void **blob, size_t *len)
{
	struct conns_header hdr = { .magic = BIG_MAGIC };
	size_t size = sizeof(hdr), off, n;
	struct conn *c;
	uint8_t *buf;
	int r;

	list_for_each_entry(c, &t->rec_big, big_link) {
		r = conn_big_record(c, NULL, 0, &n);
		if (r)
			return r;
		size += n;
		hdr.count++;
	}
	buf = calloc(1, size);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, &hdr, sizeof(hdr));
	off = sizeof(hdr);
	list_for_each_entry(c, &t->rec_big, big_link) {
		r = conn_big_record(c, buf + off, size - off, &n);
		if (r) {
			free(buf);
			return r;
		}
		off += n;
	}
	*blob = buf;
	*len = size;
	return 0;
}

/**
 * struct slot_ref - one connection of the records, found in place
 * @h:       its head (copied: the handover's are only 4-byte aligned)
 * @pending: its pending reply's bytes
 */
struct slot_ref {
	struct conn_slot_head h;
	const uint8_t *pending;
};

static int ref_cmp(const void *a, const void *b)
{
	const struct slot_ref *x = a, *y = b;

	return x->h.order < y->h.order ? -1 : x->h.order > y->h.order;
}

/* The refs of the big ones, after @n slots: -EINVAL if malformed. */
static int big_refs(const uint8_t *big, size_t big_len, struct slot_ref *refs,
		    size_t *n, size_t max)
{
	const uint8_t *end = big + big_len;
	struct conns_header hdr;

	if (!big)
		return 0;
	if (big_len < sizeof(hdr))
		return -EINVAL;
	memcpy(&hdr, big, sizeof(hdr));
	if (memcmp(hdr.magic, BIG_MAGIC, sizeof(hdr.magic)))
		return -EINVAL;
	big += sizeof(hdr);
	for (uint32_t i = 0; i < hdr.count; i++) {
		struct slot_ref *r = &refs[*n];

		if (*n == max || (size_t)(end - big) < sizeof(r->h))
			return -EINVAL;
		memcpy(&r->h, big, sizeof(r->h));
		big += sizeof(r->h);
		if ((size_t)(end - big) < pad8(r->h.rec.pending_len))
			return -EINVAL;
		r->pending = big;
		big += pad8(r->h.rec.pending_len);
		(*n)++;
	}
	return big == end ? 0 : -EINVAL;
}

/* How many big ones the list says there are (0 if none or malformed). */
static size_t big_count(const uint8_t *big, size_t big_len)
{
	struct conns_header hdr;

	if (!big || big_len < sizeof(hdr))
		return 0;
	memcpy(&hdr, big, sizeof(hdr));
	return hdr.count;
}

/**
 * transport_conns_assemble() - the handover's "connections" from records
 * @slots:   @n connection slots' records, TRANSPORT_CONN_SLOT bytes each
 * @n:       their number
 * @big:     the list of those too big for a slot (transport_save_big()),
 *           or NULL
 * @big_len: its length
 * @hidx:    the handover index of the session of a records id, or -errno
 * @ctx:     passed to @hidx
 * @blob:    out: the connections as transport_save() writes them
 * @len:     out: their length
 *
 * Return: 0, -ENOMEM, or -EINVAL if a record is malformed or names no
 * session of the records.
 */
int transport_conns_assemble(const uint8_t *slots, size_t n,
			     const void *big, size_t big_len,
			     int (*hidx)(void *ctx, uint64_t rid), void *ctx,
			     void **blob, size_t *len)
{
	struct conns_header hdr = { .magic = CONNS_MAGIC };
	size_t max = n + big_count(big, big_len), k = 0, size, off, i;
	struct slot_ref *refs = calloc(max ? max : 1, sizeof(*refs));
	uint8_t *buf = NULL;
	int r = refs ? 0 : -ENOMEM;

	for (i = 0; !r && i < n; i++) {
		const uint8_t *p = slots + i * TRANSPORT_CONN_SLOT;

		memcpy(&refs[k].h, p, sizeof(refs[k].h));
		refs[k].pending = p + sizeof(refs[k].h);
		if (refs[k].h.rec.pending_len >
		    TRANSPORT_CONN_SLOT - sizeof(refs[k].h))
			r = -EINVAL;
		k++;
	}
	r = r ?: big_refs(big, big_len, refs, &k, max);
	if (r)
		goto out;
	qsort(refs, k, sizeof(*refs), ref_cmp);
	size = sizeof(hdr);
	for (i = 0; i < k; i++) {
		struct conn_record *rec = &refs[i].h.rec;
		uint64_t rid = refs[i].h.session;
		int x = rid ? hidx(ctx, rid) : 0;

		if (x < 0) {
			r = -EINVAL;
			goto out;
		}
		rec->session = refs[i].h.session ? (uint32_t)x : NO_SESSION;
		size += sizeof(*rec) + pad8(rec->pending_len);
	}
	buf = calloc(1, size);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	hdr.count = (uint32_t)k;
	memcpy(buf, &hdr, sizeof(hdr));
	off = sizeof(hdr);
	for (i = 0; i < k; i++) {
		const struct conn_record *rec = &refs[i].h.rec;

		memcpy(buf + off, rec, sizeof(*rec));
		off += sizeof(*rec);
		if (rec->pending_len)
			memcpy(buf + off, refs[i].pending, rec->pending_len);
		off += pad8(rec->pending_len);
	}
	*blob = buf;
	*len = size;
out:
	free(refs);
	return r;
}
