// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The engine's records (liveupdated(8), "Crash recovery").
 *
 * Before any reply that follows a change, and after each turn of the loop
 * that changed something, the engine commits: every fd a handover of the
 * whole state would name that the vault does not hold yet goes to the
 * vault (SCM_RIGHTS, tagged with the engine's fd number), then the
 * handover itself (the same one a REBOOT writes, read back in RESTORE
 * mode by a new engine) goes into the shared records memfd, into the slot
 * not committed, and the header's active word flips last; then, once the
 * reply is out (records_flush()), the vault drops what is no longer
 * named.  A crash at any moment therefore leaves
 * a complete handover whose every fd the vault holds (an fd sent is
 * queued in the socket and read by the vault later, even if the engine is
 * gone).  The first commit of an engine is a full account (VAULT_FULL ..
 * VAULT_SWEEP), so that what a previous engine left behind is dropped.
 *
 * Which fd the vault holds for a number is known by the file's identity
 * (struct luo_fd_id): a number reused for another file is sent again.
 *
 * A reply that acknowledges a change is committed with it, as its
 * connection's pending reply (with its fd, which the vault then holds),
 * so a new engine sends it if the crash came before it was sent.  Just
 * before the sendmsg() the header names the connection and the commit
 * (records_reply_sent()): a new engine that finds the mark still meaning
 * the committed records drops that pending reply, it was sent.  Only a
 * kill in the few instructions between the mark and the system call
 * leaves a reply unsent that counts as sent (liveupdated(8)).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io.h"
#include "killpoint.h"
#include "log.h"
#include "luo_core.h"
#include "records.h"
#include "transport.h"
#include "vault_proto.h"

/**
 * struct sent - what the vault holds for one engine fd number
 * @id:  the file's identity when it was sent; @id.fd -1: nothing
 * @gen: the commit that last named it
 */
struct sent {
	struct luo_fd_id id;
	uint64_t gen;
};

/**
 * struct records - the records memfd and the link to the vault
 * @sock:    our end of the pair with the vault; -1 once the vault is gone
 * @fd:      the records memfd
 * @hdr:     its header, mapped
 * @core:    the core whose state is recorded
 * @tp:      the connections
 * @sent:    by engine fd number
 * @nr_sent: entries of @sent
 * @gen:     this commit's number
 * @synced:  a full account was given
 * @add:     the ADD message being filled
 * @add_fds: the fds attached to it
 * @del:     the DEL message being filled
 * @err:     the first error of this commit
 * @sweep:   VAULT_SWEEP is owed (records_flush())
 * @broken:  the vault is gone: nothing is sent
 */
struct records {
	int sock;
	int fd;
	struct records_header *hdr;
	struct luo_core *core;
	struct transport *tp;
	struct sent *sent;
	size_t nr_sent;
	uint64_t gen;
	bool synced;
	struct vault_msg add;
	int add_fds[VAULT_MAX_FDS];
	struct vault_msg del;
	int err;
	bool sweep;
	bool broken;
};

/**
 * records_open() - the engine's side of the vault
 * @out:  out: the records
 * @sock: our end of the pair with the vault (--vault-fd)
 * @fd:   the records memfd (--records-fd)
 *
 * Both fds stay inheritable: they cross a REBOOT's exec.
 *
 * Return: 0, -EINVAL if @fd is no records memfd, or -errno.
 */
int records_open(struct records **out, int sock, int fd)
{
	struct records *rc = calloc(1, sizeof(*rc));

	if (!rc)
		return -ENOMEM;
	rc->hdr = mmap(NULL, RECORDS_DATA, PROT_READ | PROT_WRITE, MAP_SHARED,
		       fd, 0);
	if (rc->hdr == MAP_FAILED) {
		free(rc);
		return -errno;
	}
	if (memcmp(rc->hdr->magic, RECORDS_MAGIC, sizeof(rc->hdr->magic))) {
		munmap(rc->hdr, RECORDS_DATA);
		free(rc);
		return -EINVAL;
	}
	/* Commits go on from the last one of any engine before us. */
	rc->gen = rc->hdr->slot[0].seq > rc->hdr->slot[1].seq ?
		  rc->hdr->slot[0].seq : rc->hdr->slot[1].seq;
	fcntl(sock, F_SETFD, 0);
	fcntl(fd, F_SETFD, 0);
	rc->sock = sock;
	rc->fd = fd;
	rc->del.op = VAULT_DEL;
	rc->add.op = VAULT_ADD;
	*out = rc;
	return 0;
}

/* The slot's seq the header says is committed. */
static uint64_t committed_seq(const struct records_header *h)
{
	return h->slot[__atomic_load_n(&h->active, __ATOMIC_ACQUIRE) & 1].seq;
}

/*
 * Marks the committed pending reply of @conn as sent (-1: unmarks).  One
 * mark at a time: if it still names another connection's reply, that
 * reply left the engine's memory when it was sent, so a commit first
 * takes it out of the records.
 */
static void reply_sent(void *ctx, int conn)
{
	struct records *rc = ctx;
	struct records_header *h = rc->hdr;

	if (conn < 0) {
		__atomic_store_n(&h->sent_seq, 0, __ATOMIC_RELEASE);
		return;
	}
	if (h->sent_seq && h->sent_seq == committed_seq(h) &&
	    h->sent_conn != conn)
		records_commit(rc);
	__atomic_store_n(&h->sent_seq, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&h->sent_conn, conn, __ATOMIC_RELEASE);
	__atomic_store_n(&h->sent_seq, committed_seq(h), __ATOMIC_RELEASE);
}

static void reply_killpoint(void *ctx, const char *step)
{
	struct records *rc = ctx;

	killpoint_step(rc->hdr->flags & RECORDS_KILLPOINTS, step);
}

static const struct transport_reply_ops reply_ops = {
	.sent = reply_sent,
	.killpoint = reply_killpoint,
};

/**
 * records_attach() - what is recorded
 * @rc:   the records
 * @core: the core
 * @tp:   the connections; their replies are recorded from now on
 */
void records_attach(struct records *rc, struct luo_core *core,
		    struct transport *tp)
{
	rc->core = core;
	rc->tp = tp;
	transport_set_reply_ops(tp, &reply_ops, rc);
}

/**
 * records_sent() - the connection whose recorded reply was sent, at start
 * @rc: the records
 *
 * Return: its fd number if the mark still means the committed records,
 * else -1.
 */
int records_sent(const struct records *rc)
{
	const struct records_header *h = rc->hdr;
	uint64_t seq = __atomic_load_n(&h->sent_seq, __ATOMIC_ACQUIRE);

	if (!seq || seq != committed_seq(h))
		return -1;
	return h->sent_conn;
}

/**
 * records_free() - unmap; the fds stay open (they belong to the image)
 * @rc: the records, or NULL
 */
void records_free(struct records *rc)
{
	if (!rc)
		return;
	munmap(rc->hdr, RECORDS_DATA);
	free(rc->sent);
	free(rc);
}

/**
 * records_sock() - our end of the pair with the vault
 * @rc: the records
 *
 * Return: the fd, or -1 once the vault is gone.
 */
int records_sock(const struct records *rc)
{
	return rc->sock;
}

/**
 * records_held() - the fds the vault holds for us, as far as we know
 * @rc:  the records
 * @out: out: a malloc'd array of fd numbers
 * @n:   out: its entries
 *
 * Return: 0 or -ENOMEM.
 */
int records_held(const struct records *rc, int **out, size_t *n)
{
	size_t i, k = 0;
	int *fds = malloc((rc->nr_sent ? rc->nr_sent : 1) * sizeof(*fds));

	if (!fds)
		return -ENOMEM;
	for (i = 0; i < rc->nr_sent; i++)
		if (rc->sent[i].id.fd >= 0)
			fds[k++] = (int)i;
	*out = fds;
	*n = k;
	return 0;
}

/**
 * records_relink() - a new vault: send to it from now on
 * @rc:   the records
 * @sock: our end of the pair with it
 *
 * The next commit is a full account.
 */
void records_relink(struct records *rc, int sock)
{
	if (rc->sock >= 0 && rc->sock != sock)
		close(rc->sock);
	rc->sock = sock;
	rc->broken = sock < 0;
	rc->synced = false;
	rc->del.count = 0;
	rc->sweep = false;
}

/**
 * records_lost() - the vault is gone for good: nothing is sent any more
 * @rc: the records
 *
 * The records are still written; a crash of the engine now loses
 * everything, as before the vault.
 */
void records_lost(struct records *rc)
{
	if (rc->broken)
		return;
	log_err("the vault is gone: a crash of liveupdated now loses its state");
	/* Kept open: --vault-fd still names it across a REBOOT's exec. */
	rc->broken = true;
}

static int vault_send(struct records *rc, struct vault_msg *m, const int *fds,
		      uint32_t nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VAULT_MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = m, .iov_len = VAULT_MSG_SIZE(m->count) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	ssize_t n;

	if (rc->sock < 0 || rc->broken)
		return 0;
	if (nfds) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	do
		n = sendmsg(rc->sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n >= 0)
		return 0;
	if (errno == EPIPE || errno == ECONNRESET) {
		/* The vault died: the loop hears it and starts a new one. */
		rc->broken = true;
		return 0;
	}
	return -errno;
}

static int send_op(struct records *rc, uint32_t op)
{
	struct vault_msg m = { .op = op };

	return vault_send(rc, &m, NULL, 0);
}

static void flush_add(struct records *rc)
{
	int r;

	if (!rc->add.count)
		return;
	r = vault_send(rc, &rc->add, rc->add_fds, rc->add.count);
	if (r && !rc->err)
		rc->err = r;
	rc->add.count = 0;
}

static void flush_del(struct records *rc)
{
	int r;

	if (!rc->del.count)
		return;
	r = vault_send(rc, &rc->del, NULL, 0);
	if (r && !rc->err)
		rc->err = r;
	rc->del.count = 0;
}

static int grow_sent(struct records *rc, int fd)
{
	size_t n = rc->nr_sent ? rc->nr_sent : 64, i;
	struct sent *s;

	while (n <= (size_t)fd)
		n *= 2;
	s = realloc(rc->sent, n * sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (i = rc->nr_sent; i < n; i++)
		s[i] = (struct sent){ .id.fd = -1 };
	rc->sent = s;
	rc->nr_sent = n;
	return 0;
}

static bool same_file(const struct luo_fd_id *a, const struct luo_fd_id *b)
{
	return a->fd == b->fd && a->type == b->type && a->dev == b->dev &&
	       a->ino == b->ino;
}

/*
 * One fd the handover names: sent unless the vault holds its file.  @known
 * is its file's identity if the caller knows it (a preserved file's, kept
 * by the core), else it is looked up.
 */
static int name_fd(struct records *rc, int fd, const struct luo_fd_id *known)
{
	struct luo_fd_id id;
	struct sent *s;
	int r;

	if (fd < 0)
		return 0;
	if ((size_t)fd >= rc->nr_sent && (r = grow_sent(rc, fd)))
		return r;
	s = &rc->sent[fd];
	if (s->gen == rc->gen)
		return 0;	/* named twice in one commit */
	if (known) {
		id = *known;
	} else {
		r = luo_fd_id_of(fd, &id);
		if (r)
			return r;
	}
	s->gen = rc->gen;
	if (s->id.fd >= 0 && same_file(&s->id, &id))
		return 0;
	s->id = id;
	rc->add.fds[rc->add.count] = fd;
	rc->add_fds[rc->add.count++] = fd;
	if (rc->add.count == VAULT_MAX_FDS)
		flush_add(rc);
	return 0;
}

/* What the vault holds that this commit did not name: dropped. */
static void drop_unnamed(struct records *rc)
{
	size_t i;

	for (i = 0; i < rc->nr_sent; i++) {
		struct sent *s = &rc->sent[i];

		if (s->id.fd < 0 || s->gen == rc->gen)
			continue;
		s->id.fd = -1;
		if (!rc->synced)
			continue;	/* VAULT_SWEEP drops it */
		rc->del.fds[rc->del.count++] = (int32_t)i;
		if (rc->del.count == VAULT_MAX_FDS)
			flush_del(rc);
	}
}

/**
 * records_flush() - tell the vault what the last commit dropped
 * @rc: the records
 *
 * Off a reply's path: called after each turn of the loop, and before the
 * next commit sends anything.  Until then the vault holds a little more
 * than the records name; a new engine closes what they do not.
 */
void records_flush(struct records *rc)
{
	flush_del(rc);
	if (rc->sweep && !send_op(rc, VAULT_SWEEP))
		rc->sweep = false;
}

/* The handover into the slot not committed, then the flip. */
static int write_slot(struct records *rc, const void *blob, size_t len)
{
	struct records_header *h = rc->hdr;
	uint32_t next = h->active ? 0 : 1;
	const struct records_slot *cur = &h->slot[h->active];
	uint64_t off = RECORDS_DATA;
	int r;

	/* Before the committed one if it fits there, else after it. */
	if (cur->len && cur->off < off + len)
		off = (cur->off + cur->len + RECORDS_DATA - 1) &
		      ~(uint64_t)(RECORDS_DATA - 1);
	r = io_pwrite_all(rc->fd, blob, len, off);
	if (r)
		return r;
	h->slot[next].off = off;
	h->slot[next].len = len;
	h->slot[next].seq = rc->gen;
	__atomic_store_n(&h->active, next, __ATOMIC_RELEASE);
	h->commits++;
	return 0;
}

static int collect(void *ctx, int fd)
{
	return name_fd(ctx, fd, NULL);
}

static int collect_known(void *ctx, int fd, const struct luo_fd_id *id)
{
	return name_fd(ctx, fd, id);
}

/**
 * records_commit() - record the whole state before it is acknowledged
 * @ctx: the records
 *
 * A failure is logged: the change stands, but a crash before the next
 * commit that succeeds would lose it.
 */
void records_commit(void *ctx)
{
	struct records *rc = ctx;
	struct luo_handover_info info = {
		.update_number = luo_core_update_number(rc->core),
		.listen_fd = transport_listen_fd(rc->tp),
		.reply_fd = -1,
		.self_fd = -1,
	};
	void *blob = NULL;
	size_t len = 0;
	int r;

	records_flush(rc);	/* the previous commit's drops go first */
	rc->gen++;
	rc->err = 0;
	rc->add.seq = rc->gen;
	if (!rc->synced) {
		/* A full account: everything is sent again. */
		for (size_t i = 0; i < rc->nr_sent; i++)
			rc->sent[i].id.fd = -1;
		rc->err = send_op(rc, VAULT_FULL);
	}
	luo_core_handover_number(rc->core);
	r = transport_for_each_fd(rc->tp, collect, rc) ?:
	    luo_core_for_each_fd(rc->core, collect_known, rc);
	flush_add(rc);
	r = r ?: rc->err;
	r = r ?: transport_save(rc->tp, &info.conns, &info.conns_len);
	r = r ?: luo_handover_write(rc->core, &info, &blob, &len);
	free(info.conns);
	r = r ?: write_slot(rc, blob, len);
	free(blob);
	if (r) {
		log_err("records: cannot commit: %s; a crash now loses the last change",
			strerror(-r));
		/* Everything is sent again next time. */
		rc->synced = false;
		return;
	}
	/* The vault reads which commit is written from the header itself. */
	drop_unnamed(rc);
	if (!rc->synced)
		rc->sweep = true;
	rc->synced = !rc->err;
}

/**
 * records_read() - the last committed handover
 * @rc:   the records
 * @blob: out: a malloc'd copy
 * @len:  out: its length
 *
 * Return: 0, -ENOENT if nothing was ever committed, or -errno.
 */
int records_read(struct records *rc, void **blob, size_t *len)
{
	const struct records_slot *s =
		&rc->hdr->slot[__atomic_load_n(&rc->hdr->active,
					       __ATOMIC_ACQUIRE) & 1];
	size_t off = 0;
	ssize_t n;
	char *buf;

	if (!s->len)
		return -ENOENT;
	if (s->len > (1u << 30))
		return -EINVAL;
	buf = malloc(s->len);
	if (!buf)
		return -ENOMEM;
	while (off < s->len) {
		n = pread(rc->fd, buf + off, s->len - off, (off_t)(s->off + off));
		if (n <= 0 && !(n < 0 && errno == EINTR)) {
			free(buf);
			return n < 0 ? -errno : -EIO;
		}
		off += n > 0 ? (size_t)n : 0;
	}
	*blob = buf;
	*len = s->len;
	return 0;
}

/**
 * records_inflight() - the connection a crash interrupted, read at start
 * @rc: the records
 *
 * Return: its fd number, or -1.
 */
int records_inflight(const struct records *rc)
{
	return rc->hdr->inflight;
}

/**
 * records_inflight_word() - the word naming the request being handled
 * @rc: the records
 *
 * Return: a pointer into the mapped header.
 */
volatile int32_t *records_inflight_word(struct records *rc)
{
	return (volatile int32_t *)&rc->hdr->inflight;
}

/**
 * records_stats() - STATUS's counters in the records' header
 * @rc: the records
 *
 * Return: a pointer into the mapped header.
 */
struct records_stats *records_stats(struct records *rc)
{
	return &rc->hdr->stats;
}

/**
 * records_exec() - tell the vault that a new image is executed now
 * @rc:         the records
 * @timeout_ms: how long it may take to serve before the vault kills it
 *
 * Return: 0 or -errno.
 */
int records_exec(struct records *rc, uint32_t timeout_ms)
{
	struct vault_msg m = { .op = VAULT_EXEC, .seq = timeout_ms };

	return vault_send(rc, &m, NULL, 0);
}

/**
 * records_serving() - tell the vault that this engine serves
 * @rc: the records
 */
void records_serving(struct records *rc)
{
	if (send_op(rc, VAULT_SERVING))
		log_warn("cannot tell the vault we serve: %m");
}
