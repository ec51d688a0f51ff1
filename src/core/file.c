// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Preserved files: PRESERVE_FD, RETRIEVE_FD, and the per-file steps of
 * unpreserve, freeze, can_finish and finish (SPEC.md 4).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core_internal.h"

static void args_load(const struct luo_file *f, struct luo_file_op_args *a)
{
	memset(a, 0, sizeof(*a));
	a->handler = f->handler;
	a->retrieve_status = f->retrieve_status;
	/* Once retrieved, the core keeps the retrieved file only. */
	a->fd = f->fd >= 0 ? f->fd : f->retrieved_fd;
	a->retrieved_fd = f->retrieved_fd;
	memcpy(a->data, f->data, sizeof(a->data));
	a->data_len = f->data_len;
	a->private_data = f->private_data;
}

static void args_store(struct luo_file *f, const struct luo_file_op_args *a)
{
	memcpy(f->data, a->data, sizeof(f->data));
	f->data_len = a->data_len < sizeof(f->data) ? a->data_len :
		      sizeof(f->data);
	f->private_data = a->private_data;
}

/**
 * struct luo_ofd_bucket - the preserved files of one inode whose identity
 * is their open file description (handlers without get_id)
 * @node:  in the core's @ofds, by the hash of @id
 * @id:    (st_dev, st_ino) of the inode
 * @root:  tsearch() tree of the files' struct luo_file_key, in kcmp order
 * @count: keys in @root
 *
 * Every anon-inode file (eventfd, ...) shares one inode, so a list of them
 * would cost one kcmp() per file already preserved; kcmp() also orders
 * open file descriptions, so a balanced tree costs O(log n) of them.
 */
struct luo_ofd_bucket {
	struct luo_hnode node;
	struct luo_file_id id;
	void *root;
	size_t count;
};

/*
 * The kcmp(KCMP_FILE) order of two keys' open file descriptions: 1 and 2
 * are "less" and "greater".  Without kcmp the inode already matched:
 * assume the same file.
 */
static int ofd_order(const void *pa, const void *pb)
{
	const struct luo_file_key *a = pa, *b = pb;
	pid_t pid = getpid();
	long r = syscall(SYS_kcmp, pid, pid, KCMP_FILE, a->fd, b->fd);

	if (r == 1)
		return -1;
	return r == 2 ? 1 : 0;
}

/**
 * luo_file_key_of() - the identity of a file for the EBUSY rule
 * @h:  the handler that takes it
 * @fd: the file
 * @k:  out: its key; for an open-file-description key, @k->fd is @fd
 *
 * Return: 0 or -errno of get_id() or fstat().
 */
int luo_file_key_of(struct luo_file_handler *h, int fd, struct luo_file_key *k)
{
	struct stat st;

	memset(k, 0, sizeof(*k));
	k->fd = fd;
	if (h->ops->get_id) {
		k->by_id = true;
		return h->ops->get_id(h, fd, &k->id);
	}
	if (fstat(fd, &st))
		return -errno;
	k->id.a = st.st_dev;
	k->id.b = st.st_ino;
	return 0;
}

static uint64_t key_hash(const struct luo_file_key *k)
{
	return luo_hash_u64(k->id.a ^ luo_hash_u64(k->id.b + k->by_id));
}

static struct luo_ofd_bucket *bucket_find(struct luo_core *core,
					  const struct luo_file_key *k)
{
	struct luo_hnode *n;

	luo_hmap_for_each_hash(n, &core->ofds, key_hash(k)) {
		struct luo_ofd_bucket *b =
			container_of(n, struct luo_ofd_bucket, node);

		if (b->id.a == k->id.a && b->id.b == k->id.b)
			return b;
	}
	return NULL;
}

static struct luo_file *table_find(struct luo_core *core,
				   const struct luo_file_key *k)
{
	struct luo_ofd_bucket *b;
	struct luo_hnode *n;
	void *p;

	if (!k->by_id) {
		b = bucket_find(core, k);
		p = b ? tfind(k, &b->root, ofd_order) : NULL;
		return p ? container_of(*(struct luo_file_key **)p,
					struct luo_file, key) : NULL;
	}
	luo_hmap_for_each_hash(n, &core->preserved, key_hash(k)) {
		struct luo_file *f = container_of(n, struct luo_file, key_node);

		if (f->key.by_id && f->key.id.a == k->id.a &&
		    f->key.id.b == k->id.b)
			return f;
	}
	return NULL;
}

/*
 * Puts @f, keyed by open file description, in its inode's bucket; -EBUSY
 * if another file holds that description already (nothing changed).
 */
static int bucket_add(struct luo_core *core, struct luo_file *f)
{
	struct luo_ofd_bucket *b = bucket_find(core, &f->key);
	void *p;

	if (!b) {
		b = calloc(1, sizeof(*b));
		if (!b)
			return -ENOMEM;
		b->id = f->key.id;
		if (luo_hmap_insert(&core->ofds, &b->node, key_hash(&f->key))) {
			free(b);
			return -ENOMEM;
		}
	}
	p = tsearch(&f->key, &b->root, ofd_order);
	if (p && *(struct luo_file_key **)p == &f->key) {
		f->ofd = b;
		b->count++;
		return 0;
	}
	if (!b->count) {
		luo_hmap_remove(&core->ofds, &b->node);
		free(b);
	}
	return p ? -EBUSY : -ENOMEM;
}

/* Takes @f out of the table of preserved files, if it is in it. */
static void table_del(struct luo_core *core, struct luo_file *f)
{
	struct luo_ofd_bucket *b = f->ofd;

	if (!b) {
		luo_hmap_remove(&core->preserved, &f->key_node);
		return;
	}
	tdelete(&f->key, &b->root, ofd_order);
	f->ofd = NULL;
	if (--b->count)
		return;
	luo_hmap_remove(&core->ofds, &b->node);
	free(b);
}

/**
 * luo_file_table_add() - file a linked file under its current key
 * @core: the core
 * @f:    the file, with @f->key set, and its key's fd open
 *
 * One identity is never held by two live preservations: a key another
 * file holds already is refused.
 *
 * Return: 0; -EBUSY if another file is filed under the same key; -ENOMEM.
 */
int luo_file_table_add(struct luo_core *core, struct luo_file *f)
{
	if (!f->key.by_id)
		return bucket_add(core, f);
	if (table_find(core, &f->key))
		return -EBUSY;
	return luo_hmap_insert(&core->preserved, &f->key_node, key_hash(&f->key));
}

/**
 * luo_file_find() - a session's file by token
 * @s:     the session
 * @token: the token
 *
 * Return: the file, or NULL.
 */
struct luo_file *luo_file_find(struct luo_session *s, uint64_t token)
{
	struct luo_hnode *n;

	luo_hmap_for_each_hash(n, &s->tokens, luo_hash_u64(token)) {
		struct luo_file *f = container_of(n, struct luo_file, token_node);

		if (f->token == token)
			return f;
	}
	return NULL;
}

/**
 * luo_file_alloc() - a file record, not yet linked anywhere
 * @s:     its session
 * @h:     its handler
 * @token: its token
 *
 * Return: the record with no fd, or NULL when out of memory.
 */
struct luo_file *luo_file_alloc(struct luo_session *s,
				struct luo_file_handler *h, uint64_t token)
{
	struct luo_file *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->session = s;
	f->handler = h;
	f->token = token;
	f->fd = -1;
	f->retrieved_fd = -1;
	f->rec_slot = -1;
	f->rec_fd = -1;
	f->rec_rfd = -1;
	list_init(&f->list);
	list_init(&f->dirty);
	return f;
}

/**
 * luo_file_link() - enter a file in its session and token table
 * @core:     the core
 * @f:        from luo_file_alloc()
 * @in_table: also file it, under its key (set), in the table of preserved
 *            files: every file, outgoing or incoming, holds its identity
 *            until it is unpreserved or finished (luo_file_table_add())
 *
 * Return: 0; -EBUSY another file holds the key; -ENOMEM (nothing linked).
 */
int luo_file_link(struct luo_core *core, struct luo_file *f, bool in_table)
{
	struct luo_session *s = f->session;

	if (luo_hmap_insert(&s->tokens, &f->token_node, luo_hash_u64(f->token)))
		return -ENOMEM;
	if (in_table) {
		int ret = luo_file_table_add(core, f);

		if (ret) {
			luo_hmap_remove(&s->tokens, &f->token_node);
			return ret;
		}
	}
	luo_list_file_add(s, f);
	s->nr_files++;
	s->owner->nr_files++;
	core->nr_files++;
	f->handler->nr_files++;
	f->order = ++core->next_order;
	luo_file_touch(core, f);
	return 0;
}

/**
 * luo_file_unlink() - undo luo_file_link() and free the record and its fds
 * @core: the core
 * @f:    a linked file
 */
void luo_file_unlink(struct luo_core *core, struct luo_file *f)
{
	struct luo_session *s = f->session;

	luo_file_gone(core, f);
	luo_hmap_remove(&s->tokens, &f->token_node);
	table_del(core, f);
	luo_list_file_del(s, f);
	s->nr_files--;
	s->owner->nr_files--;
	core->nr_files--;
	f->handler->nr_files--;
	if (f->retrieved_fd >= 0)
		luo_core_close_fd(core, f->retrieved_fd);
	if (f->fd >= 0)
		luo_core_close_fd(core, f->fd);
	free(f);
}

static struct luo_file_handler *handler_for(struct luo_core *core, int fd)
{
	struct luo_file_handler *h;

	list_for_each_entry(h, &core->handlers, list)
		if (h->ops->can_preserve(h, fd))
			return h;
	return NULL;
}

/* Why no handler takes @fd: the first handler's refuse_reason, if any. */
static const char *refuse_reason(struct luo_core *core, int fd)
{
	struct luo_file_handler *h;
	const char *why;

	list_for_each_entry(h, &core->handlers, list) {
		if (!h->ops->refuse_reason)
			continue;
		why = h->ops->refuse_reason(h, fd);
		if (why)
			return why;
	}
	return "no handler knows this kind of file";
}

/*
 * The core's own fd of an outgoing file is the one fd kept without
 * close-on-exec: preserved files are exactly what must cross the daemon's
 * re-exec, and leaving the flag off from the start saves two fcntl() per
 * file on every reboot.  luo_core_prepare_exec() closes the other gap.
 */
static int preserve_into(struct luo_core *core, struct luo_file *f, int fd)
{
	struct luo_file_handler *h = f->handler;
	struct luo_file_op_args args;
	struct stat st;
	int ret;

	f->fd = fcntl(fd, F_DUPFD, 0);
	if (f->fd < 0)
		return -errno;
	if (fstat(f->fd, &st))
		return -errno;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->type = st.st_mode & S_IFMT;
	ret = luo_file_key_of(h, f->fd, &f->key);
	if (ret)
		return ret;
	args_load(f, &args);
	ret = h->ops->preserve(&args);
	if (ret)
		return ret > 0 ? -EIO : ret;
	args_store(f, &args);
	ret = luo_file_link(core, f, true);
	if (ret) {
		args_load(f, &args);
		h->ops->unpreserve(&args);
	}
	return ret;
}

/**
 * luo_file_preserve() - PRESERVE_FD, in the kernel's order of checks
 * @core:  the core
 * @s:     an outgoing session
 * @fd:    the caller's file, or -1 if the caller's fd was not valid
 * @token: the caller's token
 *
 * Return: 0; -EEXIST token used in this session; -ENOSPC at the file limit;
 * -EBADF no file; -ENOENT no handler; -EBUSY the file is preserved (or
 * retrieved and unfinished) anywhere; an FLB's or the handler's errno.
 */
int luo_file_preserve(struct luo_core *core, struct luo_session *s, int fd,
		      uint64_t token)
{
	struct luo_file_handler *h;
	struct luo_file_key key;
	struct luo_file *f;
	const char *why;
	int ret;

	if (luo_file_find(s, token)) {
		luo_session_note_error(s, token, -EEXIST,
				       "the token is in use in this session");
		return -EEXIST;
	}
	if (s->nr_files >= core->max_files) {
		luo_session_note_error(s, token, -ENOSPC,
				       "the session holds the most files allowed (%u)",
				       core->max_files);
		return -ENOSPC;
	}
	/* fget() never yields an O_PATH file: it is no fd to preserve. */
	if (fd < 0 || (fcntl(fd, F_GETFL) & O_PATH)) {
		luo_session_note_error(s, token, -EBADF,
				       "no open file came with the request");
		return -EBADF;
	}
	h = handler_for(core, fd);
	if (!h) {
		why = refuse_reason(core, fd);
		luo_core_log(core, LUO_LOG_INFO,
			     "session '%s': no handler takes the file of token %llu: %s",
			     s->name, (unsigned long long)token, why);
		luo_session_note_error(s, token, -ENOENT, "%s", why);
		return -ENOENT;
	}
	ret = luo_file_key_of(h, fd, &key);
	if (ret)
		goto fail;
	if (table_find(core, &key)) {
		luo_session_note_error(s, token, -EBUSY,
				       "%s: the file is preserved already, or retrieved and not finished",
				       h->compatible);
		return -EBUSY;
	}
	ret = luo_flb_file_preserve(core, h);
	if (ret)
		goto fail;
	f = luo_file_alloc(s, h, token);
	ret = f ? preserve_into(core, f, fd) : -ENOMEM;
	if (ret) {
		if (f && f->fd >= 0)
			luo_core_close_fd(core, f->fd);
		free(f);
		luo_flb_file_unpreserve(core, h);
		goto fail;
	}
	luo_core_log(core, LUO_LOG_DEBUG, "session '%s': token %llu preserved by %s",
		     s->name, (unsigned long long)token, h->compatible);
	return 0;
fail:
	/* EWOULDBLOCK: the daemon runs the request again once it can. */
	if (ret != -EWOULDBLOCK)
		luo_session_note_error(s, token, ret,
				       "%s could not preserve it",
				       h->compatible);
	return ret;
}

/* Whether two keys name one identity: the same id, or one description. */
static bool key_same(const struct luo_file_key *a, const struct luo_file_key *b)
{
	if (a->by_id != b->by_id || a->id.a != b->id.a || a->id.b != b->id.b)
		return false;
	return a->by_id || !ofd_order(a, b);
}

/*
 * Re-files a retrieved file under the key of @fd, its retrieved file, so
 * that @f->fd may be closed.  The handed-over file was filed since the
 * handover: a retrieved file is mostly the same identity (the memfd's
 * inode, a pipe end's description), whose key just changes its fd; a
 * reopened one (file-v1) is a new description no other file can hold.
 *
 * Return: 0 (filed under @fd's key), 1 (no key of @fd: left under the old
 * key, @f->fd must stay open), -ENOMEM (left under the old key; the
 * retrieve fails), -EIO (another file holds the new key, which only a
 * handler that hands out a file it does not own could cause).
 */
static int refile_retrieved(struct luo_core *core, struct luo_file *f, int fd)
{
	struct luo_file_key key, old = f->key;
	int ret;

	if (luo_file_key_of(f->handler, fd, &key))
		return 1;
	if (key_same(&old, &key)) {
		/* The tree's order is the description's: unchanged. */
		f->key.fd = fd;
		return 0;
	}
	table_del(core, f);
	f->key = key;
	ret = luo_file_table_add(core, f);
	if (!ret)
		return 0;
	f->key = old;
	if (luo_file_table_add(core, f))
		luo_core_log(core, LUO_LOG_ERR,
			     "session '%s': token %llu left the table of preserved files: out of memory",
			     f->session->name, (unsigned long long)f->token);
	return ret == -EBUSY ? -EIO : ret;
}

static int retrieve_once(struct luo_core *core, struct luo_file *f)
{
	struct luo_file_op_args args;
	int ret;

	args_load(f, &args);
	args.retrieved_fd = -1;
	ret = f->handler->ops->retrieve(&args);
	/* Whatever comes of it, the file's record changes. */
	if (ret != -EWOULDBLOCK)
		luo_file_touch(core, f);
	/* A file that cannot be opened yet (a lease) is no failure. */
	if (ret == -EWOULDBLOCK)
		return ret;
	if (!ret && args.retrieved_fd >= 0) {
		/* What the handler set up, finish() tears down. */
		args_store(f, &args);
		ret = refile_retrieved(core, f, args.retrieved_fd);
	} else if (ret >= 0) {
		ret = -EIO;
	}
	if (ret < 0) {
		if (args.retrieved_fd >= 0)
			luo_core_close_fd(core, args.retrieved_fd);
		f->retrieve_status = ret;
		luo_core_log(core, LUO_LOG_WARNING,
			     "session '%s': retrieving token %llu failed: %s",
			     f->session->name, (unsigned long long)f->token,
			     strerror(-f->retrieve_status));
		return f->retrieve_status;
	}
	f->retrieved_fd = args.retrieved_fd;
	f->retrieve_status = 1;
	if (ret)
		return 0;
	/*
	 * LUO's reference is to the retrieved file from now on, as in the
	 * kernel; the preserved fd is not needed any more (closed only now:
	 * it was the old key's).  Keeping both cost two of the process's fds
	 * per retrieved file, and 10,000 retrieved sockets ran the daemon
	 * out of fds.
	 */
	luo_core_close_fd(core, f->fd);
	f->fd = -1;
	return 0;
}

/**
 * luo_file_retrieve() - RETRIEVE_FD
 * @core:   the core
 * @s:      an incoming session
 * @token:  the token
 * @out_fd: out: a new fd of the retrieved file, owned by the caller
 *
 * The handler runs once; later calls return more fds of the same open file
 * description, and a failure is returned again without retrying.
 *
 * Return: 0; -ENOENT unknown token (or finished session); the sticky
 * retrieve errno; -EMFILE if the core cannot duplicate the file;
 * -EWOULDBLOCK if the handler cannot open the file yet (a lease is being
 * broken), which is not sticky: the caller waits and asks again.
 */
int luo_file_retrieve(struct luo_core *core, struct luo_session *s,
		      uint64_t token, int *out_fd)
{
	struct luo_file *f = luo_file_find(s, token);
	int ret;

	if (!f)
		return -ENOENT;
	if (f->retrieve_status < 0)
		return f->retrieve_status;
	if (f->retrieve_status == 0) {
		ret = retrieve_once(core, f);
		if (ret)
			return ret;
	}
	*out_fd = fcntl(f->retrieved_fd, F_DUPFD_CLOEXEC, 0);
	return *out_fd < 0 ? -errno : 0;
}

/**
 * luo_core_file_unretrieve() - a retrieved fd that never reached its caller
 * @core:  the core
 * @s:     the incoming session
 * @token: the file a RETRIEVE_FD retrieved for the first time
 *         (struct luo_call.retrieved), whose reply could not carry the fd
 *
 * The kernel reserves the fd number before it retrieves, so a caller out
 * of fds finds the file as it was (SPEC.md 4.2): here the fd is passed
 * after the fact, so the retrieval is undone.  The file is not retrieved
 * again: the core keeps the retrieved file as its own (the same inode or
 * open file description the handler made it from, under the key it is
 * filed under now), and the next RETRIEVE_FD runs the handler on it.
 *
 * Return: 0, or -ENOENT if @token is not a retrieved file of @s.
 */
int luo_core_file_unretrieve(struct luo_core *core, struct luo_session *s,
			     uint64_t token)
{
	struct luo_file *f = luo_file_find(s, token);

	if (!f || f->retrieve_status != 1 || f->retrieved_fd < 0)
		return -ENOENT;
	if (f->fd >= 0)		/* still filed under it (refile_retrieved()) */
		luo_core_close_fd(core, f->retrieved_fd);
	else
		f->fd = f->retrieved_fd;
	f->retrieved_fd = -1;
	f->retrieve_status = 0;
	luo_file_touch(core, f);
	luo_core_log(core, LUO_LOG_NOTICE,
		     "session '%s': token %llu was retrieved but its fd could not be passed: not retrieved",
		     s->name, (unsigned long long)token);
	return 0;
}

/**
 * luo_file_unpreserve() - drop an outgoing file: handler, FLBs, record
 * @core: the core
 * @f:    the file
 */
void luo_file_unpreserve(struct luo_core *core, struct luo_file *f)
{
	struct luo_file_handler *h = f->handler;
	struct luo_file_op_args args;

	args_load(f, &args);
	h->ops->unpreserve(&args);
	luo_flb_file_unpreserve(core, h);
	luo_file_unlink(core, f);
}

/**
 * luo_file_can_finish() - ask the handler whether FINISH may proceed
 * @f: an incoming file
 *
 * Return: true if the handler has no can_finish or agrees.
 */
bool luo_file_can_finish(struct luo_file *f)
{
	struct luo_file_op_args args;

	if (!f->handler->ops->can_finish)
		return true;
	args_load(f, &args);
	return f->handler->ops->can_finish(&args);
}

/**
 * luo_file_finish() - end an incoming file: handler, FLBs, record
 * @core: the core
 * @f:    the file; a file never retrieved is discarded
 */
void luo_file_finish(struct luo_core *core, struct luo_file *f)
{
	struct luo_file_handler *h = f->handler;
	struct luo_file_op_args args;

	args_load(f, &args);
	h->ops->finish(&args);
	/* After HANDOVER the FLBs never left this image: outgoing users. */
	if (f->session->handed_over)
		luo_flb_file_unpreserve(core, h);
	else
		luo_flb_file_finish(core, h);
	luo_file_unlink(core, f);
}

/**
 * luo_file_freeze() - the handler's last capture before a reboot
 * @core: the core
 * @f:    an outgoing file
 *
 * Return: 0 or the handler's -errno.
 */
int luo_file_freeze(struct luo_core *core, struct luo_file *f)
{
	struct luo_file_op_args args;
	int ret = 0;

	if (f->handler->ops->freeze) {
		args_load(f, &args);
		ret = f->handler->ops->freeze(&args);
		if (ret)
			return ret > 0 ? -EIO : ret;
		args_store(f, &args);
	}
	luo_file_touch(core, f);
	f->frozen = true;
	return 0;
}

/**
 * luo_file_unfreeze() - undo luo_file_freeze()
 * @core: the core
 * @f:    a frozen outgoing file
 */
void luo_file_unfreeze(struct luo_core *core, struct luo_file *f)
{
	struct luo_file_op_args args;

	if (!f->frozen)
		return;
	if (f->handler->ops->unfreeze) {
		args_load(f, &args);
		f->handler->ops->unfreeze(&args);
		args_store(f, &args);
	}
	luo_file_touch(core, f);
	f->frozen = false;
}
