// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Registration of the built-in handlers with a core, as one of two sets
 * (liveupdated(8) --handlers): "luo", every handler of the project, or
 * "kernel", exactly what the kernel's LUO registers (memfd-v2), so that
 * PRESERVE_FD refuses with ENOENT whatever the kernel refuses.  Kept apart
 * from the handlers themselves so that a program using only the callbacks
 * (the handler tests) does not pull in the core's registration functions.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/vfs.h>

#include <linux/magic.h>

#include "handlers.h"
#include "luo_handler.h"
#include "refuse.h"

typedef struct luo_file_handler *(*handler_getter)(void);

/*
 * luo's handlers, in registration order (can_preserve is tried in it):
 * memfd before file, which would take unlinked tmpfs files too; file last,
 * as its refuse_reason explains what nobody takes.
 */
static const handler_getter luo_set[] = {
	luo_memfd_handler,
	luo_socket_handler,
	luo_pipe_handler,
	luo_eventfd_handler,
	luo_file_handler,
};

/* luo's handlers that the kernel's set leaves out. */
static const handler_getter beyond_kernel[] = {
	luo_socket_handler,
	luo_pipe_handler,
	luo_eventfd_handler,
	luo_file_handler,
};

/*
 * refuse_reason of the kernel's set, whose memfd handler is the only one
 * asked: what the kernel refuses and luo would take says so, the rest
 * gets luo's own reason.
 */
static const char *kernel_refuse_reason(struct luo_file_handler *h, int fd)
{
	struct statfs sfs;
	size_t i;

	if (fstatfs(fd, &sfs) == 0 && sfs.f_type == HUGETLBFS_MAGIC)
		return "hugetlb memfd: the kernel's memfd-v2 takes shmem files only (--handlers=kernel)";
	for (i = 0; i < sizeof(beyond_kernel) / sizeof(beyond_kernel[0]); i++) {
		h = beyond_kernel[i]();
		if (h->ops->can_preserve(h, fd))
			return "the kernel's handler set (--handlers=kernel) preserves memfds and unlinked tmpfs files only; luo's (--handlers=luo) takes this file";
	}
	return luo_refuse_reason(fd);
}

/*
 * The kernel's memfd-v2: luo's memfd handler, and the reason above.  An
 * object of its own, so that the two sets never share one.
 */
static struct luo_file_handler *kernel_memfd_handler(void)
{
	static struct luo_file_handler_ops ops;
	static struct luo_file_handler h;

	if (!h.ops) {
		luo_memfd_handler_init(&h);
		ops = *h.ops;
		ops.refuse_reason = kernel_refuse_reason;
		h.ops = &ops;
	}
	return &h;
}

/* The kernel's: mm/memfd_luo.c is the only file handler it registers. */
static const handler_getter kernel_set[] = {
	kernel_memfd_handler,
};

struct handler_set {
	const char *name;
	const handler_getter *handlers;
	size_t nr;
};

static const struct handler_set handler_sets[] = {
	[LUO_HANDLERS_LUO] = {
		"luo", luo_set, sizeof(luo_set) / sizeof(luo_set[0]),
	},
	[LUO_HANDLERS_KERNEL] = {
		"kernel", kernel_set,
		sizeof(kernel_set) / sizeof(kernel_set[0]),
	},
};

#define NR_HANDLER_SETS (sizeof(handler_sets) / sizeof(handler_sets[0]))

static const struct handler_set *set_of(enum luo_handler_set set)
{
	return (size_t)set < NR_HANDLER_SETS ? &handler_sets[set] : NULL;
}

/**
 * luo_handler_set_name() - the name of a handler set, as --handlers takes it
 * @set: the set
 *
 * Return: "luo" or "kernel", or NULL for an unknown @set.
 */
const char *luo_handler_set_name(enum luo_handler_set set)
{
	const struct handler_set *hs = set_of(set);

	return hs ? hs->name : NULL;
}

/**
 * luo_handler_set_parse() - a handler set by its name
 * @name: "luo" or "kernel"
 * @set:  out: the set
 *
 * Return: 0, or -EINVAL for any other name.
 */
int luo_handler_set_parse(const char *name, enum luo_handler_set *set)
{
	size_t i;

	for (i = 0; i < NR_HANDLER_SETS; i++) {
		if (!strcmp(name, handler_sets[i].name)) {
			*set = (enum luo_handler_set)i;
			return 0;
		}
	}
	return -EINVAL;
}

/**
 * luo_register_handler_set() - register the handlers of one set
 * @core: the core to register them with
 * @set:  LUO_HANDLERS_LUO (memfd-v2, socket-v1, pipe-v1, eventfd-v1,
 *        file-v1, in that order) or LUO_HANDLERS_KERNEL (memfd-v2 only)
 *
 * The handler objects are static and can belong to one core at a time; the
 * kernel's memfd-v2 is an object of its own, which logs why a file luo
 * would take is refused.  On failure the handlers registered by this call
 * are unregistered again.
 *
 * Return: 0, -EINVAL for an unknown @set, or the negative errno of
 * luo_register_file_handler().
 */
int luo_register_handler_set(struct luo_core *core, enum luo_handler_set set)
{
	const struct handler_set *hs = set_of(set);
	size_t i;
	int err;

	if (!hs)
		return -EINVAL;
	for (i = 0; i < hs->nr; i++) {
		err = luo_register_file_handler(core, hs->handlers[i]());
		if (err)
			goto err_unregister;
	}
	return 0;

err_unregister:
	while (i--)
		luo_unregister_file_handler(core, hs->handlers[i]());
	return err;
}

/**
 * luo_unregister_handler_set() - undo luo_register_handler_set()
 * @core: the core they were registered with
 * @set:  the set given to luo_register_handler_set()
 *
 * Unregisters the set's handlers in reverse registration order.
 */
void luo_unregister_handler_set(struct luo_core *core, enum luo_handler_set set)
{
	const struct handler_set *hs = set_of(set);
	size_t i;

	if (!hs)
		return;
	i = hs->nr;
	while (i--)
		luo_unregister_file_handler(core, hs->handlers[i]());
}

/**
 * luo_register_builtin_handlers() - register every built-in file handler
 * @core: the core to register them with
 *
 * The same as luo_register_handler_set(@core, LUO_HANDLERS_LUO).
 *
 * Return: 0, or the negative errno of luo_register_file_handler().
 */
int luo_register_builtin_handlers(struct luo_core *core)
{
	return luo_register_handler_set(core, LUO_HANDLERS_LUO);
}

/**
 * luo_unregister_builtin_handlers() - undo luo_register_builtin_handlers()
 * @core: the core they were registered with
 *
 * Unregisters the built-in handlers in reverse registration order.
 */
void luo_unregister_builtin_handlers(struct luo_core *core)
{
	luo_unregister_handler_set(core, LUO_HANDLERS_LUO);
}
