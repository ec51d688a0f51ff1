// SPDX-License-Identifier: LGPL-2.1-or-later
/* Callbacks that several file handlers share; see common.h. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "common.h"

/**
 * luo_memfd_ser_store() - write struct memfd_luo_ser into a handler's data
 * @args: the callback's arguments: @args->data, @args->data_len are set
 * @ser:  the values, in host order
 */
void luo_memfd_ser_store(struct luo_file_op_args *args,
			 const struct memfd_luo_ser *ser)
{
	struct memfd_luo_ser le = {
		.pos = htole64(ser->pos),
		.size = htole64(ser->size),
		.seals = htole32(ser->seals),
		.flags = htole32(ser->flags),
	};

	memcpy(args->data, &le, sizeof(le));
	args->data_len = sizeof(le);
}

/**
 * luo_memfd_ser_load() - read struct memfd_luo_ser from a handler's data
 * @args: the callback's arguments
 * @ser:  out: the values, in host order
 *
 * Return: 0, or -EINVAL if @args->data_len is not exactly its size.
 */
int luo_memfd_ser_load(const struct luo_file_op_args *args,
		       struct memfd_luo_ser *ser)
{
	struct memfd_luo_ser le;

	if (args->data_len != sizeof(le))
		return -EINVAL;
	memcpy(&le, args->data, sizeof(le));
	ser->pos = le64toh(le.pos);
	ser->size = le64toh(le.size);
	ser->seals = le32toh(le.seals);
	ser->flags = le32toh(le.flags);
	return 0;
}

/**
 * luo_handler_inode_id() - get_id of a handler whose files are one per
 * inode: two descriptions of one memfd, pool file or socket are one file
 * @h:  the handler, unused
 * @fd: the file
 * @id: out: st_dev and st_ino
 *
 * Return: 0 or -errno of fstat().
 */
int luo_handler_inode_id(struct luo_file_handler *h, int fd,
			 struct luo_file_id *id)
{
	struct stat st;

	(void)h;
	if (fstat(fd, &st) < 0)
		return -errno;
	id->a = (uint64_t)st.st_dev;
	id->b = (uint64_t)st.st_ino;
	return 0;
}

/**
 * luo_handler_release_nothing() - unpreserve or finish of a handler that
 * keeps no state of its own: the core closes the fds it owns
 * @args: the callback's arguments, unused
 */
void luo_handler_release_nothing(struct luo_file_op_args *args)
{
}

/**
 * luo_handler_retrieve_same() - hand out the open file description that
 * was preserved, for files that cannot be reopened without changing what
 * they are (a socket, a pipe end, an eventfd)
 * @args: the callback's arguments; @args->fd has been checked by the caller
 *
 * Return: 0 with @args->retrieved_fd a new O_CLOEXEC fd, or -errno.
 */
int luo_handler_retrieve_same(struct luo_file_op_args *args)
{
	int nfd = fcntl(args->fd, F_DUPFD_CLOEXEC, 0);

	if (nfd < 0)
		return -errno;
	args->retrieved_fd = nfd;
	return 0;
}
