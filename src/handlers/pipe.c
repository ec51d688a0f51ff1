// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The pipe and FIFO handler, compatible "pipe-v1" (DESIGN.md section 5).
 *
 * A pipe's bytes live in the pipe itself, which stays alive as long as the
 * daemon holds an fd of it: retrieve returns another fd of the very open
 * file description that was preserved, so unread bytes, the end (read or
 * write), O_NONBLOCK and the pipe's capacity are all still there.  A pipe
 * could be reopened through /proc/self/fd, and a FIFO by its path, but a
 * new description would count as a new reader or writer of the pipe (a
 * reader seeing EOF or a writer SIGPIPE at the wrong moment), so the same
 * description is both simpler and correct.
 *
 * Recorded (man/luo-pipe.7): the access mode (O_RDONLY, O_WRONLY, or O_RDWR
 * for a FIFO), O_NONBLOCK, whether it is a FIFO, and the inode (st_dev,
 * st_ino) — for a FIFO that is the inode of its path.  Retrieve checks that
 * the inherited fd is still that pipe with that access mode.  Identity for
 * EBUSY is the open file description (no get_id): the two ends of a pipe
 * are two files.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include "common.h"
#include "handlers.h"
#include "luo_handler.h"

#define PIPE_LUO_FIFO		(1u << 0)	/* a named pipe, not pipe(2) */
#define PIPE_LUO_NONBLOCK	(1u << 1)	/* O_NONBLOCK when recorded */
#define PIPE_LUO_FLAGS		(PIPE_LUO_FIFO | PIPE_LUO_NONBLOCK)

/**
 * struct pipe_luo_ser - the pipe handler's @data in the handover
 * @dev:     st_dev of the pipe
 * @ino:     st_ino of the pipe
 * @accmode: O_RDONLY, O_WRONLY or O_RDWR
 * @flags:   PIPE_LUO_*
 *
 * Packed, 24 bytes, little-endian.
 */
struct pipe_luo_ser {
	uint64_t dev;
	uint64_t ino;
	uint32_t accmode;
	uint32_t flags;
} __attribute__((packed));

_Static_assert(sizeof(struct pipe_luo_ser) == 24, "pipe_luo_ser size");

static void pipe_ser_store(struct luo_file_op_args *args,
			   const struct pipe_luo_ser *ser)
{
	struct pipe_luo_ser le = {
		.dev = htole64(ser->dev),
		.ino = htole64(ser->ino),
		.accmode = htole32(ser->accmode),
		.flags = htole32(ser->flags),
	};

	memcpy(args->data, &le, sizeof(le));
	args->data_len = sizeof(le);
}

static int pipe_ser_load(const struct luo_file_op_args *args,
			 struct pipe_luo_ser *ser)
{
	struct pipe_luo_ser le;

	if (args->data_len != sizeof(le))
		return -EINVAL;
	memcpy(&le, args->data, sizeof(le));
	ser->dev = le64toh(le.dev);
	ser->ino = le64toh(le.ino);
	ser->accmode = le32toh(le.accmode);
	ser->flags = le32toh(le.flags);
	if (ser->flags & ~PIPE_LUO_FLAGS || ser->accmode > O_RDWR)
		return -EOPNOTSUPP;
	return 0;
}

/* Reads what is recorded of the pipe @fd into @ser; -EINVAL if no pipe. */
static int pipe_capture(int fd, struct pipe_luo_ser *ser)
{
	struct statfs sfs;
	struct stat st;
	int fl;

	memset(ser, 0, sizeof(*ser));
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fstat(fd, &st) < 0 || fstatfs(fd, &sfs) < 0)
		return -errno;
	if (!S_ISFIFO(st.st_mode) || (fl & O_PATH))
		return -EINVAL;
	ser->dev = (uint64_t)st.st_dev;
	ser->ino = (uint64_t)st.st_ino;
	ser->accmode = (uint32_t)(fl & O_ACCMODE);
	if (sfs.f_type != PIPEFS_MAGIC)
		ser->flags |= PIPE_LUO_FIFO;
	if (fl & O_NONBLOCK)
		ser->flags |= PIPE_LUO_NONBLOCK;
	return 0;
}

/* can_preserve: a pipe or a FIFO, either end. */
static bool pipe_can_preserve(struct luo_file_handler *h, int fd)
{
	struct pipe_luo_ser ser;

	return pipe_capture(fd, &ser) == 0;
}

/* preserve: records inode, end and flags. */
static int pipe_preserve(struct luo_file_op_args *args)
{
	struct pipe_luo_ser ser;
	int err;

	err = pipe_capture(args->fd, &ser);
	if (err)
		return err;
	pipe_ser_store(args, &ser);
	args->private_data = NULL;
	return 0;
}

/* freeze: records O_NONBLOCK again; the rest cannot change. */
static int pipe_freeze(struct luo_file_op_args *args)
{
	struct pipe_luo_ser old, ser;
	int err;

	err = pipe_ser_load(args, &old);
	if (err)
		return err;
	err = pipe_capture(args->fd, &ser);
	if (err)
		return err;
	if (ser.dev != old.dev || ser.ino != old.ino)
		return -EINVAL;
	pipe_ser_store(args, &ser);
	return 0;
}

/*
 * retrieve: the inherited fd must be the recorded pipe, of the recorded
 * kind, with the recorded access mode; the result is another fd of that
 * open file description, O_CLOEXEC.  O_NONBLOCK is the description's own
 * and is not checked: it is what it is now.
 */
static int pipe_retrieve(struct luo_file_op_args *args)
{
	struct pipe_luo_ser rec, now;
	int err;

	args->retrieved_fd = -1;
	err = pipe_ser_load(args, &rec);
	if (err)
		return err;
	err = pipe_capture(args->fd, &now);
	if (err)
		return err;
	if (now.dev != rec.dev || now.ino != rec.ino ||
	    now.accmode != rec.accmode ||
	    (now.flags & PIPE_LUO_FIFO) != (rec.flags & PIPE_LUO_FIFO))
		return -EINVAL;
	return luo_handler_retrieve_same(args);
}

static const struct luo_file_handler_ops pipe_ops = {
	.can_preserve = pipe_can_preserve,
	.preserve = pipe_preserve,
	.unpreserve = luo_handler_release_nothing,
	.freeze = pipe_freeze,
	.retrieve = pipe_retrieve,
	.finish = luo_handler_release_nothing,
};

static struct luo_file_handler pipe_handler = {
	.ops = &pipe_ops,
	.compatible = LUO_PIPE_COMPATIBLE,
	.list = LIST_HEAD_INIT(pipe_handler.list),
	.flb_links = LIST_HEAD_INIT(pipe_handler.flb_links),
};

/**
 * luo_pipe_handler() - the process's pipe and FIFO handler ("pipe-v1")
 *
 * One static object, registrable with one core at a time.
 *
 * Return: the handler; never NULL.
 */
struct luo_file_handler *luo_pipe_handler(void)
{
	return &pipe_handler;
}
