// SPDX-License-Identifier: LGPL-2.1-or-later
/* The file handler registry, by compatible string (SPEC.md 4.5). */
#include <errno.h>
#include <string.h>

#include "core_internal.h"

static bool registered(struct luo_core *core, struct luo_file_handler *h)
{
	struct luo_file_handler *it;

	list_for_each_entry(it, &core->handlers, list)
		if (it == h)
			return true;
	return false;
}

/**
 * luo_find_file_handler() - a registered handler by compatible string
 * @core:       the core
 * @compatible: exact name
 *
 * Return: the handler, or NULL.
 */
struct luo_file_handler *luo_find_file_handler(struct luo_core *core,
					       const char *compatible)
{
	struct luo_file_handler *h;

	list_for_each_entry(h, &core->handlers, list)
		if (!strncmp(h->compatible, compatible, sizeof(h->compatible)))
			return h;
	return NULL;
}

/**
 * luo_register_file_handler() - make a file type preservable
 * @core: the core
 * @h:    the handler; it must outlive its registration
 *
 * Handlers are asked in registration order.  Allowed at any time (G3+).
 *
 * Return: 0; -EINVAL if a required op is missing or the compatible string
 * is empty or unterminated; -EEXIST if the compatible string is taken.
 */
int luo_register_file_handler(struct luo_core *core, struct luo_file_handler *h)
{
	const struct luo_file_handler_ops *ops = h->ops;
	size_t len = strnlen(h->compatible, sizeof(h->compatible));

	if (!ops || !ops->can_preserve || !ops->preserve || !ops->unpreserve ||
	    !ops->retrieve || !ops->finish)
		return -EINVAL;
	if (len == 0 || len == sizeof(h->compatible))
		return -EINVAL;
	if (registered(core, h) || luo_find_file_handler(core, h->compatible))
		return -EEXIST;
	list_init(&h->flb_links);
	h->nr_files = 0;
	list_add_tail(&h->list, &core->handlers);
	return 0;
}

/**
 * luo_unregister_file_handler() - remove a handler and its FLB links
 * @core: the core
 * @h:    a registered handler with no file using it
 *
 * A handler still in use stays registered, and a warning is logged.
 */
void luo_unregister_file_handler(struct luo_core *core,
				 struct luo_file_handler *h)
{
	if (!registered(core, h))
		return;
	if (h->nr_files) {
		luo_core_log(core, LUO_LOG_WARNING,
			     "handler %s still holds %llu files: kept",
			     h->compatible, (unsigned long long)h->nr_files);
		return;
	}
	while (!list_empty(&h->flb_links)) {
		struct luo_flb *flb = luo_flb_of_link(h->flb_links.next);

		luo_unregister_flb(core, h, flb);
	}
	list_del(&h->list);
}
