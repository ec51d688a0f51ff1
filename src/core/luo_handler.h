/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The handler API: how the core talks to one file type (a file handler) and
 * to state shared by many preserved files (an FLB).  Same shape as the
 * kernel's struct liveupdate_file_handler and struct liveupdate_flb
 * (SPEC.md 4.5 and 5), mapped to user space:
 *
 *  - a "struct file" is an fd.  The core owns every fd it passes to a
 *    handler; handlers never close them and never keep them past the call
 *    unless they dup them;
 *  - serialized_data is a small byte blob (@data) that crosses the reboot in
 *    the handover, next to the preserved fd itself.
 */
#ifndef LUO_HANDLER_H
#define LUO_HANDLER_H

#include <stdbool.h>
#include <stdint.h>

#include "list.h"
#include <luo/linux-liveupdate.h>

/* Kernel-internal lengths used by the handover format (not uapi). */
#define LIVEUPDATE_HNDL_COMPAT_LENGTH	48
#define LIVEUPDATE_FLB_COMPAT_LENGTH	48

struct luo_core;
struct luo_file_handler;
struct luo_flb;

/* Bytes a handler may keep in the handover for one file. */
#define LUO_FILE_DATA_MAX	128

/**
 * struct luo_file_op_args - argument block of every file handler callback
 * @handler:         the handler being called
 * @retrieve_status: 0 never retrieved, >0 retrieved, <0 the retrieve errno
 * @fd:              the preserved file: the core's duplicate of the caller's
 *                   fd while outgoing, the fd inherited across the reboot
 *                   while incoming; once retrieved, the retrieved file
 *                   (the core then keeps only that).  Owned by the core.
 * @retrieved_fd:    retrieve: out, a new fd (O_CLOEXEC) the core then owns;
 *                   finish and can_finish: in, that fd or -1
 * @data:            the handler's serialized state (serialized_data)
 * @data_len:        bytes used in @data
 * @private_data:    runtime-only state, set by preserve or retrieve and
 *                   freed by unpreserve or finish
 */
struct luo_file_op_args {
	struct luo_file_handler *handler;
	int retrieve_status;
	int fd;
	int retrieved_fd;
	uint8_t data[LUO_FILE_DATA_MAX];
	uint32_t data_len;
	void *private_data;
};

/**
 * struct luo_file_id - what makes two fds "the same file" for EBUSY
 * @a: first key word (memfd: st_dev)
 * @b: second key word (memfd: st_ino)
 */
struct luo_file_id {
	uint64_t a;
	uint64_t b;
};

/**
 * struct luo_file_handler_ops - callbacks of a file handler
 * @can_preserve: required; true if this handler takes @fd
 * @preserve:     required; record what must survive (PRESERVE_FD)
 * @unpreserve:   required; undo preserve (outgoing session closed)
 * @freeze:       optional; last capture of state at REBOOT
 * @unfreeze:     optional; undo freeze when REBOOT fails
 * @retrieve:     required; build @retrieved_fd from @fd and @data
 * @can_finish:   optional; false blocks FINISH with EBUSY
 * @finish:       required; end of the incoming life of the file
 * @get_id:       optional; identity for double preservation; without it
 *                the open file description is the identity
 * @refuse_reason: optional; asked only when no handler takes @fd: a
 *                static string saying why this handler's kind of file
 *                cannot be preserved, or NULL if @fd is none of its kind.
 *                The core logs the first reason given (PRESERVE_FD's
 *                ENOENT otherwise has no explanation).
 */
struct luo_file_handler_ops {
	bool (*can_preserve)(struct luo_file_handler *h, int fd);
	int (*preserve)(struct luo_file_op_args *args);
	void (*unpreserve)(struct luo_file_op_args *args);
	int (*freeze)(struct luo_file_op_args *args);
	void (*unfreeze)(struct luo_file_op_args *args);
	int (*retrieve)(struct luo_file_op_args *args);
	bool (*can_finish)(struct luo_file_op_args *args);
	void (*finish)(struct luo_file_op_args *args);
	int (*get_id)(struct luo_file_handler *h, int fd, struct luo_file_id *id);
	const char *(*refuse_reason)(struct luo_file_handler *h, int fd);
};

/**
 * struct luo_file_handler - one file type
 * @ops:        callbacks
 * @compatible: unique name, e.g. "memfd-v2", written to the handover
 * @list:       private to the core
 * @flb_links:  private to the core
 * @nr_files:   private to the core: files using this handler
 */
struct luo_file_handler {
	const struct luo_file_handler_ops *ops;
	char compatible[LIVEUPDATE_HNDL_COMPAT_LENGTH];
	struct list_head list;
	struct list_head flb_links;
	uint64_t nr_files;
};

/**
 * struct luo_flb_op_args - argument block of the FLB callbacks
 * @flb:  the FLB being called
 * @data: preserve: out, the handle written to the handover;
 *        retrieve: in, that handle
 * @obj:  the live object: preserve and retrieve: out; unpreserve and
 *        finish: in
 */
struct luo_flb_op_args {
	struct luo_flb *flb;
	uint64_t data;
	void *obj;
};

/**
 * struct luo_flb_ops - callbacks of an FLB, all required
 * @preserve:   first preserved file that needs the FLB
 * @unpreserve: last such file unpreserved
 * @retrieve:   rebuild the object from @data in the new image
 * @finish:     last incoming file that needs it finished
 */
struct luo_flb_ops {
	int (*preserve)(struct luo_flb_op_args *args);
	void (*unpreserve)(struct luo_flb_op_args *args);
	int (*retrieve)(struct luo_flb_op_args *args);
	void (*finish)(struct luo_flb_op_args *args);
};

/**
 * struct luo_flb - File-Lifecycle-Bound shared state
 * @ops:        callbacks
 * @compatible: unique name
 *
 * The core keeps its state of an FLB itself, so one FLB object may be
 * registered with several cores.
 */
struct luo_flb {
	const struct luo_flb_ops *ops;
	char compatible[LIVEUPDATE_FLB_COMPAT_LENGTH];
};

/* Global FLB limit: one page of 64-byte entries after a 16-byte header. */
#define LUO_MAX_FLBS	63

int luo_register_file_handler(struct luo_core *core, struct luo_file_handler *h);
void luo_unregister_file_handler(struct luo_core *core, struct luo_file_handler *h);
struct luo_file_handler *luo_find_file_handler(struct luo_core *core,
					       const char *compatible);

int luo_register_flb(struct luo_core *core, struct luo_file_handler *h,
		     struct luo_flb *flb);
void luo_unregister_flb(struct luo_core *core, struct luo_file_handler *h,
			struct luo_flb *flb);
int luo_flb_get_outgoing(struct luo_core *core, struct luo_flb *flb, void **obj);
int luo_flb_get_incoming(struct luo_core *core, struct luo_flb *flb, void **obj);
void luo_flb_put_incoming(struct luo_core *core, struct luo_flb *flb);

#endif /* LUO_HANDLER_H */
