/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The listening socket: where it lives, making it, and checking the one
 * inherited across a reboot.
 */
#ifndef LUOD_LISTEN_H
#define LUOD_LISTEN_H

#include <stddef.h>
#include <sys/types.h>

/**
 * struct listen_file - the socket file we made or found, so that only it
 * is removed at shut-down
 * @dev: its device
 * @ino: its inode, 0 if unknown (then nothing is removed)
 */
struct listen_file {
	dev_t dev;
	ino_t ino;
};

int listen_default_path(char *buf, size_t len);
int listen_open(const char *path, gid_t gid, struct listen_file *file);
int listen_adopt(int fd, char *path, size_t len, struct listen_file *file);
void listen_unlink(const char *path, const struct listen_file *file);

#endif /* LUOD_LISTEN_H */
