// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * kvd's cold restart: --save FILE writes the dataset to a file when kvd
 * stops, --load FILE starts from such a file.  This is the way a service
 * without live update keeps its data across a restart, and the benchmark's
 * baseline (bench/blackout): the bytes go out to the file and back in.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "persist.h"

static int write_all(int fd, const char *p, uint64_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len > (1u << 30) ? (1u << 30) : len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (uint64_t)n;
	}
	return 0;
}

static int read_all(int fd, char *p, uint64_t len)
{
	while (len) {
		ssize_t n = read(fd, p, len > (1u << 30) ? (1u << 30) : len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EINVAL;
		p += n;
		len -= (uint64_t)n;
	}
	return 0;
}

/**
 * kvd_store_save() - write the dataset to a file
 * @st:   the store
 * @path: the file, replaced
 *
 * Writes the memfd's bytes up to the end of the arena in use, then syncs
 * the file.
 *
 * Return: 0 or -errno.
 */
int kvd_store_save(struct kvd_store *st, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int ret;

	if (fd < 0)
		return -errno;
	ret = write_all(fd, st->base, st->hdr->top);
	if (!ret && fdatasync(fd))
		ret = -errno;
	if (close(fd) && !ret)
		ret = -errno;
	return ret;
}

/* A new memfd of @size bytes, mapped, with the file's bytes read into it. */
static int load_into(struct kvd_store *st, int fd, uint64_t size,
		     uint64_t used)
{
	int mfd = memfd_create("kvd-data", MFD_CLOEXEC), ret;
	void *p;

	if (mfd < 0)
		return -errno;
	if (ftruncate(mfd, (off_t)size)) {
		ret = -errno;
		close(mfd);
		return ret;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (p == MAP_FAILED) {
		ret = -errno;
		close(mfd);
		return ret;
	}
	ret = read_all(fd, p, used);
	munmap(p, size);
	ret = ret ?: kvd_store_attach(st, mfd);
	if (ret)
		close(mfd);
	return ret;
}

/**
 * kvd_store_load() - a new dataset with the contents of a saved file
 * @st:   out: the store
 * @path: a file written by kvd_store_save()
 *
 * Return: 0, -EINVAL if it is not a saved kvd dataset, or -errno.
 */
int kvd_store_load(struct kvd_store *st, const char *path)
{
	struct kvd_header h;
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb))
		ret = -errno;
	else if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
		 h.top != (uint64_t)sb.st_size || h.top > h.size)
		ret = -EINVAL;
	else
		ret = load_into(st, fd, h.size, h.top);
	close(fd);
	return ret;
}
