/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libluo-preload: what luo-run(1) puts in LD_PRELOAD.  Internal interfaces
 * between its files; only the interposed libc symbols are exported
 * (libluo-preload.map).
 */
#ifndef LUO_PRELOAD_H
#define LUO_PRELOAD_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#define LP_DEVICE_PATH	"/dev/liveupdate"
#define LP_DEVICE_NAME	"liveupdate"

/* real.c: the next definition of a libc symbol (dlsym RTLD_NEXT). */
void *lp_next(const char *name, void **slot);
#define LP_NEXT(name) \
	({ static void *__slot; (__typeof__(&name))lp_next(#name, &__slot); })

int lp_real_fstatat(int dirfd, const char *path, struct stat *st, int flags);
int lp_real_ioctl(int fd, unsigned long request, void *arg);

/* devpath.c: the device node that is not there. */
bool lp_is_device(int dirfd, const char *path);
int lp_socket_path(char *buf, size_t len);
int lp_probe_daemon(pid_t *pid);
int lp_device_stat(struct stat *st);

/* owner.c: is an fd a device or session fd of the daemon? */
void lp_owner_add(int fd, pid_t daemon_pid);
bool lp_fd_is_ours(int fd);

/* umem.c: the caller's memory, read and written without faulting. */
size_t lp_umem_read(void *dst, const void *src, size_t len);
int lp_umem_write(void *dst, const void *src, size_t len);
int lp_umem_zero_tail(const void *src, size_t from, size_t to);

/* emulate.c: the kernel's ioctl on one of our fds. */
int lp_emulate_ioctl(int fd, uint32_t cmd, void *arg);

/* device.c: open("/dev/liveupdate"). */
int lp_open_device(int flags);


/*
 * Interposed symbols that glibc's headers declare only in some builds
 * (fortified wrappers, the pre-2.33 stat ABI).
 */
#define LP_EXPORT __attribute__((visibility("default")))
struct stat64;
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);
int __xstat(int ver, const char *path, struct stat *st);
int __lxstat(int ver, const char *path, struct stat *st);
int __fxstatat(int ver, int dirfd, const char *path, struct stat *st,
	       int flags);
int __xstat64(int ver, const char *path, struct stat64 *st);
int __lxstat64(int ver, const char *path, struct stat64 *st);
int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st,
		 int flags);

/* Return @r as libc does: -1 and errno for a negative errno. */
static inline int lp_ret(int r)
{
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return r;
}

#endif /* LUO_PRELOAD_H */
