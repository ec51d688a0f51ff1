// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The memfd file handler, compatible "memfd-v2" (SPEC.md section 6,
 * DESIGN.md section 4).
 *
 * In the kernel, preserving a memfd pins its pages for the next kernel and
 * retrieve builds a new shmem file around them.  Here the "reboot" is a
 * re-exec of the daemon, and the daemon holds a duplicate of the preserved
 * fd across it, so the memory simply stays alive: nothing is pinned and
 * nothing is copied.  Retrieve opens a new open file description of the
 * same inode through /proc/self/fd, with the access mode of the preserved
 * one (a read-only fd comes back read-only), and restores the recorded
 * position.
 *
 * Differences from the kernel that user space cannot avoid (man/luo-memfd.7):
 *  - the size is not locked while preserved: the kernel fails resizes with
 *    EPERM, here the file can still be resized by whoever holds an fd.  The
 *    size is recorded at preserve and again at freeze; after retrieve the
 *    file has whatever size it has then;
 *  - the memfd keeps its name (the kernel's retrieved memfd has an empty
 *    one), its mode, owner and the rest of its inode: it is the same inode;
 *  - seals are recorded at freeze as well as at preserve, because seals added
 *    after preserve cannot be dropped again (the kernel drops them);
 *  - holes are not filled and pages are not pinned.
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
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include "common.h"
#include "handlers.h"
#include "luo_handler.h"

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE	0x0010
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC		0x0020
#endif
#ifndef O_LARGEFILE
#define O_LARGEFILE		0
#endif

/* The seals memfd-v2 knows; any other bit fails with EOPNOTSUPP. */
#define MEMFD_LUO_SEALS	(F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | \
			 F_SEAL_WRITE | F_SEAL_FUTURE_WRITE | F_SEAL_EXEC)

/* No flag is defined yet; any set bit fails retrieve with EOPNOTSUPP. */
#define MEMFD_LUO_FLAGS	0u


_Static_assert(sizeof(struct memfd_luo_ser) == 24, "memfd_luo_ser size");
_Static_assert(sizeof(struct memfd_luo_ser) <= LUO_FILE_DATA_MAX,
	       "memfd_luo_ser fits in the handover");

/* 0 if @fd is a regular file on tmpfs (shmem), filling @st; else -errno. */
static int memfd_check_shmem(int fd, struct stat *st)
{
	struct statfs sfs;

	if (fstatfs(fd, &sfs) < 0 || fstat(fd, st) < 0)
		return -errno;
	if (sfs.f_type != TMPFS_MAGIC || !S_ISREG(st->st_mode))
		return -EINVAL;
	return 0;
}

/* Largest size memfd-v2 takes: UINT_MAX pages (EFBIG above). */
static uint64_t memfd_max_size(void)
{
	long page = sysconf(_SC_PAGESIZE);

	if (page <= 0)
		page = 4096;
	return (uint64_t)UINT_MAX * (uint64_t)page;
}

/*
 * Reads position and size of @fd into @ser, and its seals if @seals: a
 * freeze leaves the seals recorded at preserve (as the kernel's memfd-v2
 * does), which saves a system call per file on every reboot.
 */
static int memfd_capture(int fd, struct memfd_luo_ser *ser, bool seals)
{
	struct stat st;
	off_t pos;

	if (seals) {
		int s = fcntl(fd, F_GET_SEALS);

		if (s < 0)
			return -errno;
		if ((unsigned int)s & ~(unsigned int)MEMFD_LUO_SEALS)
			return -EOPNOTSUPP;
		ser->seals = (uint32_t)s;
	}
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size < 0 || (uint64_t)st.st_size > memfd_max_size())
		return -EFBIG;
	pos = lseek(fd, 0, SEEK_CUR);
	if (pos < 0)
		return -errno;

	ser->pos = (uint64_t)pos;
	ser->size = (uint64_t)st.st_size;
	ser->flags = 0;
	return 0;
}

/*
 * The open flags of a new description that is no more than @fd's: its access
 * mode and O_APPEND.  A memfd preserved through a read-only fd comes back
 * read-only (DESIGN.md section 7a); the daemon's own privileges would let
 * it reopen any memfd read-write.
 */
static int memfd_open_flags(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -errno;
	return fl & (O_ACCMODE | O_APPEND);
}

/*
 * Opens a new open file description of @fd's inode with @flags.  Seals do
 * not matter here: a memfd with F_SEAL_WRITE or F_SEAL_FUTURE_WRITE reopens
 * O_RDWR and only its writes fail (EPERM).  The inode's mode does: unless
 * the process has CAP_DAC_OVERRIDE, the reopen is checked against it like
 * any open.  A lease on the inode makes the open wait: see host.c for what
 * @wait means.
 */
static int memfd_reopen(int fd, int flags, bool wait)
{
	return luo_handler_reopen(fd, flags | O_LARGEFILE, wait);
}

/*
 * can_preserve: a shmem regular file with no links, i.e. a memfd that is
 * not MFD_HUGETLB (hugetlbfs reports HUGETLBFS_MAGIC) or an unlinked tmpfs
 * file such as O_TMPFILE in /dev/shm.  O_PATH fds are refused: the kernel's
 * fget() never returns them.
 */
static bool memfd_can_preserve(struct luo_file_handler *h, int fd)
{
	struct stat st;
	int fl;

	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (fl & O_PATH))
		return false;
	if (memfd_check_shmem(fd, &st) < 0)
		return false;
	return st.st_nlink == 0;
}

/*
 * preserve: records position, size and seals.  It also checks once that the
 * inode can be reopened with the caller's access mode through /proc (it
 * cannot if its mode denies the daemon that access), so that such a file
 * fails now, with EACCES, rather than at retrieve after the reboot.  An open
 * that would wait for a lease to be broken passed the permission checks
 * already: that is enough here, and nothing waits.
 */
static int memfd_preserve(struct luo_file_op_args *args)
{
	struct memfd_luo_ser ser = { 0 };
	int err, flags, nfd;

	err = memfd_capture(args->fd, &ser, true);
	if (err)
		return err;
	flags = memfd_open_flags(args->fd);
	if (flags < 0)
		return flags;
	nfd = memfd_reopen(args->fd, flags, false);
	if (nfd < 0 && nfd != -EWOULDBLOCK)
		return nfd;
	luo_handler_close(nfd);

	luo_memfd_ser_store(args, &ser);
	args->private_data = NULL;
	return 0;
}

/*
 * freeze: records position and size again.  The kernel only records the
 * position here because it locked the size at preserve; that is not
 * possible here.  Seals stay as recorded at preserve: seals can only be
 * added, and retrieve accepts a superset.  Nothing is written to @data
 * unless everything could be read, so a failed freeze leaves the previous
 * record, and unfreeze has nothing to undo.
 */
static int memfd_freeze(struct luo_file_op_args *args)
{
	struct memfd_luo_ser ser = { 0 };
	int err;

	err = luo_memfd_ser_load(args, &ser);
	if (err)
		return err;
	err = memfd_capture(args->fd, &ser, false);
	if (err)
		return err;
	luo_memfd_ser_store(args, &ser);
	return 0;
}

/*
 * retrieve: a new open file description of the same memory, with the access
 * mode and O_APPEND of the preserved description (which the daemon holds,
 * across a reboot too), O_CLOEXEC, at the recorded position.  The size is
 * whatever the file has now, which can differ from @size.
 *
 * If the daemon may no longer write the inode (its mode was changed after
 * preserve), the new description is O_RDONLY instead of failing.  If the
 * open would wait for a lease to be broken, the host waits for it and this
 * answers -EWOULDBLOCK, which is not a failure of the retrieve.
 */
static int memfd_retrieve(struct luo_file_op_args *args)
{
	struct memfd_luo_ser ser = { 0 };
	struct stat st, nst;
	int err, flags, nfd, seals;

	args->retrieved_fd = -1;
	err = luo_memfd_ser_load(args, &ser);
	if (err)
		return err;
	if (ser.seals & ~(uint32_t)MEMFD_LUO_SEALS ||
	    ser.flags & ~MEMFD_LUO_FLAGS)
		return -EOPNOTSUPP;
	if (ser.pos > (uint64_t)INT64_MAX)
		return -EINVAL;

	err = memfd_check_shmem(args->fd, &st);
	if (err)
		return -EINVAL;
	/*
	 * The seals are the inode's own: those recorded at preserve and any
	 * added since (seals are never removed).  The kernel's v2 check of
	 * unknown bits applies to what the file now carries.
	 */
	seals = fcntl(args->fd, F_GET_SEALS);
	if (seals < 0)
		return -errno;
	if ((uint32_t)seals & ~(uint32_t)MEMFD_LUO_SEALS)
		return -EOPNOTSUPP;
	if (((uint32_t)seals & ser.seals) != ser.seals)
		return -EINVAL;

	flags = memfd_open_flags(args->fd);
	if (flags < 0)
		return flags;
	nfd = memfd_reopen(args->fd, flags, true);
	if (nfd == -EACCES && (flags & O_ACCMODE) != O_RDONLY)
		nfd = memfd_reopen(args->fd, O_RDONLY, true);
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

static const struct luo_file_handler_ops memfd_ops = {
	.can_preserve = memfd_can_preserve,
	.preserve = memfd_preserve,
	.unpreserve = luo_handler_release_nothing,
	.freeze = memfd_freeze,
	.retrieve = memfd_retrieve,
	.finish = luo_handler_release_nothing,
	.get_id = luo_handler_inode_id,
};

static struct luo_file_handler memfd_handler = {
	.ops = &memfd_ops,
	.compatible = LUO_MEMFD_COMPATIBLE,
	.list = LIST_HEAD_INIT(memfd_handler.list),
	.flb_links = LIST_HEAD_INIT(memfd_handler.flb_links),
};

/**
 * luo_memfd_handler() - the process's memfd handler ("memfd-v2")
 *
 * The handler is one static object whose list fields belong to the core it
 * is registered with, so it can be registered with one core at a time.  A
 * process that runs several cores at once gives each its own handler with
 * luo_memfd_handler_init().
 *
 * Return: the handler; never NULL.
 */
struct luo_file_handler *luo_memfd_handler(void)
{
	return &memfd_handler;
}

/**
 * luo_memfd_handler_init() - set up a caller-owned memfd handler
 * @h: storage for the handler, which must outlive its registration
 *
 * Fills @h with the memfd callbacks and the "memfd-v2" compatible string and
 * clears the core's private fields.
 */
void luo_memfd_handler_init(struct luo_file_handler *h)
{
	memset(h, 0, sizeof(*h));
	h->ops = &memfd_ops;
	snprintf(h->compatible, sizeof(h->compatible), "%s",
		 LUO_MEMFD_COMPATIBLE);
	list_init(&h->list);
	list_init(&h->flb_links);
}
