// SPDX-License-Identifier: LGPL-2.1-or-later
/* luo's own device requests that need the core: STATUS and LIST. */
#include <errno.h>
#include <string.h>

#include "core_internal.h"

/**
 * luo_ext_status() - LUO_IOCTL_STATUS
 * @core: the core
 * @st:   the caller's struct, filled in
 *
 * Return: 0.
 */
int luo_ext_status(struct luo_core *core, struct luo_status *st)
{
	uint32_t size = st->size;

	memset(st, 0, sizeof(*st));
	st->size = size;
	st->update_number = core->update_number;
	st->nr_outgoing = core->nr_outgoing;
	st->nr_incoming = core->nr_incoming;
	st->nr_files = core->nr_files;
	st->max_sessions = core->max_sessions;
	st->max_files = core->max_files;
	if (core->host.status)
		core->host.status(core->host.ctx, st);
	st->size = size;
	return 0;
}

struct list_cursor {
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
	memcpy(r->name, s->name, sizeof(r->name));
}

static void file_record(const struct luo_session *s, const struct luo_file *f,
			struct luo_list_record *r)
{
	memset(r, 0, sizeof(*r));
	r->type = LUO_LIST_FILE;
	r->direction = s->incoming ? LUO_INCOMING : LUO_OUTGOING;
	r->retrieve_status = f->retrieve_status;
	r->token = f->token;
	memcpy(r->name, f->handler->compatible,
	       sizeof(f->handler->compatible));
}

/*
 * Emit one session from position @from (0: its own record, 1 + i: its file
 * i).  When the page fills, the position that did not fit is left in the
 * cursor and false is returned.
 */
static bool list_session(struct list_cursor *c, const struct luo_session *s,
			 uint32_t from)
{
	struct luo_list_record r;
	const struct luo_file *f;
	uint32_t pos = 1;

	if (from == 0) {
		session_record(s, &r);
		if (!emit(c, &r)) {
			c->l->file = 0;
			return false;
		}
	}
	list_for_each_entry(f, &s->files, list) {
		if (pos++ < from)
			continue;
		file_record(s, f, &r);
		if (!emit(c, &r)) {
			c->l->file = pos - 1;
			return false;
		}
	}
	return true;
}

/**
 * luo_ext_list() - LUO_IOCTL_LIST: one page of records into call->extra
 * @core: the core
 * @l:    the caller's cursor, advanced
 * @call: the request, whose extra buffer receives the records
 *
 * Return: 0; -EINVAL for non-zero flags; -ENOBUFS without a payload buffer.
 */
int luo_ext_list(struct luo_core *core, struct luo_list *l,
		 struct luo_call *call)
{
	struct list_cursor c = { .l = l, .out = call->extra };
	struct list_head *heads[] = { &core->outgoing, &core->incoming };
	const struct luo_session *s;
	uint32_t idx = 0, want = l->session, from = l->file;

	if (l->flags)
		return -EINVAL;
	c.cap = call->extra ? call->extra_cap / sizeof(struct luo_list_record) : 0;
	if (c.cap > LUO_LIST_PAGE_RECORDS)
		c.cap = LUO_LIST_PAGE_RECORDS;
	if (!c.cap)
		return -ENOBUFS;
	l->nr_records = 0;
	l->done = 0;
	for (unsigned int h = 0; h < 2; h++) {
		list_for_each_entry(s, heads[h], list) {
			uint32_t i = idx++;

			if (i < want)
				continue;
			if (!list_session(&c, s, i == want ? from : 0)) {
				l->session = i;
				goto page_full;
			}
		}
	}
	l->session = idx;
	l->file = 0;
	l->done = 1;
page_full:
	call->extra_len = l->nr_records * sizeof(struct luo_list_record);
	return 0;
}
