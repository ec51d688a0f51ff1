// SPDX-License-Identifier: LGPL-2.1-or-later
/* The input reader and the fd accounting of fuzz.h. */
#include <dirent.h>
#include <fcntl.h>
#include <string.h>

#include "fuzz.h"

/**
 * fz_bytes() - take up to @len bytes of the input
 * @in:  the input
 * @buf: receives them; what the input lacks is zero-filled
 * @len: bytes wanted
 *
 * Return: the number of bytes the input had.
 */
size_t fz_bytes(struct fz_in *in, void *buf, size_t len)
{
	size_t n = len < in->n ? len : in->n;

	memcpy(buf, in->p, n);
	memset((uint8_t *)buf + n, 0, len - n);
	in->p += n;
	in->n -= n;
	return n;
}

/**
 * fz_u8() - the next byte of the input, 0 past its end
 * @in: the input
 *
 * Return: the byte.
 */
uint8_t fz_u8(struct fz_in *in)
{
	uint8_t v;

	fz_bytes(in, &v, sizeof(v));
	return v;
}

/**
 * fz_u32() - the next four bytes of the input, little-endian
 * @in: the input
 *
 * Return: the value.
 */
uint32_t fz_u32(struct fz_in *in)
{
	uint8_t b[4];

	fz_bytes(in, b, sizeof(b));
	return b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

/**
 * fz_u64() - the next eight bytes of the input, little-endian
 * @in: the input
 *
 * Return: the value.
 */
uint64_t fz_u64(struct fz_in *in)
{
	uint64_t lo = fz_u32(in);

	return lo | (uint64_t)fz_u32(in) << 32;
}

/**
 * fz_count_fds() - the number of fds open in this process
 *
 * Return: the count (the directory's own fd excluded), or -1.
 */
int fz_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;
}

/**
 * fz_fd_open() - whether @fd is an open fd
 * @fd: the number
 *
 * Return: true if it is open.
 */
bool fz_fd_open(int fd)
{
	return fd >= 0 && fcntl(fd, F_GETFD) >= 0;
}
