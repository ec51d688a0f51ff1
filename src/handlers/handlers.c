// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Registration of the built-in handlers with a core.  Kept apart from the
 * handlers themselves so that a program using only the callbacks (the
 * handler tests) does not pull in the core's registration functions.
 */
#include <stddef.h>

#include "handlers.h"
#include "luo_handler.h"

/*
 * Built-in handlers, in registration order (can_preserve is tried in it):
 * memfd before file, which would take unlinked tmpfs files too; file last,
 * as its refuse_reason explains what nobody takes.
 */
static struct luo_file_handler *(*const builtin_handlers[])(void) = {
	luo_memfd_handler,
	luo_socket_handler,
	luo_pipe_handler,
	luo_eventfd_handler,
	luo_file_handler,
};

#define NR_BUILTIN_HANDLERS \
	(sizeof(builtin_handlers) / sizeof(builtin_handlers[0]))

/**
 * luo_register_builtin_handlers() - register every built-in file handler
 * @core: the core to register them with
 *
 * Registers, in order, the static handler objects: memfd-v2, socket-v1,
 * pipe-v1, eventfd-v1, file-v1.  Those objects can belong to one core at a
 * time.  On failure the handlers registered by this call are unregistered again.
 *
 * Return: 0, or the negative errno of luo_register_file_handler().
 */
int luo_register_builtin_handlers(struct luo_core *core)
{
	size_t i;
	int err;

	for (i = 0; i < NR_BUILTIN_HANDLERS; i++) {
		err = luo_register_file_handler(core, builtin_handlers[i]());
		if (err)
			goto err_unregister;
	}
	return 0;

err_unregister:
	while (i--)
		luo_unregister_file_handler(core, builtin_handlers[i]());
	return err;
}

/**
 * luo_unregister_builtin_handlers() - undo luo_register_builtin_handlers()
 * @core: the core they were registered with
 *
 * Unregisters the built-in handlers in reverse registration order.
 */
void luo_unregister_builtin_handlers(struct luo_core *core)
{
	size_t i = NR_BUILTIN_HANDLERS;

	while (i--)
		luo_unregister_file_handler(core, builtin_handlers[i]());
}
