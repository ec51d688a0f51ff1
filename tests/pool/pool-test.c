// SPDX-License-Identifier: LGPL-2.1-or-later
/* The pool tests' helpers (pool-test.h). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pool-test.h"

/**
 * pt_make() - a new pool directory and a stand-in kernel image
 * @e: the environment; its daemon is not started
 */
void pt_make(struct pt_env *e)
{
	int fd;

	memset(e, 0, sizeof(*e));
	snprintf(e->pool, sizeof(e->pool), "/dev/shm/luo-pool-XXXXXX");
	dh_check(mkdtemp(e->pool));
	dh_check(strlen(e->pool) + 9 < sizeof(e->kernel));
	strcpy(e->kernel, e->pool);
	strcat(e->kernel, ".vmlinuz");
	fd = open(e->kernel, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	dh_check(fd >= 0);
	dh_check_eq(write(fd, "MZ", 2), 2);
	close(fd);
}

/**
 * pt_start() - start a daemon on the pool, with --kexec-simulate
 * @e:     the environment
 * @extra: more daemon arguments, NULL-terminated, or NULL
 *
 * Return: dh_start()'s result.
 */
int pt_start(struct pt_env *e, const char *const *extra)
{
	const char *args[16] = { "--pool", e->pool, "--kexec-simulate" };
	char sock[PATH_MAX];
	int n = 3;

	while (extra && *extra && n < 15)
		args[n++] = *extra++;
	args[n] = NULL;
	if (e->d.socket[0]) {
		snprintf(sock, sizeof(sock), "%s", e->d.socket);
		return dh_start_at(&e->d, sock, args);
	}
	return dh_start(&e->d, args);
}

/**
 * pt_restart() - a new daemon on the same pool and socket (the next boot)
 * @e: the environment; its previous daemon has exited
 *
 * Return: dh_start_at()'s result.
 */
int pt_restart(struct pt_env *e)
{
	return pt_start(e, NULL);
}

static int pt_rm(const char *path, const struct stat *st, int flag,
		 struct FTW *ftw)
{
	return remove(path);
}

/**
 * pt_cleanup() - stop the daemon, remove the pool and the directory
 * @e: the environment
 */
void pt_cleanup(struct pt_env *e)
{
	dh_cleanup(&e->d);
	if (e->pool[0])
		nftw(e->pool, pt_rm, 16, FTW_DEPTH | FTW_PHYS);
	if (e->kernel[0])
		unlink(e->kernel);
}

/**
 * pt_kexec() - LUO_IOCTL_REBOOT_KEXEC with @kernel, no initrd
 * @fd:     a device or control fd
 * @kernel: the kernel image's path
 *
 * Return: luo_ioctl()'s result: -ENODEV when the daemon went away (the
 * simulated kexec), else the errno it answered.
 */
int pt_kexec(int fd, const char *kernel)
{
	struct luo_reboot_kexec k = {
		.size = sizeof(k),
		.flags = LUO_KEXEC_NO_INITRD | LUO_KEXEC_CMDLINE,
	};

	snprintf(k.kernel, sizeof(k.kernel), "%s", kernel);
	snprintf(k.cmdline, sizeof(k.cmdline), "console=ttyS0 luo.test=1");
	return luo_ioctl(fd, LUO_IOCTL_REBOOT_KEXEC, &k);
}

/**
 * pt_has_handover() - does the pool hold a kexec's handover (or a part)?
 * @e: the environment
 *
 * Return: true if "handover" or "handover.new" exists in the pool.
 */
bool pt_has_handover(const struct pt_env *e)
{
	char path[PATH_MAX + 16];
	struct stat st;

	snprintf(path, sizeof(path), "%s/handover", e->pool);
	if (!lstat(path, &st))
		return true;
	snprintf(path, sizeof(path), "%s/handover.new", e->pool);
	return !lstat(path, &st);
}

/**
 * pt_fill() - a pattern that differs per byte and per seed
 * @buf:  where
 * @len:  bytes
 * @seed: which pattern
 */
void pt_fill(void *buf, size_t len, unsigned int seed)
{
	unsigned char *b = buf;
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		b[i] = (unsigned char)(x >> 16);
	}
}
