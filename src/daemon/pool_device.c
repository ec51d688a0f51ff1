// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A pool on a block device (liveupdated --pool /dev/pmem0): probe it,
 * format it if it holds nothing (or with --pool-format), mount it with
 * DAX.
 *
 * An ext4 superblock labelled "luo-pool" is a pool, mounted as it is
 * (read directly: no tool needed).  Anything else is probed with blkid(8)
 * (blkid -p: the superblocks on the device, not a cache): no signature at
 * all means a new device, which is formatted with mkfs.ext4 -b 4096
 * (below 512 MiB mke2fs would pick 1 KiB blocks, with which a DAX mount
 * fails) and the label "luo-pool"; anything else, or a device blkid
 * cannot tell about (or no blkid), is refused unless --pool-format says
 * to format it.  With --max-pool-per-user a new pool is formatted with
 * the "quota" feature (user quota only, pool_quota.c); a pool formatted
 * without it is refused, and so is a kernel that cannot mount the
 * feature (no CONFIG_QFMT_V2), the new pool then being unmade (its
 * superblock zeroed: the device holds nothing, as before).  The mount is
 * -o dax=always; a device without DAX (a loop device in a test) is
 * mounted without it, and the log says that its pages then go through
 * the page cache.  A device already mounted at the mount point (by the
 * image before an UPGRADE, or an engine before a crash) is used as it is.
 *
 * The tools run at start-up only, before anything is served.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "pool.h"

/* @name's absolute path in the usual directories, or NULL. */
static const char *pool_tool(const char *name, char *buf, size_t len)
{
	static const char *const dirs[] = {
		"/usr/sbin", "/sbin", "/usr/bin", "/bin",
	};

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(buf, len, "%s/%s", dirs[i], name);
		if (access(buf, X_OK) == 0)
			return buf;
	}
	return NULL;
}

/*
 * Runs @argv[0] (found by pool_tool()) with @argv; its standard output into
 * @out (NUL-terminated) if @out.  Returns its exit status (>= 0) or -errno.
 */
static int pool_run(char *const argv[], char *out, size_t out_len)
{
	char path[256];
	int pfd[2] = { -1, -1 }, status;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	if (!pool_tool(argv[0], path, sizeof(path))) {
		log_err("pool: %s not found", argv[0]);
		return -ENOENT;
	}
	if (out && pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		status = -errno;
		if (out) {
			close(pfd[0]);
			close(pfd[1]);
		}
		return status;
	}
	if (!pid) {
		if (out)
			dup2(pfd[1], STDOUT_FILENO);
		else
			dup2(STDERR_FILENO, STDOUT_FILENO);
		execv(path, argv);
		_exit(127);
	}
	if (out) {
		close(pfd[1]);
		while (got + 1 < out_len &&
		       (n = read(pfd[0], out + got, out_len - 1 - got)) != 0) {
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				break;
			got += (size_t)n;
		}
		out[got] = '\0';
		close(pfd[0]);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* The value of KEY= in blkid's "-o export" output, or "". */
static void pool_blkid_value(const char *out, const char *key, char *val,
			     size_t len)
{
	size_t klen = strlen(key);
	const char *l = out;

	*val = '\0';
	while (l && *l) {
		if (!strncmp(l, key, klen) && l[klen] == '=') {
			size_t n = strcspn(l + klen + 1, "\n");

			if (n >= len)
				n = len - 1;
			memcpy(val, l + klen + 1, n);
			val[n] = '\0';
			return;
		}
		l = strchr(l, '\n');
		l = l ? l + 1 : NULL;
	}
}

/*
 * ext2/3/4's superblock: at 1024, magic at 0x38, the read-only compatible
 * features at 0x64, label at 0x78, the user quota inode at 0x240.
 */
#define EXT_SB_OFFSET		1024
#define EXT_SB_MAGIC_OFFSET	0x38
#define EXT_SB_RO_COMPAT_OFFSET	0x64
#define EXT_SB_LABEL_OFFSET	0x78
#define EXT_SB_USR_QUOTA_OFFSET	0x240
#define EXT_SB_MAGIC		0xef53
#define EXT_RO_COMPAT_QUOTA	0x0100

static uint32_t le32_at(const uint8_t *b)
{
	return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
}

/*
 * Whether @dev has an ext superblock labelled as luo's pool; *@usrquota
 * (if not NULL): it has the quota feature with a user quota inode.
 */
static bool pool_is_ours(const char *dev, bool *usrquota)
{
	uint8_t sb[EXT_SB_USR_QUOTA_OFFSET + 4];
	char label[17];
	ssize_t n;
	int fd;

	if (usrquota)
		*usrquota = false;
	fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = pread(fd, sb, sizeof(sb), EXT_SB_OFFSET);
	close(fd);
	if (n != (ssize_t)sizeof(sb) ||
	    (sb[EXT_SB_MAGIC_OFFSET] | sb[EXT_SB_MAGIC_OFFSET + 1] << 8) !=
	    EXT_SB_MAGIC)
		return false;
	memcpy(label, sb + EXT_SB_LABEL_OFFSET, 16);
	label[16] = '\0';
	if (usrquota)
		*usrquota = (le32_at(sb + EXT_SB_RO_COMPAT_OFFSET) &
			     EXT_RO_COMPAT_QUOTA) &&
			    le32_at(sb + EXT_SB_USR_QUOTA_OFFSET);
	return !strcmp(label, POOL_LABEL);
}

/*
 * What @dev holds: 0 nothing, 1 a luo pool, 2 something else (*@type).
 * -errno if it cannot be told.  A pool is recognized by its superblock
 * alone, so that the next boot (an initramfs, say) needs no blkid.
 */
static int pool_probe(const char *dev, char *type, size_t len)
{
	char *const argv[] = {
		"blkid", "-p", "-o", "export", (char *)dev, NULL,
	};
	char out[1024], label[64];
	int r;

	*type = '\0';
	if (pool_is_ours(dev, NULL))
		return 1;
	r = pool_run(argv, out, sizeof(out));
	if (r == 2)
		return 0;
	if (r) {
		log_err("pool %s: cannot tell what it holds (blkid: %s); --pool-format formats it",
			dev, r < 0 ? strerror(-r) : "failed");
		return r < 0 ? r : -EIO;
	}
	pool_blkid_value(out, "TYPE", type, len);
	pool_blkid_value(out, "LABEL", label, sizeof(label));
	if (!strcmp(type, "ext4") && !strcmp(label, POOL_LABEL))
		return 1;
	return 2;
}

/* mkfs.ext4; with @quota, the quota feature for user quota alone. */
static int pool_format(const char *dev, bool quota)
{
	char *const argv[] = {
		"mkfs.ext4", "-q", "-F", "-b", "4096", "-L", POOL_LABEL,
		(char *)dev, NULL,
	};
	char *const qargv[] = {
		"mkfs.ext4", "-q", "-F", "-b", "4096", "-L", POOL_LABEL,
		"-O", "quota", "-E", "quotatype=usrquota", (char *)dev, NULL,
	};
	int r;

	log_notice("pool %s: formatting (mkfs.ext4 -b 4096 -L %s%s)", dev,
		   POOL_LABEL, quota ? " -O quota -E quotatype=usrquota" : "");
	r = pool_run(quota ? qargv : argv, NULL, 0);
	if (r)
		log_err("pool %s: mkfs.ext4 failed (%s)", dev,
			r < 0 ? strerror(-r) : "exit status");
	return r < 0 ? r : r ? -EIO : 0;
}

/*
 * Zeroes the superblock of a pool just formatted, which could not be
 * mounted: the device holds nothing again, as before.
 */
static void pool_unformat(const char *dev)
{
	static const char zero[64 << 10];
	int fd = open(dev, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || pwrite(fd, zero, sizeof(zero), 0) != sizeof(zero) ||
	    fsync(fd) < 0)
		log_warn("pool %s: cannot clear the filesystem just made: %m",
			 dev);
	if (fd >= 0)
		close(fd);
}

/* mkdir -p of @path's last two levels (the runtime directory, then it). */
static int pool_make_mount_point(const char *path)
{
	char parent[PATH_MAX], *slash;

	snprintf(parent, sizeof(parent), "%s", path);
	slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		if (mkdir(parent, 0755) < 0 && errno != EEXIST)
			return -errno;
	}
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int pool_mount(struct pool *p, const char *dev)
{
	unsigned long fl = MS_NOSUID | MS_NODEV | MS_NOEXEC;

	if (mount(dev, p->path, "ext4", fl, "dax=always") == 0) {
		p->dax = true;
		return 0;
	}
	if (errno != EINVAL)
		return -errno;
	if (mount(dev, p->path, "ext4", fl, NULL) < 0)
		return -errno;
	log_warn("pool %s: no DAX on this device: pool files go through the page cache, and only what was written back survives a kexec",
		 dev);
	return 0;
}

/**
 * pool_device_open() - a pool on a block device, mounted at @mount_point
 * @p:           the pool; its @path is set to @mount_point
 * @dev:         the device
 * @format:      --pool-format: format even a device with a filesystem
 * @mount_point: where to mount it
 * @quota:       --max-pool-per-user: a new pool gets user quota, an old
 *               one must have it
 * @fresh:       out: it was formatted now
 *
 * Return: 0 or -errno (logged): -EEXIST for another filesystem without
 * @format; -EOPNOTSUPP with @quota for a pool without user quota, or a
 * kernel that cannot mount it.
 */
int pool_device_open(struct pool *p, const char *dev, bool format,
		     const char *mount_point, bool quota, bool *fresh)
{
	struct stat dst, mst;
	bool usrquota;
	char type[64];
	int r;

	*fresh = false;
	snprintf(p->path, sizeof(p->path), "%s", mount_point);
	if (stat(dev, &dst) < 0)
		return -errno;
	if (stat(mount_point, &mst) == 0 && mst.st_dev == dst.st_rdev) {
		p->mounted = true;
		log_info("pool %s: already mounted at %s", dev, mount_point);
		return 0;
	}
	r = pool_probe(dev, type, sizeof(type));
	if (r < 0 && !format)
		return r;
	if (r == 2 && !format) {
		log_err("pool %s: holds a filesystem (%s) that is not a luo pool; --pool-format formats it",
			dev, type[0] ? type : "unknown");
		return -EEXIST;
	}
	if (r == 1 && quota && pool_is_ours(dev, &usrquota) && !usrquota) {
		log_err("pool %s: formatted without user quota, which --max-pool-per-user needs: with the pool unmounted, tune2fs -O quota -Q usrquota %s adds it (every kernel that mounts the pool then needs CONFIG_QFMT_V2), or start without --max-pool-per-user",
			dev, dev);
		return -EOPNOTSUPP;
	}
	if (r != 1) {
		r = pool_format(dev, quota);
		if (r)
			return r;
		*fresh = true;
	}
	r = pool_make_mount_point(mount_point);
	if (!r)
		r = pool_mount(p, dev);
	if (r == -EINVAL && pool_is_ours(dev, &usrquota) && usrquota) {
		log_err("pool %s: this kernel cannot mount an ext4 with user quota (it needs CONFIG_QUOTA and CONFIG_QFMT_V2, module quota_v2)%s",
			dev, quota ? ": --max-pool-per-user cannot be enforced here" :
			": the pool was formatted for --max-pool-per-user");
		/* A pool made now is unmade: the device holds nothing again. */
		if (*fresh)
			pool_unformat(dev);
		return -EOPNOTSUPP;
	}
	if (r) {
		log_err("pool %s: cannot mount it at %s: %s", dev,
			mount_point, strerror(-r));
		return r;
	}
	p->mounted = true;
	return 0;
}
