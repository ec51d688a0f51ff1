// SPDX-License-Identifier: LGPL-2.1-or-later
/* Shared pieces of the end-to-end tests; see e2e.h. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "e2e.h"

#define PAGE	4096u

static uint64_t stamp(uint64_t seed, size_t page)
{
	return seed * 0x9e3779b97f4a7c15ULL ^ (page + 1);
}

int e2e_memfd(size_t size, uint64_t seed, off_t pos)
{
	int fd = memfd_create("e2e", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	unsigned char *map;

	dh_check(fd >= 0);
	dh_check_eq(ftruncate(fd, (off_t)size), 0);
	if (size) {
		/* Every page really allocated: no holes, as the kernel's
		 * memfd-v2 would leave it. */
		dh_check_eq(fallocate(fd, 0, 0, (off_t)size), 0);
		map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		dh_check(map != MAP_FAILED);
		for (size_t off = 0; off + 16 <= size; off += PAGE) {
			uint64_t s = stamp(seed, off / PAGE), n = ~s;
			size_t end = (off + PAGE <= size ? off + PAGE : size) - 8;

			memcpy(map + off, &s, 8);
			memcpy(map + end, &n, 8);
		}
		munmap(map, size);
	}
	dh_check_eq(lseek(fd, pos, SEEK_SET), pos);
	return fd;
}

int e2e_memfd_ok(int fd, size_t size, uint64_t seed)
{
	unsigned char *map;
	struct stat st;
	int ok = 1;

	if (fstat(fd, &st) || (size_t)st.st_size != size)
		return 0;
	if (!size)
		return 1;
	map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return 0;
	for (size_t off = 0; ok && off + 16 <= size; off += PAGE) {
		uint64_t s = stamp(seed, off / PAGE), n = ~s, a, b;
		size_t end = (off + PAGE <= size ? off + PAGE : size) - 8;

		memcpy(&a, map + off, 8);
		memcpy(&b, map + end, 8);
		ok = a == s && b == n;
	}
	munmap(map, size);
	return ok;
}

void e2e_status(const char *sock, struct luo_status *st)
{
	int ctl = luo_open_at(sock, LUO_OPEN_CONTROL);

	dh_check(ctl >= 0);
	dh_check_eq(luo_status(ctl, st), 0);
	luo_close(ctl);
}

int e2e_reboot(const char *sock, uint64_t *update)
{
	int ctl = luo_open_at(sock, LUO_OPEN_CONTROL), ret;

	dh_check(ctl >= 0);
	ret = luo_reboot(ctl, -1, update);
	luo_close(ctl);
	return ret;
}

int e2e_daemon_fds(const struct dh_daemon *d)
{
	const struct timespec tick = { .tv_nsec = 1000 * 1000 };
	int ctl = luo_open_at(d->socket, LUO_OPEN_CONTROL), n, i;
	struct luo_status st;

	dh_check(ctl >= 0);
	/*
	 * Clients' sockets are closed by the daemon's worker threads: wait
	 * until STATUS says no close is under way (10 s at most).
	 */
	for (i = 0; i < 10000; i++) {
		dh_check_eq(luo_status(ctl, &st), 0);
		if (!(st.flags & LUO_STATUS_WORKING))
			break;
		nanosleep(&tick, NULL);
	}
	dh_check(!(st.flags & LUO_STATUS_WORKING));
	/* The process that serves: the engine under a vault. */
	n = dh_count_fds((pid_t)st.pid);
	luo_close(ctl);
	return n;
}
