// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The target of /proc/self/fd/N and the numeric fields of
 * /proc/self/fdinfo/N, read without stdio and without any state.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdinfo.h"

/* Bytes of fdinfo read: enough for the fields of every anon-inode kind. */
#define FDINFO_MAX	4096

/**
 * luo_fd_link() - the target of /proc/self/fd/@fd
 * @fd:  an open fd
 * @buf: out: the target, NUL-terminated (truncated to fit)
 * @len: bytes at @buf, at least 1
 *
 * Return: 0 or -errno of readlink().
 */
int luo_fd_link(int fd, char *buf, size_t len)
{
	char path[sizeof("/proc/self/fd/") + 12];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, buf, len - 1);
	if (n < 0) {
		buf[0] = '\0';
		return -errno;
	}
	buf[n] = '\0';
	return 0;
}

/**
 * luo_fd_link_is() - whether /proc/self/fd/@fd points to @target exactly
 * @fd:     an open fd
 * @target: e.g. "anon_inode:[eventfd]"
 *
 * Return: true if it does.
 */
bool luo_fd_link_is(int fd, const char *target)
{
	char buf[64];

	return !luo_fd_link(fd, buf, sizeof(buf)) && !strcmp(buf, target);
}

static int fdinfo_read(int fd, char *buf, size_t len)
{
	char path[sizeof("/proc/self/fdinfo/") + 12];
	size_t off = 0;
	ssize_t n = 0;
	int pfd;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	pfd = open(path, O_RDONLY | O_CLOEXEC);
	if (pfd < 0)
		return -errno;
	while (off < len - 1) {
		n = read(pfd, buf + off, len - 1 - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	n = n < 0 ? -errno : 0;
	close(pfd);
	buf[off] = '\0';
	return (int)n;
}

/**
 * luo_fdinfo_field() - a numeric field of /proc/self/fdinfo/@fd
 * @fd:   an open fd
 * @key:  the field's name without the colon, e.g. "eventfd-count"
 * @base: 8, 10 or 16, as the kernel prints that field
 * @val:  out: its value
 *
 * Return: 0; -ENOENT if there is no such field (an older kernel);
 * -EINVAL if it is not a number; -errno of open() or read().
 */
int luo_fdinfo_field(int fd, const char *key, int base, uint64_t *val)
{
	size_t klen = strlen(key);
	char buf[FDINFO_MAX], *line, *end;
	int err;

	err = fdinfo_read(fd, buf, sizeof(buf));
	if (err)
		return err;
	for (line = buf; line && *line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (strncmp(line, key, klen) || line[klen] != ':')
			continue;
		errno = 0;
		*val = strtoull(line + klen + 1, &end, base);
		if (errno || end == line + klen + 1)
			return -EINVAL;
		return 0;
	}
	return -ENOENT;
}
