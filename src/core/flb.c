// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * FLBs: state shared by the preserved files of one or more handlers, with
 * one global outgoing count and a lazily retrieved incoming object
 * (SPEC.md 5, G4 semantics).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core_internal.h"

struct luo_flb_link {
	struct list_head list;		/* in the handler's flb_links */
	struct luo_flb *flb;
};

struct luo_flb_state {
	struct list_head list;		/* in core->flbs */
	struct luo_flb *flb;
	uint32_t nr_links;
	/* outgoing */
	uint64_t out_count;
	uint64_t out_data;
	void *out_obj;
	/* incoming */
	bool in_init;
	bool in_found;
	bool in_retrieved;
	bool in_finished;
	uint64_t in_data;
	uint64_t in_count;
	void *in_obj;
};

/**
 * luo_flb_of_link() - the FLB of an entry of a handler's flb_links
 * @l: the list node
 *
 * Return: the FLB.
 */
struct luo_flb *luo_flb_of_link(struct list_head *l)
{
	return container_of(l, struct luo_flb_link, list)->flb;
}

static struct luo_flb_state *state_of(struct luo_core *core, struct luo_flb *flb)
{
	struct luo_flb_state *st;

	list_for_each_entry(st, &core->flbs, list)
		if (st->flb == flb)
			return st;
	return NULL;
}

static struct luo_flb_link *link_of(struct luo_file_handler *h,
				    struct luo_flb *flb)
{
	struct luo_flb_link *l;

	list_for_each_entry(l, &h->flb_links, list)
		if (l->flb == flb)
			return l;
	return NULL;
}

static bool handler_registered(struct luo_core *core, struct luo_file_handler *h)
{
	return luo_find_file_handler(core, h->compatible) == h;
}

static int flb_check(struct luo_core *core, struct luo_file_handler *h,
		     struct luo_flb *flb)
{
	const struct luo_flb_ops *ops = flb->ops;
	size_t len = strnlen(flb->compatible, sizeof(flb->compatible));
	struct luo_flb_state *st;

	if (!ops || !ops->preserve || !ops->unpreserve || !ops->retrieve ||
	    !ops->finish || !len || len == sizeof(flb->compatible))
		return -EINVAL;
	if (!handler_registered(core, h))
		return -EINVAL;
	if (link_of(h, flb))
		return -EEXIST;
	list_for_each_entry(st, &core->flbs, list)
		if (st->flb != flb && !strncmp(st->flb->compatible,
					       flb->compatible,
					       sizeof(flb->compatible)))
			return -EEXIST;
	return 0;
}

/**
 * luo_register_flb() - link an FLB to a file handler
 * @core: the core
 * @h:    a registered handler
 * @flb:  the FLB; one FLB may serve several handlers
 *
 * Return: 0; -EINVAL missing op or unregistered handler; -EEXIST already
 * linked to @h, or another FLB has the compatible string; -ENOSPC when
 * LUO_MAX_FLBS FLBs exist; -ENOMEM.
 */
int luo_register_flb(struct luo_core *core, struct luo_file_handler *h,
		     struct luo_flb *flb)
{
	struct luo_flb_state *st;
	struct luo_flb_link *l;
	bool fresh = false;
	int ret = flb_check(core, h, flb);

	if (ret)
		return ret;
	st = state_of(core, flb);
	if (!st) {
		if (core->nr_flbs >= LUO_MAX_FLBS)
			return -ENOSPC;
		st = calloc(1, sizeof(*st));
		if (!st)
			return -ENOMEM;
		st->flb = flb;
		fresh = true;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		if (fresh)
			free(st);
		return -ENOMEM;
	}
	if (fresh) {
		list_add_tail(&st->list, &core->flbs);
		core->nr_flbs++;
	}
	l->flb = flb;
	list_add_tail(&l->list, &h->flb_links);
	st->nr_links++;
	return 0;
}

static void state_free(struct luo_core *core, struct luo_flb_state *st)
{
	list_del(&st->list);
	core->nr_flbs--;
	free(st);
}

/**
 * luo_unregister_flb() - unlink an FLB from a handler
 * @core: the core
 * @h:    the handler
 * @flb:  the FLB; it is forgotten when its last link goes
 */
void luo_unregister_flb(struct luo_core *core, struct luo_file_handler *h,
			struct luo_flb *flb)
{
	struct luo_flb_link *l = link_of(h, flb);
	struct luo_flb_state *st = state_of(core, flb);

	if (!l)
		return;
	list_del(&l->list);
	free(l);
	if (st && !--st->nr_links)
		state_free(core, st);
}

static int out_get(struct luo_flb_state *st)
{
	struct luo_flb_op_args args = { .flb = st->flb };
	int ret;

	if (st->out_count++)
		return 0;
	ret = st->flb->ops->preserve(&args);
	if (ret) {
		st->out_count--;
		return ret > 0 ? -EIO : ret;
	}
	st->out_data = args.data;
	st->out_obj = args.obj;
	return 0;
}

static void out_put(struct luo_flb_state *st)
{
	struct luo_flb_op_args args = { .flb = st->flb };

	if (!st->out_count || --st->out_count)
		return;
	args.data = st->out_data;
	args.obj = st->out_obj;
	st->flb->ops->unpreserve(&args);
	st->out_data = 0;
	st->out_obj = NULL;
}

/**
 * luo_flb_file_preserve() - count one more file for each FLB of a handler
 * @core: the core
 * @h:    the handler of the file being preserved
 *
 * The first user of an FLB runs its preserve().  On failure the FLBs
 * already counted are released in reverse.
 *
 * Return: 0 or the failing preserve()'s -errno.
 */
int luo_flb_file_preserve(struct luo_core *core, struct luo_file_handler *h)
{
	struct luo_flb_link *l;
	int ret;

	list_for_each_entry(l, &h->flb_links, list) {
		ret = out_get(state_of(core, l->flb));
		if (ret)
			goto undo;
	}
	return 0;
undo:
	for (struct list_head *p = l->list.prev; p != &h->flb_links; p = p->prev)
		out_put(state_of(core, luo_flb_of_link(p)));
	return ret;
}

/**
 * luo_flb_file_unpreserve() - one file less for each FLB of a handler
 * @core: the core
 * @h:    the handler of the file unpreserved
 *
 * Walks the links in reverse; the last user runs unpreserve().
 */
void luo_flb_file_unpreserve(struct luo_core *core, struct luo_file_handler *h)
{
	struct luo_flb_link *l;

	list_for_each_entry_reverse(l, &h->flb_links, list)
		out_put(state_of(core, l->flb));
}

/**
 * luo_flb_get_outgoing() - the live outgoing object of an FLB
 * @core: the core
 * @flb:  a registered FLB
 * @obj:  out: the object, NULL while no file uses the FLB
 *
 * Return: 0, or -EINVAL if @flb is not registered.
 */
int luo_flb_get_outgoing(struct luo_core *core, struct luo_flb *flb, void **obj)
{
	struct luo_flb_state *st = state_of(core, flb);

	if (!st)
		return -EINVAL;
	*obj = st->out_count ? st->out_obj : NULL;
	return 0;
}

static void in_init(struct luo_core *core, struct luo_flb_state *st)
{
	if (st->in_init)
		return;
	st->in_init = true;
	for (uint32_t i = 0; i < core->nr_flbs_in; i++) {
		struct luo_flb_in *e = &core->flbs_in[i];

		if (!strncmp(e->compatible, st->flb->compatible,
			     sizeof(e->compatible))) {
			st->in_found = true;
			st->in_data = e->data;
			st->in_count = e->count;
			return;
		}
	}
}

static int in_retrieve(struct luo_flb_state *st)
{
	struct luo_flb_op_args args = { .flb = st->flb, .data = st->in_data };
	int ret;

	if (st->in_retrieved)
		return 0;
	ret = st->flb->ops->retrieve(&args);
	if (ret)
		return ret > 0 ? -EIO : ret;
	st->in_obj = args.obj;
	st->in_retrieved = true;
	return 0;
}

static void in_put(struct luo_core *core, struct luo_flb_state *st)
{
	struct luo_flb_op_args args = { .flb = st->flb };

	in_init(core, st);
	if (!st->in_found || st->in_finished || !st->in_count)
		return;
	if (--st->in_count)
		return;
	st->in_finished = true;
	if (in_retrieve(st)) {
		luo_core_log(core, LUO_LOG_WARNING,
			     "FLB %s could not be retrieved: finish skipped",
			     st->flb->compatible);
		return;
	}
	args.data = st->in_data;
	args.obj = st->in_obj;
	st->flb->ops->finish(&args);
	st->in_obj = NULL;
}

/**
 * luo_flb_get_incoming() - the incoming object of an FLB, retrieved lazily
 * @core: the core
 * @flb:  a registered FLB
 * @obj:  out: the object
 *
 * Takes a reference (G4): balance it with luo_flb_put_incoming().
 *
 * Return: 0; -EINVAL not registered; -ENODATA no incoming FLB data at all
 * or this FLB already finished; -ENOENT not handed over; retrieve()'s errno.
 */
int luo_flb_get_incoming(struct luo_core *core, struct luo_flb *flb, void **obj)
{
	struct luo_flb_state *st = state_of(core, flb);
	int ret;

	if (!st)
		return -EINVAL;
	if (!core->nr_flbs_in)
		return -ENODATA;
	in_init(core, st);
	if (st->in_finished)
		return -ENODATA;
	if (!st->in_found)
		return -ENOENT;
	ret = in_retrieve(st);
	if (ret)
		return ret;
	st->in_count++;
	*obj = st->in_obj;
	return 0;
}

/**
 * luo_flb_put_incoming() - drop a reference taken by luo_flb_get_incoming()
 * @core: the core
 * @flb:  the FLB; the last reference runs its finish()
 */
void luo_flb_put_incoming(struct luo_core *core, struct luo_flb *flb)
{
	struct luo_flb_state *st = state_of(core, flb);

	if (st)
		in_put(core, st);
}

/**
 * luo_flb_file_finish() - one incoming file of a handler finished
 * @core: the core
 * @h:    its handler; its FLBs are put in reverse link order
 */
void luo_flb_file_finish(struct luo_core *core, struct luo_file_handler *h)
{
	struct luo_flb_link *l;

	list_for_each_entry_reverse(l, &h->flb_links, list)
		in_put(core, state_of(core, l->flb));
}

/**
 * luo_flb_for_each_outgoing() - visit every FLB in use, for the handover
 * @core: the core
 * @fn:   called with the compatible string, data and file count
 * @ctx:  passed to @fn
 *
 * Return: 0, or the first non-zero return of @fn.
 */
int luo_flb_for_each_outgoing(struct luo_core *core,
			      int (*fn)(void *ctx, const char *compatible,
					uint64_t data, uint64_t count),
			      void *ctx)
{
	struct luo_flb_state *st;
	int ret;

	list_for_each_entry(st, &core->flbs, list) {
		if (!st->out_count)
			continue;
		ret = fn(ctx, st->flb->compatible, st->out_data, st->out_count);
		if (ret)
			return ret;
	}
	return 0;
}

/**
 * luo_flb_for_each_incoming() - visit every FLB the previous image handed
 * over that is not finished, for a handover that may be restored
 * @core: the core
 * @fn:   called with the compatible string, data and the files that still
 *        depend on it
 * @ctx:  passed to @fn
 *
 * Return: 0, or the first non-zero return of @fn.
 */
int luo_flb_for_each_incoming(struct luo_core *core,
			      int (*fn)(void *ctx, const char *compatible,
					uint64_t data, uint64_t count),
			      void *ctx)
{
	for (uint32_t i = 0; i < core->nr_flbs_in; i++) {
		const struct luo_flb_in *e = &core->flbs_in[i];
		struct luo_flb_state *st;
		uint64_t count = e->count;
		int ret;

		list_for_each_entry(st, &core->flbs, list) {
			if (!st->in_init || strncmp(st->flb->compatible,
						    e->compatible,
						    sizeof(e->compatible)))
				continue;
			count = st->in_finished ? 0 : st->in_count;
		}
		if (!count)
			continue;
		ret = fn(ctx, e->compatible, e->data, count);
		if (ret)
			return ret;
	}
	return 0;
}

/**
 * luo_flb_restore_outgoing() - an FLB in use again after a rolled-back
 * REBOOT, as the handover recorded it
 * @core:       the core, with its FLBs registered
 * @compatible: the FLB's name
 * @data:       what its preserve() returned
 * @count:      files that use it
 *
 * Its preserve() is not called again; the live object it made, a pointer
 * of the previous process, is not restored (NULL).
 *
 * Return: 0, or -ENOENT if no such FLB is registered.
 */
int luo_flb_restore_outgoing(struct luo_core *core, const char *compatible,
			     uint64_t data, uint64_t count)
{
	struct luo_flb_state *st;

	list_for_each_entry(st, &core->flbs, list) {
		if (strncmp(st->flb->compatible, compatible,
			    sizeof(st->flb->compatible)))
			continue;
		st->out_count = count;
		st->out_data = data;
		st->out_obj = NULL;
		return 0;
	}
	return -ENOENT;
}

/**
 * luo_flb_release_all() - forget every FLB and link (core teardown)
 * @core: the core
 */
void luo_flb_release_all(struct luo_core *core)
{
	struct luo_file_handler *h;
	struct luo_flb_state *st, *n;

	list_for_each_entry(h, &core->handlers, list) {
		while (!list_empty(&h->flb_links)) {
			struct luo_flb_link *l = container_of(h->flb_links.next,
							      struct luo_flb_link,
							      list);

			list_del(&l->list);
			free(l);
		}
	}
	list_for_each_entry_safe(st, n, &core->flbs, list)
		state_free(core, st);
}
