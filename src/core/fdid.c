// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The identity of an fd that crosses an exec: its number and the file it
 * names (type, st_dev, st_ino).  A number alone proves nothing once an
 * image has closed and reused it; every inherited fd is checked against
 * what was written down before it is used or closed.
 */
#include <errno.h>
#include <sys/stat.h>

#include "luo_core.h"

/**
 * luo_fd_id_of() - write down what @fd names
 * @fd: an open fd, or -1
 * @id: out: its identity; for -1, @id->fd is -1 and the rest zero
 *
 * Return: 0, or the -errno of fstat().
 */
int luo_fd_id_of(int fd, struct luo_fd_id *id)
{
	struct stat st;

	*id = (struct luo_fd_id){ .fd = -1 };
	if (fd < 0)
		return 0;
	if (fstat(fd, &st))
		return -errno;
	id->fd = fd;
	id->type = st.st_mode & S_IFMT;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	return 0;
}

/**
 * luo_fd_id_check() - does the number written down still name that file?
 * @id: an identity from luo_fd_id_of(), possibly of an earlier image
 *
 * Return: true if @id->fd is open and names the same type, device and
 * inode; false for @id->fd -1.
 */
bool luo_fd_id_check(const struct luo_fd_id *id)
{
	struct stat st;

	if (id->fd < 0 || fstat(id->fd, &st))
		return false;
	return (st.st_mode & S_IFMT) == id->type && st.st_dev == id->dev &&
	       st.st_ino == id->ino;
}
