// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The eventfd handler, compatible "eventfd-v1" (DESIGN.md section 5).
 *
 * An eventfd cannot be reopened (open() of its /proc/self/fd link fails with
 * ENXIO) and holds no data besides its counter, so the daemon keeps the
 * preserved fd itself and retrieve returns another fd of the same open file
 * description: the counter, EFD_SEMAPHORE, O_NONBLOCK and every waiter's
 * view of it survive as they are, with nothing copied.
 *
 * What is recorded (man/luo-eventfd.7), from /proc/self/fdinfo: the
 * eventfd's id ("eventfd-id", unique while it lives), EFD_SEMAPHORE
 * ("eventfd-semaphore"), O_NONBLOCK (F_GETFL) and, for information, the
 * counter ("eventfd-count").  Retrieve checks that the inherited fd is still
 * that eventfd with those flags.  Identity for EBUSY is the open file
 * description (no get_id): the core's kcmp order.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fdinfo.h"
#include "common.h"
#include "handlers.h"
#include "luo_handler.h"

#define EVENTFD_LINK		"anon_inode:[eventfd]"

#define EVENTFD_LUO_SEMAPHORE	(1u << 0)	/* EFD_SEMAPHORE */
#define EVENTFD_LUO_NONBLOCK	(1u << 1)	/* O_NONBLOCK */
#define EVENTFD_LUO_HAS_ID	(1u << 2)	/* the kernel shows eventfd-id */
#define EVENTFD_LUO_FLAGS	(EVENTFD_LUO_SEMAPHORE | EVENTFD_LUO_NONBLOCK | \
				 EVENTFD_LUO_HAS_ID)

/**
 * struct eventfd_luo_ser - the eventfd handler's @data in the handover
 * @id:    "eventfd-id" of fdinfo, or 0 without EVENTFD_LUO_HAS_ID
 * @count: the counter when last recorded (preserve, then freeze)
 * @flags: EVENTFD_LUO_*
 * @reserved: 0
 *
 * Packed, 24 bytes, little-endian.
 */
struct eventfd_luo_ser {
	uint64_t id;
	uint64_t count;
	uint32_t flags;
	uint32_t reserved;
} __attribute__((packed));

_Static_assert(sizeof(struct eventfd_luo_ser) == 24, "eventfd_luo_ser size");

static void eventfd_ser_store(struct luo_file_op_args *args,
			      const struct eventfd_luo_ser *ser)
{
	struct eventfd_luo_ser le = {
		.id = htole64(ser->id),
		.count = htole64(ser->count),
		.flags = htole32(ser->flags),
	};

	memcpy(args->data, &le, sizeof(le));
	args->data_len = sizeof(le);
}

static int eventfd_ser_load(const struct luo_file_op_args *args,
			    struct eventfd_luo_ser *ser)
{
	struct eventfd_luo_ser le;

	if (args->data_len != sizeof(le))
		return -EINVAL;
	memcpy(&le, args->data, sizeof(le));
	ser->id = le64toh(le.id);
	ser->count = le64toh(le.count);
	ser->flags = le32toh(le.flags);
	ser->reserved = le32toh(le.reserved);
	if (ser->flags & ~EVENTFD_LUO_FLAGS || ser->reserved)
		return -EOPNOTSUPP;
	return 0;
}

/* Reads what is recorded of the eventfd @fd into @ser. */
static int eventfd_capture(int fd, struct eventfd_luo_ser *ser)
{
	uint64_t v;
	int fl, err;

	memset(ser, 0, sizeof(*ser));
	fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -errno;
	if (fl & O_NONBLOCK)
		ser->flags |= EVENTFD_LUO_NONBLOCK;
	err = luo_fdinfo_field(fd, "eventfd-count", 16, &v);
	if (err)
		return err;
	ser->count = v;
	err = luo_fdinfo_field(fd, "eventfd-id", 10, &v);
	if (!err) {
		ser->id = v;
		ser->flags |= EVENTFD_LUO_HAS_ID;
	} else if (err != -ENOENT) {
		return err;
	}
	/* Kernels before 6.3 do not show it; EFD_SEMAPHORE is then unknown. */
	err = luo_fdinfo_field(fd, "eventfd-semaphore", 10, &v);
	if (!err && v)
		ser->flags |= EVENTFD_LUO_SEMAPHORE;
	return err == -ENOENT ? 0 : err;
}

/* can_preserve: an eventfd (not O_PATH: the core refuses those anyway). */
static bool eventfd_can_preserve(struct luo_file_handler *h, int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl >= 0 && !(fl & O_PATH) && luo_fd_link_is(fd, EVENTFD_LINK);
}

/* preserve: records id, flags and counter. */
static int eventfd_preserve(struct luo_file_op_args *args)
{
	struct eventfd_luo_ser ser;
	int err;

	err = eventfd_capture(args->fd, &ser);
	if (err)
		return err;
	eventfd_ser_store(args, &ser);
	args->private_data = NULL;
	return 0;
}

/*
 * freeze: records the flags and counter again (O_NONBLOCK may have been
 * changed with F_SETFL since preserve).  @data is left as it was unless
 * everything could be read, so unfreeze has nothing to undo.
 */
static int eventfd_freeze(struct luo_file_op_args *args)
{
	struct eventfd_luo_ser old, ser;
	int err;

	err = eventfd_ser_load(args, &old);
	if (err)
		return err;
	err = eventfd_capture(args->fd, &ser);
	if (err)
		return err;
	if (ser.id != old.id)
		return -EINVAL;
	eventfd_ser_store(args, &ser);
	return 0;
}

/*
 * retrieve: the inherited fd must still be the recorded eventfd, with the
 * recorded EFD_SEMAPHORE and O_NONBLOCK; the result is another fd of that
 * open file description, O_CLOEXEC.  The counter is whatever it is now.
 */
static int eventfd_retrieve(struct luo_file_op_args *args)
{
	struct eventfd_luo_ser rec, now;
	int err;

	args->retrieved_fd = -1;
	err = eventfd_ser_load(args, &rec);
	if (err)
		return err;
	if (!luo_fd_link_is(args->fd, EVENTFD_LINK))
		return -EINVAL;
	err = eventfd_capture(args->fd, &now);
	if (err)
		return err;
	if (now.id != rec.id || now.flags != rec.flags)
		return -EINVAL;
	return luo_handler_retrieve_same(args);
}

static const struct luo_file_handler_ops eventfd_ops = {
	.can_preserve = eventfd_can_preserve,
	.preserve = eventfd_preserve,
	.unpreserve = luo_handler_release_nothing,
	.freeze = eventfd_freeze,
	.retrieve = eventfd_retrieve,
	.finish = luo_handler_release_nothing,
};

static struct luo_file_handler eventfd_handler = {
	.ops = &eventfd_ops,
	.compatible = LUO_EVENTFD_COMPATIBLE,
	.list = LIST_HEAD_INIT(eventfd_handler.list),
	.flb_links = LIST_HEAD_INIT(eventfd_handler.flb_links),
};

/**
 * luo_eventfd_handler() - the process's eventfd handler ("eventfd-v1")
 *
 * One static object, registrable with one core at a time.
 *
 * Return: the handler; never NULL.
 */
struct luo_file_handler *luo_eventfd_handler(void)
{
	return &eventfd_handler;
}
