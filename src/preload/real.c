// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The definitions our interposers stand in front of: the next object in
 * the lookup order after libluo-preload (libc, or a sanitizer's
 * interceptors that then call libc).  Resolved on first use, so nothing
 * runs in a constructor before the program's own runtime is ready.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "preload.h"

/**
 * lp_next() - the next definition of a symbol
 * @name: the symbol
 * @slot: where the address is kept once found
 *
 * A symbol that is missing further down is a broken installation, not a
 * condition a caller could handle: the process is told so and aborts.
 *
 * Return: its address.
 */
void *lp_next(const char *name, void **slot)
{
	_Atomic(void *) *aslot = (_Atomic(void *) *)slot;
	void *p = atomic_load_explicit(aslot, memory_order_acquire);

	if (p)
		return p;
	p = dlsym(RTLD_NEXT, name);
	if (!p) {
		static const char msg[] = "libluo-preload: a libc symbol is missing\n";

		(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
		abort();
	}
	atomic_store_explicit(aslot, p, memory_order_release);
	return p;
}

/**
 * lp_real_fstatat() - fstatat(2) past our interposer
 * @dirfd: as fstatat
 * @path:  as fstatat
 * @st:    as fstatat
 * @flags: as fstatat
 *
 * Return: as fstatat.
 */
int lp_real_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	return LP_NEXT(fstatat)(dirfd, path, st, flags);
}

/**
 * lp_real_ioctl() - ioctl(2) past our interposer
 * @fd:      as ioctl
 * @request: as ioctl
 * @arg:     as ioctl
 *
 * Return: as ioctl.
 */
int lp_real_ioctl(int fd, unsigned long request, void *arg)
{
	return LP_NEXT(ioctl)(fd, request, arg);
}
