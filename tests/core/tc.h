/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared helpers of the core's unit tests: assertions, a case runner that
 * checks every case for leaked fds, ioctl wrappers over struct luo_call, a
 * configurable fake file handler and fake FLBs that log every callback in
 * one global order log, and an in-process "reboot" that hands a core's
 * outgoing sessions over to a second core.
 *
 * A program exits 0 if every case passed or skipped (77 if all skipped),
 * 1 if any failed.
 */
#ifndef LUO_TC_H
#define LUO_TC_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "luo_core.h"
#include "luo_handler.h"

#include "../common/check.h"

/* An errno result: 0 or -E..., printed by name on mismatch. */
#define CHECK_ERR(expr, want) do {					\
	int _r = (expr), _w = (want);					\
	if (_r != _w) {							\
		fprintf(stderr, "%s:%d: %s: %s returned %d (%s), expected %d (%s)\n", \
			__FILE__, __LINE__, __func__, #expr, _r,	\
			_r < 0 ? strerror(-_r) : "ok", _w,		\
			_w < 0 ? strerror(-_w) : "ok");			\
		return TEST_FAIL;						\
	}								\
} while (0)

#define TC_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Runs every case (or those named in argv), checks for fd leaks. */
int tc_main(int argc, char **argv, const struct test_case *cases, size_t n);

/* ---- ioctl wrappers: each returns the core's answer --------------------- */

int tc_create(struct luo_core *core, const char *name, struct luo_session **s);
int tc_create_raw(struct luo_core *core, const uint8_t name[64],
		  struct luo_session **s);
int tc_retrieve(struct luo_core *core, const char *name,
		struct luo_session **s);
int tc_retrieve_raw(struct luo_core *core, const uint8_t name[64],
		    struct luo_session **s);
int tc_preserve(struct luo_core *core, struct luo_session *s, int fd,
		uint64_t token);
int tc_retrieve_fd(struct luo_core *core, struct luo_session *s,
		   uint64_t token, int *fd);
int tc_finish(struct luo_core *core, struct luo_session *s);
int tc_get_name(struct luo_core *core, struct luo_session *s, char name[64]);

/* ---- files ------------------------------------------------------------- */

int tc_memfd(const char *name);
/* A pipe; returns the read end and stores the write end in *w (or closes it). */
int tc_pipe(int *w);
int tc_eventfd(void);
/* Two fds of one open file description? (kcmp KCMP_FILE) */
bool tc_same_ofd(int a, int b);

/* ---- the fake file handler --------------------------------------------- */

enum tc_op {
	TC_CAN_PRESERVE,
	TC_PRESERVE,
	TC_UNPRESERVE,
	TC_FREEZE,
	TC_UNFREEZE,
	TC_RETRIEVE,
	TC_CAN_FINISH,
	TC_FINISH,
	TC_GET_ID,
	TC_FLB_PRESERVE,
	TC_FLB_UNPRESERVE,
	TC_FLB_RETRIEVE,
	TC_FLB_FINISH,
	TC_NR_OPS,
};

/* What a fake handler's can_preserve takes, by the fd's st_mode type. */
#define TC_TAKE_FIFO	(1u << 0)	/* pipes */
#define TC_TAKE_REG	(1u << 1)	/* memfds, regular files */
#define TC_TAKE_ANON	(1u << 2)	/* anonymous inodes: eventfd */
#define TC_TAKE_ALL	(TC_TAKE_FIFO | TC_TAKE_REG | TC_TAKE_ANON)

/**
 * struct tc_handler - a file handler that does what it is told
 * @h:          the handler the core sees (first member)
 * @ops:        its callbacks, all set; optional ones can be cleared
 * @take:       TC_TAKE_* mask for can_preserve
 * @fail_at:    per op: fail the Nth call (1-based), 0 never
 * @fail_all:   per op: fail every call
 * @fail_errno: per op: the errno (positive) to fail with; can_finish
 *              answers false instead
 * @calls:      per op: number of calls
 *
 * preserve tags each file with the running number of successful preserves
 * of this handler (1, 2, ...), stored in the file's data, so the order log
 * can tell files apart in both images.  preserve and retrieve allocate
 * private data that unpreserve and finish free: an unbalanced call shows
 * up as a leak under the sanitizers and valgrind.  retrieve returns a dup
 * of the preserved fd.
 */
struct tc_handler {
	struct luo_file_handler h;
	struct luo_file_handler_ops ops;
	unsigned int take;
	int fail_at[TC_NR_OPS];
	bool fail_all[TC_NR_OPS];
	int fail_errno[TC_NR_OPS];
	int calls[TC_NR_OPS];
	uint64_t next_tag;
};

/**
 * struct tc_flb - an FLB that logs its callbacks
 * @flb:        the FLB the core sees (first member)
 * @ops:        its callbacks
 * @fail_at:    per op (TC_FLB_*): fail the Nth call
 * @fail_errno: per op
 * @calls:      per op
 * @data:       what preserve hands over
 * @seen_data:  what retrieve received
 * @out_obj:    the object preserve returns (its address)
 * @in_obj:     the object retrieve returns (its address)
 * @last_obj:   what unpreserve or finish received
 */
struct tc_flb {
	struct luo_flb flb;
	struct luo_flb_ops ops;
	int fail_at[TC_NR_OPS];
	int fail_errno[TC_NR_OPS];
	int calls[TC_NR_OPS];
	uint64_t data;
	uint64_t seen_data;
	int out_obj;
	int in_obj;
	void *last_obj;
};

/**
 * struct tc_event - one callback, in the global order log
 * @op:      which callback
 * @owner:   the struct tc_handler or struct tc_flb
 * @tag:     files: the file's tag (0 before preserve set it)
 * @status:  files: the retrieve_status passed in
 * @retrieved_fd: files: the retrieved_fd passed in
 */
struct tc_event {
	enum tc_op op;
	void *owner;
	uint64_t tag;
	int status;
	int retrieved_fd;
};

#define TC_LOG_MAX	4096

extern struct tc_event tc_log[TC_LOG_MAX];
extern size_t tc_nlog;
/* When false, can_preserve and get_id are not logged (they are noisy). */
extern bool tc_log_queries;

void tc_log_reset(void);
/* Events of one op (any owner), in order, their tags into @tags. */
size_t tc_log_tags(enum tc_op op, uint64_t *tags, size_t max);
size_t tc_log_count(enum tc_op op);
/* Index of the first event of @op with @tag after @from, or -1. */
long tc_log_find(enum tc_op op, uint64_t tag, size_t from);

void tc_handler_init(struct tc_handler *th, const char *compatible,
		     unsigned int take, bool get_id);
void tc_flb_init(struct tc_flb *tf, const char *compatible, uint64_t data);

/* ---- cores and reboots -------------------------------------------------- */

struct luo_core *tc_core(uint32_t max_sessions, uint32_t max_files);

/*
 * Freeze @old (must succeed), write its handover with @update_number, free
 * it as an exec would end it (the preserved fds keep their numbers), and
 * return the handover in *blob (to free()) and the listening fd in
 * *listen_fd (close it after the read).  Handlers are unregistered from
 * @old by luo_core_free() and may be registered with the next core.
 */
int tc_exec(struct luo_core *old, uint64_t update_number, void **blob,
	    size_t *len, int *listen_fd);

/*
 * The whole reboot: tc_exec(@old), a new core with the same limits, @setup
 * to register handlers and FLBs, luo_handover_read().  Returns the new core
 * or NULL (the reason printed).
 */
struct luo_core *tc_reboot(struct luo_core *old, uint64_t update_number,
			   int (*setup)(struct luo_core *core, void *ctx),
			   void *ctx);

#endif /* LUO_TC_H */
