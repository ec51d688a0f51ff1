// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The fault-injecting file handler "fault-v1" and its FLB "fault-flb-v1": a
 * testing aid, registered only by liveupdated --fault-injection.
 *
 * It takes the memfds whose name starts with "luo-fault:" and fails the
 * callbacks the rest of the name asks for, a comma-separated list of
 * CALLBACK[=ERRNO] (ERRNO a name such as EIO or a number; EIO if left out):
 *
 *   preserve, freeze, retrieve       the handler's callback returns -ERRNO
 *   can_finish                       can_finish answers "no" (FINISH: EBUSY)
 *   flb-preserve, flb-retrieve       the FLB's callback returns -ERRNO
 *
 * e.g. "luo-fault:freeze=ENOSPC" or "luo-fault:retrieve=ENOMEM,can_finish".
 * The plan travels with the file: its name survives the reboot, so no
 * control channel is needed.  Anything else of the name is ignored, and a
 * file without a plan ("luo-fault:") behaves exactly as a memfd: every
 * callback not failed is the memfd handler's own.
 *
 * The FLB is linked to this handler only.  The core counts the fault files
 * that use it.  Its callbacks have no file argument, so the handler passes
 * the plan of the file being preserved (set by can_preserve and get_id,
 * which run before the FLB's preserve in PRESERVE_FD) or retrieved or
 * finished.  flb-preserve fails only when its file is the FLB's first user,
 * as the kernel calls an FLB's preserve only then; flb-retrieve fails the
 * RETRIEVE_FD of its file (retrieve takes the FLB with
 * luo_flb_get_incoming() first) and, if that file is the last to finish
 * while the FLB was never retrieved, makes the core skip the FLB's finish.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "handlers.h"
#include "luo_handler.h"

#define FAULT_PREFIX		"luo-fault:"
#define FAULT_MEMFD_PREFIX	"/memfd:"
#define FAULT_FLB_DATA		0x4641554c54464c42ULL	/* "FAULTFLB" */

/**
 * struct fault_plan - which callbacks of one file fail, and how
 * @preserve:     errno for preserve, 0 to succeed
 * @freeze:       errno for freeze
 * @retrieve:     errno for retrieve
 * @flb_preserve: errno for the FLB's preserve
 * @flb_retrieve: errno for the FLB's retrieve
 * @can_finish:   can_finish says no
 */
struct fault_plan {
	int preserve;
	int freeze;
	int retrieve;
	int flb_preserve;
	int flb_retrieve;
	bool can_finish;
};

/**
 * struct luo_fault - the handler, its FLB, and the plan in effect
 * @h:    the file handler "fault-v1"
 * @flb:  the FLB "fault-flb-v1"
 * @core: the core both are registered with
 * @cur:  plan of the file whose callback runs now, for the FLB's callbacks
 * @obj:  the FLB's live object
 */
struct luo_fault {
	struct luo_file_handler h;
	struct luo_flb flb;
	struct luo_core *core;
	struct fault_plan cur;
	uint64_t obj;
};

static const struct {
	const char *name;
	int err;
} fault_errnos[] = {
	{ "EPERM", EPERM }, { "ENOENT", ENOENT }, { "EIO", EIO },
	{ "ENXIO", ENXIO }, { "E2BIG", E2BIG }, { "EBADF", EBADF },
	{ "EAGAIN", EAGAIN }, { "ENOMEM", ENOMEM }, { "EACCES", EACCES },
	{ "EFAULT", EFAULT }, { "EBUSY", EBUSY }, { "EEXIST", EEXIST },
	{ "EXDEV", EXDEV }, { "ENODEV", ENODEV }, { "EINVAL", EINVAL },
	{ "ENFILE", ENFILE }, { "EMFILE", EMFILE }, { "EFBIG", EFBIG },
	{ "ENOSPC", ENOSPC }, { "EROFS", EROFS }, { "ENODATA", ENODATA },
	{ "ETIMEDOUT", ETIMEDOUT }, { "EOPNOTSUPP", EOPNOTSUPP },
	{ "EOVERFLOW", EOVERFLOW }, { "ECANCELED", ECANCELED },
};

/* "EIO", "5" or "" (EIO) of length @len; 0 if unknown. */
static int fault_parse_errno(const char *s, size_t len)
{
	char *end;
	long v;
	size_t i;

	if (!len)
		return EIO;
	for (i = 0; i < sizeof(fault_errnos) / sizeof(fault_errnos[0]); i++)
		if (strlen(fault_errnos[i].name) == len &&
		    !strncmp(fault_errnos[i].name, s, len))
			return fault_errnos[i].err;
	v = strtol(s, &end, 10);
	if (end != s + len || v <= 0 || v > 4095)
		return 0;
	return (int)v;
}

/* One CALLBACK[=ERRNO] item of @len bytes into @plan. */
static void fault_parse_item(const char *s, size_t len, struct fault_plan *plan)
{
	static const struct {
		const char *name;
		size_t off;
	} cbs[] = {
		{ "preserve", offsetof(struct fault_plan, preserve) },
		{ "freeze", offsetof(struct fault_plan, freeze) },
		{ "retrieve", offsetof(struct fault_plan, retrieve) },
		{ "flb-preserve", offsetof(struct fault_plan, flb_preserve) },
		{ "flb-retrieve", offsetof(struct fault_plan, flb_retrieve) },
	};
	const char *eq = memchr(s, '=', len);
	size_t n = eq ? (size_t)(eq - s) : len, i;

	if (n == strlen("can_finish") && !strncmp(s, "can_finish", n)) {
		plan->can_finish = true;
		return;
	}
	for (i = 0; i < sizeof(cbs) / sizeof(cbs[0]); i++) {
		if (strlen(cbs[i].name) != n || strncmp(cbs[i].name, s, n))
			continue;
		*(int *)((char *)plan + cbs[i].off) =
			eq ? fault_parse_errno(eq + 1, len - n - 1) : EIO;
		return;
	}
}

/*
 * The plan of @fd from its name, "/memfd:luo-fault:PLAN (deleted)".
 * Return: true if @fd is a fault file.
 */
static bool fault_plan_of(int fd, struct fault_plan *plan)
{
	char path[sizeof("/proc/self/fd/") + 12], name[PATH_MAX];
	const char *s, *end;
	ssize_t n;

	*plan = (struct fault_plan){ 0 };
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, name, sizeof(name) - 1);
	if (n < 0)
		return false;
	name[n] = '\0';
	if (strncmp(name, FAULT_MEMFD_PREFIX FAULT_PREFIX,
		    strlen(FAULT_MEMFD_PREFIX FAULT_PREFIX)))
		return false;
	s = name + strlen(FAULT_MEMFD_PREFIX FAULT_PREFIX);
	end = strstr(s, " (deleted)");
	if (!end)
		end = name + n;
	while (s < end) {
		const char *comma = memchr(s, ',', (size_t)(end - s));
		size_t len = comma ? (size_t)(comma - s) : (size_t)(end - s);

		fault_parse_item(s, len, plan);
		s += len + (comma != NULL);
	}
	return true;
}

static struct luo_fault *fault_of(struct luo_file_handler *h)
{
	return (struct luo_fault *)((char *)h - offsetof(struct luo_fault, h));
}

static const struct luo_file_handler_ops *memfd_ops(void)
{
	return luo_memfd_handler()->ops;
}

static bool fault_can_preserve(struct luo_file_handler *h, int fd)
{
	struct luo_fault *f = fault_of(h);

	if (!memfd_ops()->can_preserve(h, fd))
		return false;
	return fault_plan_of(fd, &f->cur);
}

static int fault_get_id(struct luo_file_handler *h, int fd,
			struct luo_file_id *id)
{
	fault_plan_of(fd, &fault_of(h)->cur);
	return memfd_ops()->get_id(h, fd, id);
}

static int fault_preserve(struct luo_file_op_args *args)
{
	struct fault_plan plan;

	fault_plan_of(args->fd, &plan);
	if (plan.preserve)
		return -plan.preserve;
	return memfd_ops()->preserve(args);
}

static void fault_unpreserve(struct luo_file_op_args *args)
{
	memfd_ops()->unpreserve(args);
}

static int fault_freeze(struct luo_file_op_args *args)
{
	struct fault_plan plan;

	fault_plan_of(args->fd, &plan);
	if (plan.freeze)
		return -plan.freeze;
	return memfd_ops()->freeze(args);
}

/*
 * retrieve: the planned error, else the FLB's (taken and given back at
 * once: the core holds the FLB for every incoming file until it finishes),
 * else memfd's retrieve.
 */
static int fault_retrieve(struct luo_file_op_args *args)
{
	struct luo_fault *f = fault_of(args->handler);
	void *obj;
	int err;

	args->retrieved_fd = -1;
	fault_plan_of(args->fd, &f->cur);
	if (f->cur.retrieve)
		return -f->cur.retrieve;
	err = luo_flb_get_incoming(f->core, &f->flb, &obj);
	if (err)
		return err;
	luo_flb_put_incoming(f->core, &f->flb);
	return memfd_ops()->retrieve(args);
}

static bool fault_can_finish(struct luo_file_op_args *args)
{
	struct fault_plan plan;

	fault_plan_of(args->fd, &plan);
	return !plan.can_finish;
}

/* finish: the core drops the FLB next; its retrieve, if it runs, sees this
 * file's plan. */
static void fault_finish(struct luo_file_op_args *args)
{
	struct luo_fault *f = fault_of(args->handler);

	fault_plan_of(args->fd, &f->cur);
	memfd_ops()->finish(args);
}

static const struct luo_file_handler_ops fault_ops = {
	.can_preserve = fault_can_preserve,
	.preserve = fault_preserve,
	.unpreserve = fault_unpreserve,
	.freeze = fault_freeze,
	.retrieve = fault_retrieve,
	.can_finish = fault_can_finish,
	.finish = fault_finish,
	.get_id = fault_get_id,
};

static struct luo_fault *fault_of_flb(struct luo_flb *flb)
{
	return (struct luo_fault *)((char *)flb - offsetof(struct luo_fault, flb));
}

static int fault_flb_preserve(struct luo_flb_op_args *args)
{
	struct luo_fault *f = fault_of_flb(args->flb);

	if (f->cur.flb_preserve)
		return -f->cur.flb_preserve;
	args->data = FAULT_FLB_DATA;
	args->obj = &f->obj;
	return 0;
}

static void fault_flb_unpreserve(struct luo_flb_op_args *args)
{
}

static int fault_flb_retrieve(struct luo_flb_op_args *args)
{
	struct luo_fault *f = fault_of_flb(args->flb);

	if (f->cur.flb_retrieve)
		return -f->cur.flb_retrieve;
	if (args->data != FAULT_FLB_DATA)
		return -EINVAL;
	args->obj = &f->obj;
	return 0;
}

static void fault_flb_finish(struct luo_flb_op_args *args)
{
}

static const struct luo_flb_ops fault_flb_ops = {
	.preserve = fault_flb_preserve,
	.unpreserve = fault_flb_unpreserve,
	.retrieve = fault_flb_retrieve,
	.finish = fault_flb_finish,
};

/**
 * luo_fault_new() - a "fault-v1" handler and its FLB, not yet registered
 * @core: the core they will be registered with (the handler's retrieve
 *        takes the FLB from it)
 *
 * luo_register_fault_handler() makes and registers them.
 *
 * Return: the new object (luo_fault_free()), or NULL without memory.
 */
struct luo_fault *luo_fault_new(struct luo_core *core)
{
	struct luo_fault *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->core = core;
	f->h.ops = &fault_ops;
	snprintf(f->h.compatible, sizeof(f->h.compatible), "%s",
		 LUO_FAULT_COMPATIBLE);
	list_init(&f->h.list);
	list_init(&f->h.flb_links);
	f->flb.ops = &fault_flb_ops;
	snprintf(f->flb.compatible, sizeof(f->flb.compatible), "%s",
		 LUO_FAULT_FLB_COMPATIBLE);
	return f;
}

/**
 * luo_fault_handler() - the file handler of a luo_fault_new() object
 * @f: the object
 *
 * Return: its handler.
 */
struct luo_file_handler *luo_fault_handler(struct luo_fault *f)
{
	return &f->h;
}

/**
 * luo_fault_flb() - the FLB of a luo_fault_new() object
 * @f: the object
 *
 * Return: its FLB.
 */
struct luo_flb *luo_fault_flb(struct luo_fault *f)
{
	return &f->flb;
}

/**
 * luo_fault_free() - free what luo_fault_new() made
 * @f: the object, or NULL; no longer registered (luo_core_free() was
 *     called, or luo_unregister_file_handler() while no file used it)
 */
void luo_fault_free(struct luo_fault *f)
{
	free(f);
}

/**
 * luo_register_fault_handler() - register "fault-v1" and its FLB
 * @core: the core; call this before luo_register_builtin_handlers(), or
 *        the memfd handler takes the fault files first
 * @out:  out: the handler, to free with luo_fault_free() once @core is
 *        freed
 *
 * A testing aid (liveupdated --fault-injection): memfds named
 * "luo-fault:PLAN" fail the callbacks PLAN names (see fault.c).
 *
 * Return: 0, -ENOMEM, or the errno of luo_register_file_handler() or
 * luo_register_flb(); nothing stays registered on failure.
 */
int luo_register_fault_handler(struct luo_core *core, struct luo_fault **out)
{
	struct luo_fault *f = luo_fault_new(core);
	int err;

	if (!f)
		return -ENOMEM;
	err = luo_register_file_handler(core, luo_fault_handler(f));
	if (err)
		goto err_free;
	err = luo_register_flb(core, luo_fault_handler(f), luo_fault_flb(f));
	if (err)
		goto err_unregister;
	*out = f;
	return 0;

err_unregister:
	luo_unregister_file_handler(core, luo_fault_handler(f));
err_free:
	luo_fault_free(f);
	return err;
}
