// SPDX-License-Identifier: LGPL-2.1-or-later
/* Small I/O helpers of the daemon's own files (io.h). */
#include <errno.h>
#include <unistd.h>

#include "io.h"

/**
 * io_pwrite_all() - write all of @buf at @off, through short writes
 * @fd:  a file of the daemon's own (the handover, the records memfd)
 * @buf: the bytes
 * @len: their number
 * @off: where they go
 *
 * Return: 0 or -errno.
 */
int io_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = pwrite(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}
