/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What /proc says about one of the process's fds: the target of its
 * /proc/self/fd link and the fields of /proc/self/fdinfo.  Shared by the
 * handlers that tell file kinds apart by them (eventfd, refusals).
 */
#ifndef LUO_FDINFO_H
#define LUO_FDINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int luo_fd_link(int fd, char *buf, size_t len);
bool luo_fd_link_is(int fd, const char *target);
int luo_fdinfo_field(int fd, const char *key, int base, uint64_t *val);

#endif /* LUO_FDINFO_H */
