/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small I/O helpers of the daemon's own files (never a client's). */
#ifndef LUOD_IO_H
#define LUOD_IO_H

#include <stddef.h>
#include <stdint.h>

int io_pwrite_all(int fd, const void *buf, size_t len, uint64_t off);

#endif /* LUOD_IO_H */
