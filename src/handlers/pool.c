// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The pool file handler, compatible "luo-pool-v1" (liveupdated(8) --pool,
 * luo_pool_memfd(3)).
 *
 * A pool file is an unnamed regular file (O_TMPFILE) on the daemon's pool:
 * a filesystem on memory that a stock kernel leaves alone across a kexec
 * (pmem from memmap=), or any directory for tests.  Its pages live in the
 * pool, so preserving it stores no copy: across a REBOOT or an UPGRADE the
 * daemon holds a duplicate of the fd as for a memfd; across a kexec the
 * daemon links the file into the pool's handover and the next kernel's
 * daemon opens it there (pool_handover.c).  Retrieve opens a new open file
 * description of the same inode through /proc/self/fd, with the access
 * mode and O_APPEND of the preserved one, at the recorded position.
 *
 * The data is struct memfd_luo_ser's layout (position, size, seals,
 * flags).  Seals are recorded where the filesystem has them (tmpfs);
 * elsewhere they are 0.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "handlers.h"
#include "luo_handler.h"

#ifndef O_LARGEFILE
#define O_LARGEFILE	0
#endif

/* The pool's filesystem (st_dev of its root); 0: no pool. */
static dev_t pool_dev;
static bool pool_has_dev;
/* Where the files a takeover kept have their one name ("DIR/"). */
static char pool_kept[PATH_MAX];

/* memfd-v2's layout; @flags is reserved: a pool of a later version. */
static int pool_ser_load(const struct luo_file_op_args *args,
			 struct memfd_luo_ser *ser)
{
	int r = luo_memfd_ser_load(args, ser);

	return r ?: ser->flags ? -EOPNOTSUPP : 0;
}

/* A regular file on the pool's filesystem; fills @st. */
static bool pool_file_of(int fd, struct stat *st)
{
	int fl = fcntl(fd, F_GETFL);

	if (!pool_has_dev || fl < 0 || (fl & O_PATH) || fstat(fd, st) < 0)
		return false;
	return S_ISREG(st->st_mode) && st->st_dev == pool_dev;
}

/* Position, size, and the seals if the filesystem has them. */
static int pool_capture(int fd, struct memfd_luo_ser *ser, bool seals)
{
	struct stat st;
	off_t pos;

	if (seals) {
		int s = fcntl(fd, F_GET_SEALS);

		ser->seals = s < 0 ? 0 : (uint32_t)s;
	}
	if (fstat(fd, &st) < 0)
		return -errno;
	pos = lseek(fd, 0, SEEK_CUR);
	if (pos < 0)
		return -errno;
	ser->pos = (uint64_t)pos;
	ser->size = (uint64_t)st.st_size;
	ser->flags = 0;
	return 0;
}

static int pool_open_flags(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -errno : fl & (O_ACCMODE | O_APPEND);
}

/* @fd's one name is in the kept handover (pool_takeover.c). */
static bool pool_is_kept(int fd)
{
	char proc[64], path[PATH_MAX];
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, path, sizeof(path) - 1);
	if (n <= 0 || !pool_kept[0])
		return false;
	path[n] = '\0';
	return !strncmp(path, pool_kept, strlen(pool_kept)) &&
	       !strchr(path + strlen(pool_kept), '/');
}

/*
 * can_preserve: an unnamed regular file on the pool, as POOL_MEMFD makes
 * them, or one a takeover gave back, whose one name is in the kept
 * handover (any other file linked into the pool is the daemon's own,
 * never a client's).
 */
static bool pool_can_preserve(struct luo_file_handler *h, int fd)
{
	struct stat st;

	return pool_file_of(fd, &st) &&
	       (st.st_nlink == 0 || (st.st_nlink == 1 && pool_is_kept(fd)));
}

/* preserve: record, and check once that the file can be reopened. */
static int pool_preserve(struct luo_file_op_args *args)
{
	struct memfd_luo_ser ser = { 0 };
	int err, flags, nfd;

	err = pool_capture(args->fd, &ser, true);
	if (err)
		return err;
	flags = pool_open_flags(args->fd);
	if (flags < 0)
		return flags;
	nfd = luo_handler_reopen(args->fd, flags | O_LARGEFILE, false);
	if (nfd < 0 && nfd != -EWOULDBLOCK)
		return nfd;
	luo_handler_close(nfd);
	luo_memfd_ser_store(args, &ser);
	args->private_data = NULL;
	return 0;
}

/* freeze: position and size again; seals stay as recorded. */
static int pool_freeze(struct luo_file_op_args *args)
{
	struct memfd_luo_ser ser = { 0 };
	int err = pool_ser_load(args, &ser);

	err = err ?: pool_capture(args->fd, &ser, false);
	if (!err)
		luo_memfd_ser_store(args, &ser);
	return err;
}

/*
 * retrieve: a new open file description of the same pages, with the
 * preserved access mode, at the recorded position.  After a kexec @fd is
 * the file the daemon opened in the pool, with the access mode written
 * down beside it.
 */
static int pool_retrieve(struct luo_file_op_args *args)
{
	struct memfd_luo_ser ser = { 0 };
	struct stat st, nst;
	int err, flags, nfd;

	args->retrieved_fd = -1;
	err = pool_ser_load(args, &ser);
	if (err)
		return err;
	if (ser.pos > (uint64_t)INT64_MAX)
		return -EINVAL;
	if (fstat(args->fd, &st) < 0 || !S_ISREG(st.st_mode))
		return -EINVAL;
	flags = pool_open_flags(args->fd);
	if (flags < 0)
		return flags;
	nfd = luo_handler_reopen(args->fd, flags | O_LARGEFILE, true);
	if (nfd < 0)
		return nfd;
	if (fstat(nfd, &nst) < 0)
		err = -errno;
	else if (nst.st_dev != st.st_dev || nst.st_ino != st.st_ino)
		err = -EINVAL;
	else if (lseek(nfd, (off_t)ser.pos, SEEK_SET) < 0)
		err = -errno;
	if (err) {
		luo_handler_close(nfd);
		return err;
	}
	args->retrieved_fd = nfd;
	return 0;
}

static const struct luo_file_handler_ops pool_ops = {
	.can_preserve = pool_can_preserve,
	.preserve = pool_preserve,
	.unpreserve = luo_handler_release_nothing,
	.freeze = pool_freeze,
	.retrieve = pool_retrieve,
	.finish = luo_handler_release_nothing,
	.get_id = luo_handler_inode_id,
};

static struct luo_file_handler pool_handler = {
	.ops = &pool_ops,
	.compatible = LUO_POOL_COMPATIBLE,
	.list = LIST_HEAD_INIT(pool_handler.list),
	.flb_links = LIST_HEAD_INIT(pool_handler.flb_links),
};

/**
 * luo_pool_handler() - the pool file handler ("luo-pool-v1")
 * @dev:  st_dev of the pool's filesystem: the files it takes live there
 * @kept: the directory where a takeover keeps the pool files it gave
 *        back, each under one name (it takes those too)
 *
 * One static object, registered with one core at a time, before memfd-v2
 * (a directory pool on tmpfs holds tmpfs files that memfd-v2 would take).
 *
 * Return: the handler; never NULL.
 */
struct luo_file_handler *luo_pool_handler(dev_t dev, const char *kept)
{
	pool_dev = dev;
	pool_has_dev = true;
	snprintf(pool_kept, sizeof(pool_kept), "%s/", kept);
	return &pool_handler;
}
