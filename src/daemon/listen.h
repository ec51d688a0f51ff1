/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The listening socket: where it lives, making it, and checking the one
 * inherited across a reboot.
 */
#ifndef LUOD_LISTEN_H
#define LUOD_LISTEN_H

#include <stddef.h>
#include <sys/types.h>

int listen_default_path(char *buf, size_t len);
int listen_open(const char *path);
int listen_adopt(int fd, char *path, size_t len);
int listen_set_group(const char *path, gid_t gid);

#endif /* LUOD_LISTEN_H */
