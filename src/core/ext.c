// SPDX-License-Identifier: LGPL-2.1-or-later
/* luo's own device requests that need the core: STATUS and LIST. */
#include <errno.h>
#include <string.h>

#include "core_internal.h"

/**
 * luo_ext_status() - LUO_IOCTL_STATUS
 * @core: the core
 * @st:   the caller's struct, filled in
 * @who:  the caller: a non-administrator counts only its own sessions and
 *        files, as it may not learn that another user's exist
 *
 * Return: 0.
 */
int luo_ext_status(struct luo_core *core, struct luo_status *st,
		   const struct luo_caller *who)
{
	const struct luo_owner *o = luo_owner_find(core, who->uid);
	uint32_t size = st->size;

	memset(st, 0, sizeof(*st));
	st->size = size;
	st->update_number = core->update_number;
	if (who->admin) {
		st->nr_outgoing = core->nr_outgoing;
		st->nr_incoming = core->nr_incoming;
		st->nr_files = core->nr_files;
	} else if (o) {
		st->nr_outgoing = o->nr_sessions - o->nr_incoming;
		st->nr_incoming = o->nr_incoming;
		st->nr_files = o->nr_files;
	}
	st->max_sessions = core->max_sessions;
	st->max_files = core->max_files;
	if (core->host.status)
		core->host.status(core->host.ctx, st);
	st->size = size;
	return 0;
}

/*
 * LIST order and its cursor.  Sessions are listed outgoing first, then
 * incoming, each direction in the order its sessions joined it.  Every
 * session has a key, its direction in bit 31 and a sequence number below,
 * increasing along both lists; the keys are in a tree (all sessions, and
 * each owner's own), so a page resumes at its cursor, the key of the first
 * session it is to list, in O(log n) and then costs what it lists.  A
 * session that is gone from under the cursor is simply passed: the page
 * starts at the next key.  The numbers wrap after 2^31 - 2 sessions: then
 * every session is renumbered in place, in the same order.  A session's
 * files have keys of their own (from 1; 0 is the session's own record),
 * in a tree of the session, so a page that starts inside a session costs
 * what it lists too.
 */
#define LIST_INCOMING_BIT	0x80000000u
#define LIST_SEQ_MAX		0x7ffffffeu
#define LIST_END		0xffffffffu	/* a cursor past every key */

static uint32_t list_key(const struct luo_session *s)
{
	return (s->incoming ? LIST_INCOMING_BIT : 0) | s->seq;
}

static void list_renumber(struct luo_core *core)
{
	struct list_head *heads[] = { &core->outgoing, &core->incoming };
	struct luo_session *s;
	uint32_t seq = 0;

	for (unsigned int h = 0; h < 2; h++) {
		list_for_each_entry(s, heads[h], list) {
			s->seq = ++seq;
			s->tnode.key = list_key(s);
			s->owner_tnode.key = list_key(s);
		}
	}
	core->next_seq = seq + 1;
	luo_core_log(core, LUO_LOG_INFO, "LIST keys renumbered");
}

/**
 * luo_list_add() - a session joins the tail of its direction
 * @core: the core
 * @s:    a session in no list, @s->incoming and @s->owner set
 *
 * Cannot fail.
 */
void luo_list_add(struct luo_core *core, struct luo_session *s)
{
	struct luo_owner *o = s->owner;

	if (!core->next_seq || core->next_seq > LIST_SEQ_MAX)
		list_renumber(core);
	s->seq = core->next_seq++;
	s->order = ++core->next_order;
	luo_session_touch(core, s);
	list_add_tail(&s->list,
		      s->incoming ? &core->incoming : &core->outgoing);
	list_add_tail(&s->owner_link,
		      s->incoming ? &o->incoming : &o->outgoing);
	if (s->incoming)
		o->nr_incoming++;
	luo_tree_insert(&core->by_key, &s->tnode, list_key(s));
	luo_tree_insert(&o->by_key, &s->owner_tnode, list_key(s));
}

/**
 * luo_list_del() - a session leaves its direction
 * @core: the core
 * @s:    a session added with luo_list_add()
 */
void luo_list_del(struct luo_core *core, struct luo_session *s)
{
	luo_tree_remove(&core->by_key, &s->tnode);
	luo_tree_remove(&s->owner->by_key, &s->owner_tnode);
	list_del(&s->list);
	list_del(&s->owner_link);
	if (s->incoming)
		s->owner->nr_incoming--;
}

#define LIST_FILE_KEY_MAX	0xfffffffeu

static void list_renumber_files(struct luo_session *s)
{
	struct luo_file *f;
	uint32_t key = 0;

	list_for_each_entry(f, &s->files, list)
		f->list_node.key = ++key;
	s->next_file_key = key + 1;
}

/**
 * luo_list_file_add() - a file joins the tail of its session
 * @s: the session
 * @f: a file in no session list
 */
void luo_list_file_add(struct luo_session *s, struct luo_file *f)
{
	if (!s->next_file_key || s->next_file_key > LIST_FILE_KEY_MAX)
		list_renumber_files(s);
	list_add_tail(&f->list, &s->files);
	luo_tree_insert(&s->files_by_key, &f->list_node, s->next_file_key++);
}

/**
 * luo_list_file_del() - a file leaves its session
 * @s: the session
 * @f: a file added with luo_list_file_add()
 */
void luo_list_file_del(struct luo_session *s, struct luo_file *f)
{
	luo_tree_remove(&s->files_by_key, &f->list_node);
	list_del(&f->list);
}

struct list_cursor {
	struct luo_core *core;
	struct luo_list *l;
	uint8_t *out;		/* the caller's buffer, of any alignment */
	uint32_t cap;
};

static bool emit(struct list_cursor *c, const struct luo_list_record *r)
{
	if (c->l->nr_records >= c->cap)
		return false;
	memcpy(c->out + (size_t)c->l->nr_records++ * sizeof(*r), r, sizeof(*r));
	return true;
}

static void session_record(const struct luo_session *s,
			   struct luo_list_record *r)
{
	memset(r, 0, sizeof(*r));
	r->type = LUO_LIST_SESSION;
	r->direction = s->incoming ? LUO_INCOMING : LUO_OUTGOING;
	r->state = s->finished ? LUO_SESSION_FINISHED :
		   s->retrieved ? LUO_SESSION_RETRIEVED : LUO_SESSION_OPEN;
	r->nr_files = s->nr_files;
	r->owner = s->owner->uid;
	memcpy(r->name, s->name, sizeof(r->name));
}

static void file_record(const struct luo_session *s, const struct luo_file *f,
			struct luo_list_record *r)
{
	memset(r, 0, sizeof(*r));
	r->type = LUO_LIST_FILE;
	r->direction = s->incoming ? LUO_INCOMING : LUO_OUTGOING;
	r->retrieve_status = f->retrieve_status;
	r->owner = s->owner->uid;
	r->token = f->token;
	memcpy(r->name, f->handler->compatible,
	       sizeof(f->handler->compatible));
}

/*
 * Emit one session from position @from (0: its own record, else the file
 * of that key or the next one).  When the page fills, the position that
 * did not fit is left in the cursor and false is returned.
 */
static bool list_session(struct list_cursor *c, const struct luo_session *s,
			 uint32_t from)
{
	const struct list_head *link = s->files.next;
	struct luo_list_record r;
	struct luo_tnode *n;

	if (from == 0) {
		session_record(s, &r);
		if (!emit(c, &r)) {
			c->l->file = 0;
			return false;
		}
	} else {
		n = luo_tree_lower_bound(&s->files_by_key, from,
					 &c->core->list_steps);
		link = n ? &container_of(n, struct luo_file, list_node)->list :
			   &s->files;
	}
	for (; link != &s->files; link = link->next) {
		const struct luo_file *f = container_of(link, struct luo_file,
							list);

		c->core->list_steps++;
		file_record(s, f, &r);
		if (!emit(c, &r)) {
			c->l->file = (uint32_t)f->list_node.key;
			return false;
		}
	}
	return true;
}

/*
 * The session after @s in the listing: everyone's (@o NULL) or one
 * owner's, outgoing then incoming.
 */
static struct luo_session *list_next(struct luo_core *core,
				     struct luo_owner *o, struct luo_session *s)
{
	struct list_head *link = o ? &s->owner_link : &s->list;
	struct list_head *out = o ? &o->outgoing : &core->outgoing;
	struct list_head *in = o ? &o->incoming : &core->incoming;
	struct list_head *head = s->incoming ? in : out;

	link = link->next;
	if (link == head && !s->incoming)
		link = in->next;
	if (link == in)
		return NULL;
	return o ? container_of(link, struct luo_session, owner_link) :
		   container_of(link, struct luo_session, list);
}

/**
 * luo_ext_list() - LUO_IOCTL_LIST: one page of records into call->extra
 * @core: the core
 * @l:    the caller's cursor, advanced
 * @call: the request, whose extra buffer receives the records
 *
 * An administrator lists every session with its owner; anyone else only
 * the sessions it owns.
 *
 * Return: 0; -EINVAL for non-zero flags; -ENOBUFS without a payload buffer.
 */
int luo_ext_list(struct luo_core *core, struct luo_list *l,
		 struct luo_call *call)
{
	struct list_cursor c = { .core = core, .l = l, .out = call->extra };
	struct luo_owner *o = NULL;
	const struct luo_tree *tree = &core->by_key;
	struct luo_session *s = NULL;
	struct luo_tnode *n;
	uint32_t from;

	if (l->flags)
		return -EINVAL;
	c.cap = call->extra ? call->extra_cap / sizeof(struct luo_list_record) : 0;
	if (c.cap > LUO_LIST_PAGE_RECORDS)
		c.cap = LUO_LIST_PAGE_RECORDS;
	if (!c.cap)
		return -ENOBUFS;
	l->nr_records = 0;
	l->done = 0;
	if (!call->caller.admin) {
		o = luo_owner_find(core, call->caller.uid);
		tree = o ? &o->by_key : NULL;
	}
	n = tree ? luo_tree_lower_bound(tree, l->session, &core->list_steps) :
		   NULL;
	if (n)
		s = o ? container_of(n, struct luo_session, owner_tnode) :
			container_of(n, struct luo_session, tnode);
	from = s && list_key(s) == l->session ? l->file : 0;
	for (; s; s = list_next(core, o, s), from = 0) {
		core->list_steps++;
		if (!list_session(&c, s, from)) {
			l->session = list_key(s);
			goto page_full;
		}
	}
	l->session = LIST_END;
	l->file = 0;
	l->done = 1;
page_full:
	call->extra_len = l->nr_records * sizeof(struct luo_list_record);
	return 0;
}
