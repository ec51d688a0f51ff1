/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The pool (liveupdated --pool, DESIGN.md section 9): a filesystem on
 * memory that a kexec leaves alone, holding pool files and the handover a
 * REBOOT --kexec writes.
 */
#ifndef LUOD_POOL_H
#define LUOD_POOL_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct luo_core;

/* The pool's format version, in its marker file. */
#define POOL_VERSION		1
#define POOL_MARKER		"luo-pool"
#define POOL_LABEL		"luo-pool"
/* Written by REBOOT --kexec, read and removed by the next boot's daemon. */
#define POOL_HANDOVER_DIR	"handover"
#define POOL_HANDOVER_NEW	"handover.new"
#define POOL_HANDOVER_BLOB	"handover"
#define POOL_HANDOVER_FDS	"fds"
/*
 * The taken-over handover, its pool files only: a name for each until the
 * next takeover, so that a file retrieved can be linked into the handover
 * of the next REBOOT --kexec (an inode that lost its last name cannot be
 * linked again unless it was made O_TMPFILE and never named).
 */
#define POOL_KEPT_DIR		"kept"

/**
 * struct pool - an open pool
 * @path:     where its files are: the directory given, or the mount point
 * @dir_fd:   that directory (O_DIRECTORY, close-on-exec)
 * @dev:      st_dev of its filesystem
 * @mounted:  a device the daemon mounted at @path (it stays mounted)
 * @dax:      the filesystem was mounted with -o dax=always
 * @quota:    --max-pool-per-user holds: the filesystem enforces user
 *            quota and pool files are charged to their users
 *            (pool_quota.c)
 * @quota_bytes: --max-pool-per-user, 0 if not given
 */
struct pool {
	char path[PATH_MAX];
	int dir_fd;
	dev_t dev;
	bool mounted;
	bool dax;
	bool quota;
	uint64_t quota_bytes;
};

/**
 * struct pool_fdrec - one file of a kexec's handover, in its "fds" file
 * @fd:     the fd number the handover wrote the file under
 * @kind:   POOL_REC_*
 * @flags:  the preserved description's access mode and O_APPEND
 * @seals:  a memfd's seals (POOL_REC_MEMFD), else 0
 *
 * Little-endian, 16 bytes.  The file itself is "f-FD" in the handover's
 * directory: a pool file linked there, or the copy of a memfd.
 */
struct pool_fdrec {
	uint32_t fd;
	uint32_t kind;
	uint32_t flags;
	uint32_t seals;
};

enum {
	POOL_REC_POOL = 1,	/* a pool file: the same pages */
	POOL_REC_MEMFD = 2,	/* an ordinary memfd, copied */
};

int pool_open(struct pool **out, const char *path, bool format,
	      const char *mount_point, uint64_t quota);
void pool_free(struct pool *p);
int pool_device_open(struct pool *p, const char *dev, bool format,
		     const char *mount_point, bool quota, bool *fresh);
int pool_new_file(struct pool *p, bool sealing, uint32_t uid, int *fd);

int pool_quota_setup(struct pool *p, uint64_t limit);
int pool_quota_charge(struct pool *p, int fd, uint32_t uid);
int pool_quota_room(struct pool *p, uint32_t uid, uint64_t need,
		    uint64_t *used, uint64_t *limit);
uint32_t pool_quota_write_begin(struct pool *p);
void pool_quota_write_end(uint32_t lowered);
uint32_t pool_quota_link_begin(struct pool *p);
void pool_quota_link_end(uint32_t raised);
int pool_remove_dir(struct pool *p, const char *name);

int pool_takeover(struct pool *p, struct luo_core *core);

#endif /* LUOD_POOL_H */
