// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The regular file handler, compatible "file-v1" (DESIGN.md section 5).
 *
 * A regular file on any filesystem except the pseudo filesystems whose
 * content the kernel generates (procfs, sysfs, debugfs, tracefs, cgroupfs,
 * ...), including unlinked files.  Unlinked tmpfs files are memfd-v2's: it is
 * registered first and takes them.
 *
 * Retrieve gives a new open file description of the same inode, opened
 * through /proc/self/fd with the recorded access mode and status flags and
 * set to the recorded position, as memfd-v2 does and as the kernel gives a
 * new struct file: the successor's offset is its own, not shared with a
 * predecessor that may still run (HANDOVER).  What a new description cannot
 * carry is lost, and documented in man/luo-file.7: OFD locks (F_OFD_SETLK),
 * O_ASYNC and its owner, leases.  Preserve checks once that the reopen is
 * permitted, so a file the daemon may not reopen fails at PRESERVE_FD with
 * EACCES rather than after the reboot.
 *
 * Identity for EBUSY is the open file description (no get_id): two opens of
 * one file are two files, as in the kernel.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include "common.h"
#include "handlers.h"
#include "luo_handler.h"
#include "refuse.h"

#ifndef O_LARGEFILE
#define O_LARGEFILE	0
#endif

/* The status flags a reopen carries; the others are not open() flags. */
#define FILE_LUO_OPEN_FLAGS	(O_ACCMODE | O_APPEND | O_NONBLOCK | O_SYNC | \
				 O_DSYNC | O_DIRECT | O_NOATIME)

/**
 * struct file_luo_ser - the file handler's @data in the handover
 * @pos:      file position when last recorded (preserve, then freeze)
 * @flags:    the F_GETFL bits of FILE_LUO_OPEN_FLAGS when last recorded
 * @reserved: 0
 *
 * Packed, 16 bytes, little-endian.  @flags are Linux's O_* values.
 */
struct file_luo_ser {
	uint64_t pos;
	uint32_t flags;
	uint32_t reserved;
} __attribute__((packed));

_Static_assert(sizeof(struct file_luo_ser) == 16, "file_luo_ser size");

static void file_ser_store(struct luo_file_op_args *args,
			   const struct file_luo_ser *ser)
{
	struct file_luo_ser le = {
		.pos = htole64(ser->pos),
		.flags = htole32(ser->flags),
	};

	memcpy(args->data, &le, sizeof(le));
	args->data_len = sizeof(le);
}

static int file_ser_load(const struct luo_file_op_args *args,
			 struct file_luo_ser *ser)
{
	struct file_luo_ser le;

	if (args->data_len != sizeof(le))
		return -EINVAL;
	memcpy(&le, args->data, sizeof(le));
	ser->pos = le64toh(le.pos);
	ser->flags = le32toh(le.flags);
	ser->reserved = le32toh(le.reserved);
	if (ser->flags & ~(uint32_t)FILE_LUO_OPEN_FLAGS || ser->reserved ||
	    (ser->flags & O_ACCMODE) == O_ACCMODE)
		return -EOPNOTSUPP;
	if (ser->pos > (uint64_t)INT64_MAX)
		return -EINVAL;
	return 0;
}

/* 0 if @fd is a regular file this handler takes, filling @st. */
static int file_check(int fd, struct stat *st)
{
	struct statfs sfs;
	int fl;

	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fstat(fd, st) < 0 || fstatfs(fd, &sfs) < 0)
		return -errno;
	if ((fl & O_PATH) || !S_ISREG(st->st_mode) ||
	    luo_pseudo_fs((uint64_t)sfs.f_type))
		return -EINVAL;
	return 0;
}

static int file_capture(int fd, struct file_luo_ser *ser)
{
	off_t pos;
	int fl;

	memset(ser, 0, sizeof(*ser));
	fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -errno;
	pos = lseek(fd, 0, SEEK_CUR);
	if (pos < 0)
		return -errno;
	ser->pos = (uint64_t)pos;
	ser->flags = (uint32_t)(fl & FILE_LUO_OPEN_FLAGS);
	return 0;
}

/*
 * A new open file description of @fd's inode with @flags; see host.c for
 * what happens when the open would wait for a lease, and for @wait.
 */
static int file_reopen(int fd, uint32_t flags, bool wait)
{
	return luo_handler_reopen(fd, (int)flags | O_LARGEFILE, wait);
}

static bool file_can_preserve(struct luo_file_handler *h, int fd)
{
	struct stat st;

	return file_check(fd, &st) == 0;
}

/*
 * preserve: records position and flags, and tries the reopen once.  An open
 * that would wait for a lease passed the permission checks: enough here.
 */
static int file_preserve(struct luo_file_op_args *args)
{
	struct file_luo_ser ser;
	int err, nfd;

	err = file_capture(args->fd, &ser);
	if (err)
		return err;
	nfd = file_reopen(args->fd, ser.flags, false);
	if (nfd < 0 && nfd != -EWOULDBLOCK)
		return nfd;
	luo_handler_close(nfd);
	file_ser_store(args, &ser);
	args->private_data = NULL;
	return 0;
}

/* freeze: records position and flags again; @data unchanged on failure. */
static int file_freeze(struct luo_file_op_args *args)
{
	struct file_luo_ser ser;
	int err;

	err = file_ser_load(args, &ser);
	if (err)
		return err;
	err = file_capture(args->fd, &ser);
	if (err)
		return err;
	file_ser_store(args, &ser);
	return 0;
}

/*
 * retrieve: a new open file description of the inherited fd's inode, with
 * the recorded access mode and flags, O_CLOEXEC, at the recorded position.
 * An open that would wait for a lease answers -EWOULDBLOCK while the host
 * waits for it.
 */
static int file_retrieve(struct luo_file_op_args *args)
{
	struct file_luo_ser ser;
	struct stat st, nst;
	int err, nfd;

	args->retrieved_fd = -1;
	err = file_ser_load(args, &ser);
	if (err)
		return err;
	if (file_check(args->fd, &st))
		return -EINVAL;
	nfd = file_reopen(args->fd, ser.flags, true);
	if (nfd < 0)
		return nfd;
	if (fstat(nfd, &nst) < 0) {
		err = -errno;
		goto err_close;
	}
	if (nst.st_dev != st.st_dev || nst.st_ino != st.st_ino) {
		err = -EINVAL;
		goto err_close;
	}
	if (lseek(nfd, (off_t)ser.pos, SEEK_SET) < 0) {
		err = -errno;
		goto err_close;
	}
	args->retrieved_fd = nfd;
	return 0;

err_close:
	luo_handler_close(nfd);
	return err;
}

/*
 * refuse_reason: file-v1 is registered last, so it explains every refusal
 * that no more specific handler explained (refuse.c).
 */
static const char *file_refuse_reason(struct luo_file_handler *h, int fd)
{
	return luo_refuse_reason(fd);
}

static const struct luo_file_handler_ops file_ops = {
	.can_preserve = file_can_preserve,
	.preserve = file_preserve,
	.unpreserve = luo_handler_release_nothing,
	.freeze = file_freeze,
	.retrieve = file_retrieve,
	.finish = luo_handler_release_nothing,
	.refuse_reason = file_refuse_reason,
};

static struct luo_file_handler file_handler = {
	.ops = &file_ops,
	.compatible = LUO_FILE_COMPATIBLE,
	.list = LIST_HEAD_INIT(file_handler.list),
	.flb_links = LIST_HEAD_INIT(file_handler.flb_links),
};

/**
 * luo_file_handler() - the process's regular file handler ("file-v1")
 *
 * One static object, registrable with one core at a time.
 *
 * Return: the handler; never NULL.
 */
struct luo_file_handler *luo_file_handler(void)
{
	return &file_handler;
}
