/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The built-in file handlers.  Each handler only implements the callbacks of
 * struct luo_file_handler_ops (luo_handler.h); it calls nothing of the core.
 * Registering them with a core is the daemon's job, through
 * luo_register_handler_set() or luo_register_builtin_handlers().
 */
#ifndef LUO_HANDLERS_H
#define LUO_HANDLERS_H

#include <sys/types.h>

#include "luo_handler.h"

struct luo_core;

/* Compatible string of the memfd handler, as written to the handover. */
#define LUO_MEMFD_COMPATIBLE	"memfd-v2"

/* Handlers beyond the kernel (DESIGN.md section 5), and theirs. */
#define LUO_SOCKET_COMPATIBLE	"socket-v1"
#define LUO_PIPE_COMPATIBLE	"pipe-v1"
#define LUO_EVENTFD_COMPATIBLE	"eventfd-v1"
#define LUO_FILE_COMPATIBLE	"file-v1"

/* Files in the daemon's pool (liveupdated --pool). */
#define LUO_POOL_COMPATIBLE	"luo-pool-v1"

/* The fault-injecting handler and its FLB (fault.c): a testing aid. */
#define LUO_FAULT_COMPATIBLE		"fault-v1"
#define LUO_FAULT_FLB_COMPATIBLE	"fault-flb-v1"

struct luo_fault;

/**
 * struct luo_handler_host - blocking work the handlers leave to the process
 * @close_fd:  closes an fd a handler opened of a client's file; may block
 * @open_wait: an open of @fd's file with @flags would block (EWOULDBLOCK: a
 *             lease is being broken): start waiting for it elsewhere and
 *             return 0, or -errno; the handler then answers -EWOULDBLOCK
 *             and is called again once the wait is over
 * @ctx:       passed to each callback
 * Both optional: without them a close is close(2) and the open blocks.
 */
struct luo_handler_host {
	void (*close_fd)(void *ctx, int fd);
	int (*open_wait)(void *ctx, int fd, int flags);
	void *ctx;
};

void luo_handlers_set_host(const struct luo_handler_host *host);

struct luo_file_handler *luo_memfd_handler(void);
void luo_memfd_handler_init(struct luo_file_handler *h);
struct luo_file_handler *luo_socket_handler(void);
struct luo_file_handler *luo_pipe_handler(void);
struct luo_file_handler *luo_eventfd_handler(void);
struct luo_file_handler *luo_file_handler(void);
struct luo_file_handler *luo_pool_handler(dev_t dev, const char *kept);

/**
 * enum luo_handler_set - which built-in handlers a core gets
 * @LUO_HANDLERS_LUO:    all of luo's: memfd-v2, socket-v1, pipe-v1,
 *                       eventfd-v1, file-v1 (DESIGN.md section 5)
 * @LUO_HANDLERS_KERNEL: the kernel's: memfd-v2 only, so that everything
 *                       else is refused with ENOENT as the kernel does
 */
enum luo_handler_set {
	LUO_HANDLERS_LUO,
	LUO_HANDLERS_KERNEL,
};

const char *luo_handler_set_name(enum luo_handler_set set);
int luo_handler_set_parse(const char *name, enum luo_handler_set *set);
int luo_register_handler_set(struct luo_core *core, enum luo_handler_set set);
void luo_unregister_handler_set(struct luo_core *core,
				enum luo_handler_set set);

int luo_register_builtin_handlers(struct luo_core *core);
void luo_unregister_builtin_handlers(struct luo_core *core);

struct luo_fault *luo_fault_new(struct luo_core *core);
struct luo_file_handler *luo_fault_handler(struct luo_fault *f);
struct luo_flb *luo_fault_flb(struct luo_fault *f);
void luo_fault_free(struct luo_fault *f);
int luo_register_fault_handler(struct luo_core *core, struct luo_fault **out);

#endif /* LUO_HANDLERS_H */
