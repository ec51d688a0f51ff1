// SPDX-License-Identifier: LGPL-2.1-or-later
/* Callbacks that several file handlers share; see common.h. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "common.h"

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
