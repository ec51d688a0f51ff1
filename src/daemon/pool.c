// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The pool (liveupdated(8) --pool): open it, check its version, make files
 * in it.
 *
 * A pool is a directory holding a marker file "luo-pool" ("luo-pool 1\n":
 * the format's version), the pool files (unnamed: O_TMPFILE, alive while
 * an fd holds them) and, between a REBOOT --kexec and the next boot's
 * daemon, the handover directory (pool_kexec.c, pool_takeover.c).  --pool
 * names either a directory (any filesystem; DAX when it is one) or a block
 * device such as /dev/pmem0, which pool_device.c formats and mounts.
 *
 * The pool is opened once at start-up, by path, by every image: an
 * UPGRADE's or a recovered engine's image finds the device already mounted
 * and the files it preserved are fds it inherited.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "pool.h"

/* The marker's version: 0 if there is none, -errno if it is malformed. */
static int pool_read_marker(int dir, unsigned int *version)
{
	char buf[64] = "";
	unsigned int v;
	ssize_t n;
	int fd;

	*version = 0;
	fd = openat(dir, POOL_MARKER, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	if (sscanf(buf, POOL_MARKER " %u", &v) != 1 || !v)
		return -EINVAL;
	*version = v;
	return 0;
}

/* A new pool: the marker, written durably. */
static int pool_write_marker(int dir)
{
	char buf[32];
	int fd, r, n;

	n = snprintf(buf, sizeof(buf), POOL_MARKER " %u\n", POOL_VERSION);
	fd = openat(dir, POOL_MARKER ".new",
		    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		    0644);
	if (fd < 0)
		return -errno;
	r = io_pwrite_all(fd, buf, (size_t)n, 0);
	if (!r && fsync(fd) < 0)
		r = -errno;
	close(fd);
	if (!r && renameat(dir, POOL_MARKER ".new", dir, POOL_MARKER) < 0)
		r = -errno;
	if (!r && fsync(dir) < 0)
		r = -errno;
	return r;
}

/* The pool's version: written if new (@fresh or a directory without). */
static int pool_check_version(struct pool *p, bool fresh)
{
	unsigned int v;
	int r = pool_read_marker(p->dir_fd, &v);

	if (r) {
		log_err("pool %s: malformed marker file %s: %s", p->path,
			POOL_MARKER, strerror(-r));
		return r;
	}
	if (v > POOL_VERSION) {
		log_err("pool %s: version %u is newer than this liveupdated's (%u): refusing it",
			p->path, v, POOL_VERSION);
		return -EPROTONOSUPPORT;
	}
	if (v)
		return 0;
	if (p->mounted && !fresh) {
		log_err("pool %s: a luo filesystem without its marker",
			p->path);
		return -EINVAL;
	}
	r = pool_write_marker(p->dir_fd);
	if (r)
		log_err("pool %s: cannot write its marker: %s", p->path,
			strerror(-r));
	else
		log_notice("pool %s: new pool (version %u)", p->path,
			   POOL_VERSION);
	return r;
}

/**
 * pool_open() - open (and, for a new device, format and mount) the pool
 * @out:         out: the pool
 * @path:        --pool: a directory or a block device
 * @format:      --pool-format: format a device even if it holds another
 *               filesystem
 * @mount_point: where a device is mounted (created if missing)
 * @quota:       --max-pool-per-user in bytes, 0 if not given: a new
 *               device is formatted with user quota, and the quota is set
 *               up (pool_quota_setup())
 *
 * Return: 0, or -errno after logging why: -EEXIST for a device holding
 * another filesystem (without @format), -EPROTONOSUPPORT for a pool of a
 * newer version, -EOPNOTSUPP where @quota cannot be enforced, the errno
 * of a failed format or mount.
 */
int pool_open(struct pool **out, const char *path, bool format,
	      const char *mount_point, uint64_t quota)
{
	struct pool *p = calloc(1, sizeof(*p));
	bool fresh = false;
	struct stat st;
	int r = 0;

	if (!p)
		return -ENOMEM;
	p->dir_fd = -1;
	if (stat(path, &st) < 0) {
		r = -errno;
		log_err("pool %s: %s", path, strerror(-r));
	} else if (S_ISBLK(st.st_mode)) {
		r = pool_device_open(p, path, format, mount_point, quota != 0,
				     &fresh);
	} else if (S_ISDIR(st.st_mode)) {
		snprintf(p->path, sizeof(p->path), "%s", path);
	} else {
		log_err("pool %s: neither a block device nor a directory",
			path);
		r = -ENOTDIR;
	}
	if (!r) {
		p->dir_fd = open(p->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (p->dir_fd < 0 || fstat(p->dir_fd, &st) < 0) {
			r = -errno;
			log_err("pool %s: %s", p->path, strerror(-r));
		}
	}
	if (!r) {
		p->dev = st.st_dev;
		r = pool_check_version(p, fresh);
	}
	if (!r)
		r = pool_quota_setup(p, quota);
	if (r) {
		pool_free(p);
		return r;
	}
	log_info("pool %s%s%s%s", path, p->mounted ? " mounted at " : "",
		 p->mounted ? p->path : "", p->dax ? " (DAX)" : "");
	*out = p;
	return 0;
}

/**
 * pool_free() - close the pool; a mounted device stays mounted
 * @p: the pool, or NULL
 */
void pool_free(struct pool *p)
{
	if (!p)
		return;
	if (p->dir_fd >= 0)
		close(p->dir_fd);
	free(p);
}

/**
 * pool_new_file() - an unnamed file in the pool (LUO_IOCTL_POOL_MEMFD)
 * @p:       the pool
 * @sealing: the caller wants to add seals (MFD_ALLOW_SEALING)
 * @uid:     the caller: with --max-pool-per-user, the file is charged to
 *           it (pool_quota_charge())
 * @fd:      out: the file, read-write, close-on-exec
 *
 * Return: 0, -EOPNOTSUPP if @sealing and the filesystem cannot seal such
 * a file, the errno of open(O_TMPFILE) (EOPNOTSUPP where the filesystem
 * has no O_TMPFILE, ENOSPC...) or of charging it to @uid.
 */
int pool_new_file(struct pool *p, bool sealing, uint32_t uid, int *fd)
{
	int nfd = openat(p->dir_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	int seals, r = 0;

	if (nfd < 0)
		return errno == EISDIR ? -EOPNOTSUPP : -errno;
	if (sealing) {
		seals = fcntl(nfd, F_GET_SEALS);
		if (seals < 0 || (seals & F_SEAL_SEAL))
			r = -EOPNOTSUPP;
	}
	if (!r)
		r = pool_quota_charge(p, nfd, uid);
	if (r) {
		close(nfd);
		return r;
	}
	*fd = nfd;
	return 0;
}

/**
 * pool_remove_dir() - remove a directory of the pool and the files in it
 * @p:    the pool
 * @name: the directory's name in the pool (one level of files)
 *
 * Files that an fd still holds live on, unnamed.
 *
 * Return: 0 (also if it did not exist) or -errno.
 */
int pool_remove_dir(struct pool *p, const char *name)
{
	int dfd = openat(p->dir_fd, name,
			 O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	struct dirent *e;
	DIR *dir;
	int r = 0;

	if (dfd < 0)
		return errno == ENOENT ? 0 : -errno;
	dir = fdopendir(dfd);
	if (!dir) {
		r = -errno;
		close(dfd);
		return r;
	}
	while ((e = readdir(dir))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (unlinkat(dfd, e->d_name, 0) < 0 && !r)
			r = -errno;
	}
	closedir(dir);
	if (!r && unlinkat(p->dir_fd, name, AT_REMOVEDIR) < 0)
		r = -errno;
	return r;
}
