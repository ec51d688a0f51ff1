// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The core fuzzer's state check: STATUS's counters and every record of
 * LIST, read in small pages so that the cursor is exercised, must be what
 * the model holds, in order.
 */
#include <errno.h>
#include <string.h>

#include "core-check.h"
#include "fuzz.h"
#include "handlers.h"

/* Records per LIST page: small, so that pages end mid-session. */
#define PAGE	3

struct expected {
	struct luo_list_record r[2 * M_MAX_SESSIONS * (M_MAX_FILES + 1)];
	int n;
};

static void expect_session(struct expected *x, const struct m_session *s)
{
	struct luo_list_record *r = &x->r[x->n++];

	memset(r, 0, sizeof(*r));
	r->type = LUO_LIST_SESSION;
	r->direction = s->incoming ? LUO_INCOMING : LUO_OUTGOING;
	r->state = s->finished ? LUO_SESSION_FINISHED :
		   s->retrieved ? LUO_SESSION_RETRIEVED : LUO_SESSION_OPEN;
	r->nr_files = (uint32_t)s->nfiles;
	memcpy(r->name, s->name, sizeof(r->name));
	for (int i = 0; i < s->nfiles; i++) {
		r = &x->r[x->n++];
		memset(r, 0, sizeof(*r));
		r->type = LUO_LIST_FILE;
		r->direction = s->incoming ? LUO_INCOMING : LUO_OUTGOING;
		r->retrieve_status = s->files[i].rstatus;
		r->token = s->files[i].token;
		strcpy(r->name, s->files[i].fake ? FZ_FAKE_COMPATIBLE :
		       LUO_MEMFD_COMPATIBLE);
	}
}

static void same_record(const struct luo_list_record *got,
			const struct luo_list_record *want, int k)
{
	FZ_CHECK(got->type == want->type && got->direction == want->direction,
		 "record %d: type %u/%u direction %u/%u", k, got->type,
		 want->type, got->direction, want->direction);
	FZ_CHECK(!strncmp(got->name, want->name, sizeof(got->name)),
		 "record %d: name '%.64s', expected '%.64s'", k, got->name,
		 want->name);
	if (want->type == LUO_LIST_SESSION) {
		FZ_CHECK(got->state == want->state &&
			 got->nr_files == want->nr_files,
			 "session '%.64s': state %u/%u, %u/%u files", want->name,
			 got->state, want->state, got->nr_files, want->nr_files);
		return;
	}
	FZ_CHECK(got->token == want->token &&
		 got->retrieve_status == want->retrieve_status,
		 "record %d: token %llu/%llu retrieve_status %d/%d", k,
		 (unsigned long long)got->token,
		 (unsigned long long)want->token, got->retrieve_status,
		 want->retrieve_status);
}

static void check_status(struct luo_core *core, const struct model *m)
{
	struct luo_status st = { .size = sizeof(st) };
	struct luo_call call;

	luo_call_init(&call, LUO_IOCTL_STATUS, &st, sizeof(st), -1);
	FZ_CHECK(luo_core_device_ioctl(core, &call) == 0, "STATUS failed");
	FZ_CHECK(st.nr_outgoing == (uint32_t)m->nout &&
		 st.nr_incoming == (uint32_t)m->nin &&
		 st.nr_files == m_nr_files(m),
		 "STATUS: %u/%d outgoing, %u/%d incoming, %llu/%llu files",
		 st.nr_outgoing, m->nout, st.nr_incoming, m->nin,
		 (unsigned long long)st.nr_files,
		 (unsigned long long)m_nr_files(m));
	FZ_CHECK(st.update_number == m->update_number &&
		 st.max_sessions == M_MAX_SESSIONS &&
		 st.max_files == M_MAX_FILES,
		 "STATUS: update number %llu/%llu, limits %u %u",
		 (unsigned long long)st.update_number,
		 (unsigned long long)m->update_number, st.max_sessions,
		 st.max_files);
}

/* One page: returns whether it was the last. */
static bool check_page(struct luo_core *core, struct luo_list *l,
		       const struct expected *x, int *k)
{
	struct luo_list_record page[PAGE];
	struct luo_call call;

	luo_call_init(&call, LUO_IOCTL_LIST, l, sizeof(*l), -1);
	call.extra = page;
	call.extra_cap = sizeof(page);
	FZ_CHECK(luo_core_device_ioctl(core, &call) == 0, "LIST failed");
	FZ_CHECK(l->nr_records <= PAGE &&
		 call.extra_len == l->nr_records * sizeof(page[0]),
		 "LIST: %u records in %u bytes", l->nr_records, call.extra_len);
	FZ_CHECK(l->done || l->nr_records == PAGE,
		 "LIST: a short page (%u records) that is not the last",
		 l->nr_records);
	for (uint32_t i = 0; i < l->nr_records; i++, (*k)++) {
		FZ_CHECK(*k < x->n, "LIST: more than the %d records expected",
			 x->n);
		same_record(&page[i], &x->r[*k], *k);
	}
	return l->done;
}

/**
 * check_core() - the core holds exactly what the model says
 * @core: the core
 * @m:    the model
 */
void check_core(struct luo_core *core, const struct model *m)
{
	struct luo_list l = { .size = sizeof(l) };
	struct expected x = { .n = 0 };
	int k = 0, pages = 0;

	check_status(core, m);
	for (int i = 0; i < m->nout; i++)
		expect_session(&x, &m->out[i]);
	for (int i = 0; i < m->nin; i++)
		expect_session(&x, &m->in[i]);
	while (!check_page(core, &l, &x, &k))
		FZ_CHECK(++pages <= x.n, "LIST does not end");
	FZ_CHECK(k == x.n, "LIST: %d records, expected %d", k, x.n);
}
