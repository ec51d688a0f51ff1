// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The engine's records (liveupdated(8), "Crash recovery").
 *
 * Before any reply that follows a change, and after each turn of the loop
 * that changed something, the engine commits: every fd the committed
 * state will name that the vault does not hold yet goes to the vault
 * (SCM_RIGHTS, tagged with the engine's fd number); each session, file
 * and connection that came or changed since the last commit
 * (luo_core_records_changes(), transport_records_changes()) is written
 * into a free slot of its kind in the shared records memfd, and the slots
 * of those that went or changed are marked as ending with this commit;
 * then the handover of what is small and global (the one a REBOOT writes,
 * without sessions, files or connections: luo_handover_info.records; the
 * rare connection whose pending reply is too big for a slot is written
 * there, transport_save_big()) goes into the memfd's handover slot not
 * committed, and the header's active word flips last; then, once the
 * reply is out (records_flush()), the vault drops what is no longer
 * named.  A slot ended by a commit is reused only once that commit is
 * written, so the committed state's slots are never touched.  A crash at
 * any moment therefore leaves a complete state (a new engine puts the
 * slots back into one handover, records_read()) whose every fd the vault
 * holds (an fd sent is queued in the socket and read by the vault later,
 * even if the engine is gone).  A commit costs what changed, not what is
 * held; the first commit of an engine is a full account (VAULT_FULL ..
 * VAULT_SWEEP, every slot written again), so that what a previous engine
 * left behind is dropped.
 *
 * Which fd the vault holds for a number is known by the file's identity
 * (struct luo_fd_id): a number reused for another file is sent again.
 *
 * Under a service manager's fd store (RECORDS_FDSTORE in the header) the
 * queue of the socket is not enough: if every luo process dies at once,
 * what the vault had not read, or had given to the manager too late, is
 * lost.  So a commit that sent fds waits, before it is written, until the
 * vault says the manager has them all (VAULT_SYNC, records_sync()); and
 * if the vault dies, the engine ends (records_vault_dead()).
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
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
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
 * @id:   the file's identity when it was sent; @id.fd -1: nothing
 * @gen:  the commit whose handover (the listening socket, connections
 *        too big for a slot) last named it
 * @file: a recorded file names it (its fd or retrieved fd)
 * @conn: a connection's slot names it (its socket or pending reply's fd)
 */
struct sent {
	struct luo_fd_id id;
	uint64_t gen;
	bool file;
	bool conn;
};

/**
 * struct slot_head - how every slot of the records begins (vault_proto.h)
 * @born: the commit that wrote it; 0: unused
 * @died: the commit that ended it; 0: none
 */
struct slot_head {
	uint64_t born;
	uint64_t died;
};

/**
 * struct records_file_slot - one file of the records
 * @head: its life
 * @rec:  the file
 */
struct records_file_slot {
	struct slot_head head;
	struct luo_file_record rec;
};

/**
 * struct records_session_slot - one session of the records
 * @head: its life
 * @rec:  the session
 */
struct records_session_slot {
	struct slot_head head;
	struct luo_session_record rec;
};

/* What the engine knows of a slot: its state in slot_table.state. */
enum { SLOT_FREE, SLOT_LIVE, SLOT_DYING };

/**
 * struct dying - a slot whose end is written but not yet committed
 * @slot: its index
 * @gen:  the commit that ends it
 */
struct dying {
	uint32_t slot;
	uint64_t gen;
};

/**
 * struct to_name - an fd a file or connection recorded in this commit names
 * @fd:   the number
 * @id:   its file's identity
 * @conn: a connection's slot names it, not a file's
 */
struct to_name {
	int fd;
	struct luo_fd_id id;
	bool conn;
};

/* A growable array of @type: @name, nr_@name, cap_@name. */
#define VEC(type, name) type *name; size_t nr_##name, cap_##name

/* Room for one more entry of VEC @name in @obj: 0 or -ENOMEM. */
#define VEC_ROOM(obj, name)						\
	vec_room((void **)&(obj)->name, (obj)->nr_##name,		\
		 &(obj)->cap_##name, sizeof(*(obj)->name))

static int vec_room(void **v, size_t nr, size_t *cap, size_t size)
{
	size_t n = *cap ? *cap * 2 : 64;
	void *p;

	if (nr < *cap)
		return 0;
	p = realloc(*v, n * size);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = n;
	return 0;
}

/**
 * struct slot_table - one kind of slot of the records memfd
 * @base:  where its slots start in the memfd
 * @size:  bytes per slot, struct slot_head first
 * @count: the header's word saying how many there are
 * @mem:   the slots, mapped
 * @nr:    slots mapped, and the memfd's room for them
 * @state: SLOT_* of each
 * @free:  slots free to write
 * @dying: slots ended by a commit not yet written
 */
struct slot_table {
	uint64_t base;
	size_t size;
	uint64_t *count;
	uint8_t *mem;
	size_t nr;
	uint8_t *state;
	VEC(uint32_t, free);
	VEC(struct dying, dying);
};

/* Slot @i of @t. */
static struct slot_head *slot_at(const struct slot_table *t, size_t i)
{
	return (struct slot_head *)(t->mem + i * t->size);
}

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
 * @sync_owed: fds went to the vault since the last VAULT_SYNC
 * @files:   the file slots (RECORDS_FILES)
 * @sessions: the session slots (RECORDS_SESSIONS)
 * @conns:   the connection slots (RECORDS_CONNS)
 * @size:    the memfd's size
 * @maybe:   fds that may be named no more: dropped after the commit
 *           unless something names them again
 * @small:   the fds this commit's handover names (connections, ...)
 * @small_prev: the last commit's
 * @names:   fds of the files and connections recorded in this commit,
 *           named after all were looked at (a number may pass from one
 *           to another)
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
	bool sync_owed;
	struct slot_table files;
	struct slot_table sessions;
	struct slot_table conns;
	uint64_t size;
	VEC(int, maybe);
	VEC(int, small);
	VEC(int, small_prev);
	VEC(struct to_name, names);
};

/* The slot's seq the header says is committed. */
static uint64_t committed_seq(const struct records_header *h)
{
	return h->slot[__atomic_load_n(&h->active, __ATOMIC_ACQUIRE) & 1].seq;
}

/* Maps (or remaps) @n slots of @t, the memfd grown to hold them first. */
static int slots_map(struct records *rc, struct slot_table *t, size_t n)
{
	uint64_t end = t->base + n * t->size;
	void *p;
	uint8_t *st;

	if (end > rc->size) {
		if (ftruncate(rc->fd, (off_t)end))
			return -errno;
		rc->size = end;
	}
	if (t->mem)
		p = mremap(t->mem, t->nr * t->size, n * t->size,
			   MREMAP_MAYMOVE);
	else
		p = mmap(NULL, n * t->size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, rc->fd, (off_t)t->base);
	if (p == MAP_FAILED)
		return -errno;
	t->mem = p;
	st = realloc(t->state, n);
	if (!st)
		return -ENOMEM;
	t->state = st;
	/* Room for every slot to be free: freeing one never fails. */
	if (t->cap_free < n) {
		uint32_t *fr = realloc(t->free, n * sizeof(*fr));

		if (!fr)
			return -ENOMEM;
		t->free = fr;
		t->cap_free = n;
	}
	memset(st + t->nr, SLOT_FREE, n - t->nr);
	t->nr = n;
	return 0;
}

/* Whether slot @s is part of commit @c. */
static bool slot_live(const struct slot_head *s, uint64_t c)
{
	return s->born && s->born <= c && !(s->died && s->died <= c);
}

/*
 * The slots a previous engine left: those of the committed state are kept
 * (the first commit, a full account, ends them); the rest are cleared, so
 * that no commit of ours, numbered past theirs, takes one for its own.
 */
static int slots_adopt(struct records *rc, struct slot_table *t,
		       uint64_t committed)
{
	size_t n = *t->count, i;
	int r;

	if (!n)
		return 0;
	if (n > (1u << 26))
		return -EINVAL;
	r = slots_map(rc, t, n);
	if (r)
		return r;
	for (i = n; i-- > 0;) {
		struct slot_head *s = slot_at(t, i);

		if (slot_live(s, committed)) {
			s->died = 0;
			t->state[i] = SLOT_LIVE;
			continue;
		}
		s->born = 0;
		s->died = 0;
		t->free[t->nr_free++] = (uint32_t)i;
	}
	return 0;
}

static void slots_init(struct slot_table *t, uint64_t base, size_t size,
		       uint64_t *count)
{
	t->base = base;
	t->size = size;
	t->count = count;
}

static void slots_free(struct slot_table *t)
{
	if (t->mem)
		munmap(t->mem, t->nr * t->size);
	free(t->state);
	free(t->free);
	free(t->dying);
}

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
	struct stat st;
	int r;

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
	rc->fd = fd;
	rc->sock = -1;
	if (fstat(fd, &st)) {
		r = -errno;
		records_free(rc);
		return r;
	}
	rc->size = (uint64_t)st.st_size;
	slots_init(&rc->files, RECORDS_FILES, sizeof(struct records_file_slot),
		   &rc->hdr->file_slots);
	slots_init(&rc->sessions, RECORDS_SESSIONS,
		   sizeof(struct records_session_slot),
		   &rc->hdr->session_slots);
	slots_init(&rc->conns, RECORDS_CONNS,
		   sizeof(struct slot_head) + TRANSPORT_CONN_SLOT,
		   &rc->hdr->conn_slots);
	/* Commits go on from the last one of any engine before us. */
	rc->gen = rc->hdr->slot[0].seq > rc->hdr->slot[1].seq ?
		  rc->hdr->slot[0].seq : rc->hdr->slot[1].seq;
	r = slots_adopt(rc, &rc->files, committed_seq(rc->hdr)) ?:
	    slots_adopt(rc, &rc->sessions, committed_seq(rc->hdr)) ?:
	    slots_adopt(rc, &rc->conns, committed_seq(rc->hdr));
	if (r) {
		records_free(rc);
		return r;
	}
	fcntl(sock, F_SETFD, 0);
	fcntl(fd, F_SETFD, 0);
	rc->sock = sock;
	rc->del.op = VAULT_DEL;
	rc->add.op = VAULT_ADD;
	*out = rc;
	return 0;
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
	luo_core_track_changes(core);
	transport_set_reply_ops(tp, &reply_ops, rc);
	transport_track_changes(tp);
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
	slots_free(&rc->files);
	slots_free(&rc->sessions);
	slots_free(&rc->conns);
	free(rc->maybe);
	free(rc->small);
	free(rc->small_prev);
	free(rc->names);
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
	rc->sync_owed = true;
}

static bool fdstore_on(const struct records *rc)
{
	return __atomic_load_n(&rc->hdr->flags, __ATOMIC_ACQUIRE) &
	       RECORDS_FDSTORE;
}

/**
 * records_in_store() - do the vault's copies go to a manager's fd store
 * @rc: the records, or NULL (no vault)
 *
 * Return: true while RECORDS_FDSTORE is set.
 */
bool records_in_store(const struct records *rc)
{
	return rc && fdstore_on(rc);
}

/**
 * records_vault_dead() - the vault died: under an fd store, end here
 * @rc: the records
 *
 * Under a service manager's fd store, the store holds every fd the last
 * commit names, but only the dead vault knew which entry is which: a new
 * vault could not keep it.  The engine ends at once, without another
 * commit, and the manager restarts the unit from the store (Restart=).
 * Without a store this returns: the engine starts a new vault.
 */
void records_vault_dead(struct records *rc)
{
	if (!rc || !fdstore_on(rc))
		return;
	log_err("the vault died under the service manager's fd store: ending, so that the manager restarts liveupdated from the store");
	_exit(EXIT_FAILURE);
}

/**
 * records_vault_read() - what the vault sent us outside records_sync()
 * @rc: the records
 *
 * Answers to a VAULT_SYNC that records_sync() stopped waiting for.
 *
 * Return: 0 if the vault is there, -EPIPE once it is gone.
 */
int records_vault_read(struct records *rc)
{
	struct vault_msg m;
	ssize_t n;

	for (;;) {
		n = recv(rc->sock, &m, sizeof(m), MSG_DONTWAIT);
		if (n > 0 || (n < 0 && errno == EINTR))
			continue;
		return n < 0 && errno == EAGAIN ? 0 : -EPIPE;
	}
}

/*
 * How long a commit waits for the vault before it goes on without: the
 * vault answers by --fdstore-timeout at the latest (10 s by default); this
 * is for a vault that does not answer at all.
 */
#define SYNC_TIMEOUT_MS	30000

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Under the fd store: before the commit that names them is written, the
 * fds sent are in the manager's store (VAULT_SYNC).  Blocks on the vault,
 * our own process, never on a client's file; the vault answers within
 * its own bound on the manager (vault.c).
 */
static int records_sync(struct records *rc)
{
	struct vault_msg m = { .op = VAULT_SYNC, .seq = rc->gen };
	struct pollfd p = { .fd = rc->sock, .events = POLLIN };
	int64_t end = now_ms() + SYNC_TIMEOUT_MS;
	ssize_t n;
	int r;

	if (!rc->sync_owed || !fdstore_on(rc))
		return 0;
	rc->sync_owed = false;
	r = vault_send(rc, &m, NULL, 0);
	if (r)
		return r;
	for (;;) {
		if (rc->broken)
			records_vault_dead(rc);
		n = recv(rc->sock, &m, sizeof(m), MSG_DONTWAIT);
		if (n >= (ssize_t)VAULT_MSG_SIZE(0) && m.op == VAULT_SYNCED &&
		    m.seq >= rc->gen)
			return 0;
		if (n > 0 || (n < 0 && errno == EINTR))
			continue;
		if (n == 0 || errno != EAGAIN) {
			rc->broken = true;
			continue;
		}
		if (now_ms() >= end) {
			log_err("records: the vault did not confirm the fd store in %d s; committing without",
				SYNC_TIMEOUT_MS / 1000);
			return 0;
		}
		if (poll(&p, 1, (int)(end - now_ms())) < 0 && errno != EINTR)
			return -errno;
	}
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

static void swap_cap(size_t *a, size_t *b)
{
	size_t t = *a;

	*a = *b;
	*b = t;
}

static bool same_file(const struct luo_fd_id *a, const struct luo_fd_id *b)
{
	return a->fd == b->fd && a->type == b->type && a->dev == b->dev &&
	       a->ino == b->ino;
}

/*
 * One fd the handover names (a connection's, the listening socket): sent
 * unless the vault holds its file.
 */
static int name_fd(struct records *rc, int fd)
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
	r = VEC_ROOM(rc, small);
	if (r)
		return r;
	r = luo_fd_id_of(fd, &id);
	if (r)
		return r;
	rc->small[rc->nr_small++] = fd;
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

/*
 * One fd a recorded file or connection (@conn) names, @id its file: sent
 * unless the vault has it.
 */
static int name_slot_fd(struct records *rc, int fd, const struct luo_fd_id *id,
			bool conn)
{
	struct sent *s;
	int r;

	if ((size_t)fd >= rc->nr_sent && (r = grow_sent(rc, fd)))
		return r;
	s = &rc->sent[fd];
	if (conn)
		s->conn = true;
	else
		s->file = true;
	if (s->id.fd >= 0 && same_file(&s->id, id))
		return 0;
	s->id = *id;
	rc->add.fds[rc->add.count] = fd;
	rc->add_fds[rc->add.count++] = fd;
	if (rc->add.count == VAULT_MAX_FDS)
		flush_add(rc);
	return 0;
}

/*
 * A recorded file or connection (@conn) names @fd no more: dropped after
 * the commit, unless something names it again.
 */
static int unname_slot_fd(struct records *rc, int fd, bool conn)
{
	int r;

	if (fd < 0 || (size_t)fd >= rc->nr_sent)
		return 0;
	r = VEC_ROOM(rc, maybe);
	if (r)
		return r;
	if (conn)
		rc->sent[fd].conn = false;
	else
		rc->sent[fd].file = false;
	rc->maybe[rc->nr_maybe++] = fd;
	return 0;
}

static void drop_one(struct records *rc, int fd)
{
	struct sent *s = &rc->sent[fd];

	if (s->id.fd < 0 || s->gen == rc->gen || s->file || s->conn)
		return;
	s->id.fd = -1;
	rc->del.fds[rc->del.count++] = (int32_t)fd;
	if (rc->del.count == VAULT_MAX_FDS)
		flush_del(rc);
}

/*
 * What the vault holds that this commit does not name: of what the last
 * commit's handover named, and what files named before.
 */
static void drop_unnamed(struct records *rc)
{
	size_t i;

	for (i = 0; i < rc->nr_small_prev; i++)
		drop_one(rc, rc->small_prev[i]);
	for (i = 0; i < rc->nr_maybe; i++)
		drop_one(rc, rc->maybe[i]);
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
	if (off + len > RECORDS_FILES)
		return -EFBIG;
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

/* Slot @i of @t ends with this commit; free once that is committed. */
static int slot_end(struct records *rc, struct slot_table *t, uint32_t i)
{
	int r;

	if (i >= t->nr || t->state[i] != SLOT_LIVE)
		return 0;
	r = VEC_ROOM(t, dying);
	if (r)
		return r;
	__atomic_store_n(&slot_at(t, i)->died, rc->gen, __ATOMIC_RELEASE);
	t->state[i] = SLOT_DYING;
	t->dying[t->nr_dying++] = (struct dying){ .slot = i, .gen = rc->gen };
	return 0;
}

/*
 * A free slot of @t written with the @len bytes of @rec, born with this
 * commit: @born goes first, so that the slot is no part of the committed
 * state while the rest is written (a slot reused had ended before).
 */
static int slot_write(struct records *rc, struct slot_table *t,
		      const void *rec, size_t len)
{
	struct slot_head *s;
	uint32_t i;
	int r;

	if (!t->nr_free) {
		size_t old = t->nr, n = old ? old * 2 : 1024;

		r = slots_map(rc, t, n);
		if (r)
			return r;
		for (size_t k = n; k-- > old;)
			t->free[t->nr_free++] = (uint32_t)k;
		__atomic_store_n(t->count, n, __ATOMIC_RELEASE);
	}
	i = t->free[--t->nr_free];
	s = slot_at(t, i);
	__atomic_store_n(&s->born, rc->gen, __ATOMIC_RELEASE);
	__atomic_store_n(&s->died, 0, __ATOMIC_RELEASE);
	memcpy(s + 1, rec, len);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	t->state[i] = SLOT_LIVE;
	return (int)i;
}

/* Every slot of @t ends with this commit: a full account writes all again. */
static int slots_end_all(struct records *rc, struct slot_table *t)
{
	int r;

	for (size_t i = 0; i < t->nr; i++)
		if (t->state[i] == SLOT_LIVE &&
		    (r = slot_end(rc, t, (uint32_t)i)))
			return r;
	return 0;
}

/* This commit is written: the slots of @t it ended are free. */
static void slots_committed(struct slot_table *t)
{
	for (size_t i = 0; i < t->nr_dying; i++)
		t->free[t->nr_free++] = t->dying[i].slot;
	for (size_t i = 0; i < t->nr_dying; i++)
		t->state[t->dying[i].slot] = SLOT_FREE;
	t->nr_dying = 0;
}

/* The live slots of @t, their records (of @len bytes) copied into @out. */
static int slots_collect(const struct slot_table *t, size_t len, void **out,
			 size_t *n)
{
	size_t k = 0, i;
	uint8_t *p;

	for (i = 0; i < t->nr; i++)
		k += t->state[i] == SLOT_LIVE;
	p = malloc((k ? k : 1) * len);
	if (!p)
		return -ENOMEM;
	for (i = 0, k = 0; i < t->nr; i++)
		if (t->state[i] == SLOT_LIVE)
			memcpy(p + len * k++, slot_at(t, i) + 1, len);
	*out = p;
	*n = k;
	return 0;
}

static void file_gone(void *ctx, const struct luo_file_gone *g)
{
	struct records *rc = ctx;
	int r = 0;

	if (g->slot >= 0)
		r = slot_end(rc, &rc->files, (uint32_t)g->slot);
	r = r ?: unname_slot_fd(rc, g->fd, false) ?:
		 unname_slot_fd(rc, g->rfd, false);
	if (r && !rc->err)
		rc->err = r;
}

static int push_name(struct records *rc, int fd, const struct luo_fd_id *id,
		     bool conn)
{
	int r;

	if (fd < 0)
		return 0;
	r = VEC_ROOM(rc, names);
	if (r)
		return r;
	rc->names[rc->nr_names++] = (struct to_name){
		.fd = fd, .id = *id, .conn = conn,
	};
	return 0;
}

static int file_changed(void *ctx, const struct luo_file_change *c)
{
	struct records *rc = ctx;
	int r = 0;

	if (c->old_slot >= 0)
		r = slot_end(rc, &rc->files, (uint32_t)c->old_slot);
	if (!r && c->old_fd != c->fd)
		r = unname_slot_fd(rc, c->old_fd, false);
	if (!r && c->old_rfd != c->rfd)
		r = unname_slot_fd(rc, c->old_rfd, false);
	r = r ?: push_name(rc, c->fd, &c->id, false) ?:
		 push_name(rc, c->rfd, &c->rid, false);
	return r ?: slot_write(rc, &rc->files, &c->rec, sizeof(c->rec));
}

static void session_gone(void *ctx, int32_t slot)
{
	struct records *rc = ctx;
	int r = slot_end(rc, &rc->sessions, (uint32_t)slot);

	if (r && !rc->err)
		rc->err = r;
}

static int session_changed(void *ctx, int32_t old_slot,
			   const struct luo_session_record *rec)
{
	struct records *rc = ctx;
	int r = 0;

	if (old_slot >= 0)
		r = slot_end(rc, &rc->sessions, (uint32_t)old_slot);
	return r ?: slot_write(rc, &rc->sessions, rec, sizeof(*rec));
}

static const struct luo_records_ops file_ops = {
	.gone = file_gone,
	.changed = file_changed,
	.session_gone = session_gone,
	.session_changed = session_changed,
};

/*
 * The sessions and files of this commit: what changed, or all of them
 * (@full).
 */
static int record_files(struct records *rc, bool full)
{
	int r;

	r = full ? slots_end_all(rc, &rc->files) ?:
		   slots_end_all(rc, &rc->sessions) : 0;
	r = r ?: luo_core_records_changes(rc->core, full, &file_ops, rc);
	return r ?: rc->err;
}

static void conn_gone(void *ctx, const struct transport_conn_gone *g)
{
	struct records *rc = ctx;
	int r = 0;

	if (g->slot >= 0)
		r = slot_end(rc, &rc->conns, (uint32_t)g->slot);
	r = r ?: unname_slot_fd(rc, g->fds[0], true) ?:
		 unname_slot_fd(rc, g->fds[1], true);
	if (r && !rc->err)
		rc->err = r;
}

/* The fds a connection's slot names: unnamed first, named after all. */
static int conn_changed(void *ctx, const struct transport_conn_change *c)
{
	struct records *rc = ctx;
	struct luo_fd_id id;
	int r = 0;

	if (c->old_slot >= 0)
		r = slot_end(rc, &rc->conns, (uint32_t)c->old_slot);
	for (int i = 0; !r && i < 2; i++)
		r = unname_slot_fd(rc, c->old_fds[i], true);
	for (int i = 0; !r && i < 2; i++) {
		if (c->fds[i] < 0)
			continue;
		r = luo_fd_id_of(c->fds[i], &id) ?:
		    push_name(rc, c->fds[i], &id, true);
	}
	if (r)
		return r;
	return c->len ? slot_write(rc, &rc->conns, c->rec, c->len) : -1;
}

static const struct transport_records_ops conn_ops = {
	.gone = conn_gone,
	.changed = conn_changed,
};

/* The connections of this commit: what changed, or all of them (@full). */
static int record_conns(struct records *rc, bool full)
{
	int r = full ? slots_end_all(rc, &rc->conns) : 0;

	r = r ?: transport_records_changes(rc->tp, full, &conn_ops, rc);
	return r ?: rc->err;
}

/* The fds the slots of this commit name, now that all were looked at. */
static int name_slots(struct records *rc)
{
	int r = 0;

	for (size_t i = 0; !r && i < rc->nr_names; i++)
		r = name_slot_fd(rc, rc->names[i].fd, &rc->names[i].id,
				 rc->names[i].conn);
	return r;
}

static int collect(void *ctx, int fd)
{
	return name_fd(ctx, fd);
}

/**
 * records_commit() - record what changed before it is acknowledged
 * @ctx: the records
 *
 * Only the sessions, files and connections that came, went or changed
 * since the last commit are written, each in a slot of its own; the
 * handover written whole holds only what is small and global (the update
 * number, FLBs, RFC state, the listening socket, and the rare connection
 * whose pending reply is too big for a slot).  The first commit, and the
 * one after a failure or a new vault, records everything.
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
		.records = true,
	};
	bool full = !rc->synced;
	void *blob = NULL;
	size_t len = 0;
	int *swap;
	int r;

	records_flush(rc);	/* the previous commit's drops go first */
	rc->gen++;
	rc->err = 0;
	rc->add.seq = rc->gen;
	rc->nr_maybe = 0;
	rc->nr_small = 0;
	if (full) {
		/* A full account: everything is sent again. */
		for (size_t i = 0; i < rc->nr_sent; i++) {
			rc->sent[i].id.fd = -1;
			rc->sent[i].file = false;
			rc->sent[i].conn = false;
		}
		rc->err = send_op(rc, VAULT_FULL);
	}
	rc->nr_names = 0;
	/* The connections first: which go to the handover, named below. */
	r = record_conns(rc, full);
	killpoint_step(rc->hdr->flags & RECORDS_KILLPOINTS, "records-conns");
	r = r ?: transport_for_each_big_fd(rc->tp, collect, rc) ?:
	    record_files(rc, full) ?:
	    name_slots(rc);
	flush_add(rc);
	r = r ?: rc->err;
	r = r ?: records_sync(rc);
	killpoint_step(rc->hdr->flags & RECORDS_KILLPOINTS, "records-files");
	r = r ?: transport_save_big(rc->tp, &info.conns, &info.conns_len);
	r = r ?: luo_handover_write(rc->core, &info, &blob, &len);
	free(info.conns);
	killpoint_step(rc->hdr->flags & RECORDS_KILLPOINTS, "records-handover");
	r = r ?: write_slot(rc, blob, len);
	free(blob);
	if (r) {
		log_err("records: cannot commit: %s; a crash now loses the last change",
			strerror(-r));
		/* Everything is recorded and sent again next time. */
		rc->synced = false;
		return;
	}
	slots_committed(&rc->files);
	slots_committed(&rc->sessions);
	slots_committed(&rc->conns);
	/* The vault reads which commit is written from the header itself. */
	if (!full)
		drop_unnamed(rc);
	swap = rc->small_prev;
	rc->small_prev = rc->small;
	rc->small = swap;
	rc->nr_small_prev = rc->nr_small;
	swap_cap(&rc->cap_small, &rc->cap_small_prev);
	if (full)
		rc->sweep = true;
	rc->synced = true;
}

/* The handover part of the committed state, as written. */
static int read_small(struct records *rc, void **blob, size_t *len)
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
 * struct rid_idx - a session's records id and its handover index
 * @rid: the id
 * @idx: the index
 */
struct rid_idx {
	uint64_t rid;
	uint32_t idx;
};

/**
 * struct rid_map - records ids to handover indexes, sorted by id
 * @v: the pairs
 * @n: their number
 */
struct rid_map {
	struct rid_idx *v;
	size_t n;
};

static int rid_cmp(const void *a, const void *b)
{
	const struct rid_idx *x = a, *y = b;

	return x->rid < y->rid ? -1 : x->rid > y->rid;
}

static int rid_to_hidx(void *ctx, uint64_t rid)
{
	const struct rid_map *m = ctx;
	struct rid_idx key = { .rid = rid };
	const struct rid_idx *p = bsearch(&key, m->v, m->n, sizeof(key),
					  rid_cmp);

	return p ? (int)p->idx : -ENOENT;
}

/*
 * The connections of the committed state, as the handover's property,
 * for the records of this release (else none: @parts keeps the
 * handover's).  Sorts @parts' sessions in the handover's order.
 */
static int read_conns(struct records *rc, const void *small, size_t len,
		      struct luo_records_parts *parts, void **out)
{
	const void *big = NULL;
	size_t big_len = 0, n, blen;
	struct rid_map map = { 0 };
	void *slots = NULL, *blob;
	int r = luo_handover_records_conns(small, len, &big, &big_len);

	if (r == -ENOENT)
		return 0;
	if (r)
		return r;
	luo_records_sort_sessions(parts->sessions, parts->nr_sessions);
	map.n = parts->nr_sessions;
	map.v = malloc((map.n ? map.n : 1) * sizeof(*map.v));
	if (!map.v)
		return -ENOMEM;
	for (size_t i = 0; i < map.n; i++)
		map.v[i] = (struct rid_idx){
			.rid = parts->sessions[i].rid, .idx = (uint32_t)i,
		};
	qsort(map.v, map.n, sizeof(*map.v), rid_cmp);
	r = slots_collect(&rc->conns, TRANSPORT_CONN_SLOT, &slots, &n);
	r = r ?: transport_conns_assemble(slots, n, big, big_len, rid_to_hidx,
					  &map, &blob, &blen);
	free(slots);
	free(map.v);
	if (r)
		return r;
	*out = blob;
	parts->conns = blob;
	parts->conns_len = blen;
	return 0;
}

/**
 * records_read() - the last committed state, as one handover
 * @rc:   the records, just opened (records_open() kept the slots of the
 *        committed state, SLOT_LIVE)
 * @blob: out: a malloc'd handover with every session and file
 * @len:  out: its length
 *
 * Return: 0, -ENOENT if nothing was ever committed, or -errno.
 */
int records_read(struct records *rc, void **blob, size_t *len)
{
	struct luo_records_parts parts = { 0 };
	void *small = NULL, *files = NULL, *sessions = NULL, *conns = NULL;
	size_t small_len = 0;
	int r = read_small(rc, &small, &small_len);

	r = r ?: slots_collect(&rc->files, sizeof(struct luo_file_record),
			       &files, &parts.nr_files);
	r = r ?: slots_collect(&rc->sessions,
			       sizeof(struct luo_session_record), &sessions,
			       &parts.nr_sessions);
	parts.files = files;
	parts.sessions = sessions;
	r = r ?: read_conns(rc, small, small_len, &parts, &conns);
	r = r ?: luo_handover_assemble(small, small_len, &parts, blob, len);
	free(conns);
	free(files);
	free(sessions);
	free(small);
	return r;
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
