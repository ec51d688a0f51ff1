// SPDX-License-Identifier: LGPL-2.1-or-later
/* Shared pieces of the fault-injection tests; see ft.h. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ft.h"

void ft_start(struct dh_daemon *d, const char *const *more)
{
	const char *args[16] = { "--fault-injection" };
	size_t n = 1;

	while (more && *more && n < 15)
		args[n++] = *more++;
	args[n] = NULL;
	if (dh_start(d, args))
		dh_skip("cannot start liveupdated --fault-injection");
}

int ft_memfd(const char *name, uint64_t seed)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	dh_check(fd >= 0);
	dh_check_eq(ftruncate(fd, FT_SIZE), 0);
	for (size_t off = 0; off < FT_SIZE; off += 8) {
		uint64_t v = seed * 0x9e3779b97f4a7c15ULL ^ off;

		dh_check_eq(pwrite(fd, &v, 8, (off_t)off), 8);
	}
	dh_check_eq(lseek(fd, (off_t)(seed % 1000), SEEK_SET),
		    (off_t)(seed % 1000));
	return fd;
}

int ft_memfd_ok(int fd, uint64_t seed)
{
	if (lseek(fd, 0, SEEK_CUR) != (off_t)(seed % 1000) ||
	    lseek(fd, 0, SEEK_END) != FT_SIZE)
		return 0;
	for (size_t off = 0; off < FT_SIZE; off += 8) {
		uint64_t v = 0;

		if (pread(fd, &v, 8, (off_t)off) != 8 ||
		    v != (seed * 0x9e3779b97f4a7c15ULL ^ off))
			return 0;
	}
	return lseek(fd, (off_t)(seed % 1000), SEEK_SET) == (off_t)(seed % 1000);
}

static int ft_add(const struct luo_list_record *r, void *ctx)
{
	struct ft_list *l = ctx;

	dh_check(l->n < FT_MAX_RECORDS);
	l->rec[l->n++] = *r;
	return 0;
}

void ft_list(const char *sock, struct ft_list *l)
{
	int ctl = luo_open_at(sock, LUO_OPEN_CONTROL);

	dh_check(ctl >= 0);
	memset(l, 0, sizeof(*l));
	dh_check_eq(luo_list(ctl, ft_add, l), 0);
	luo_close(ctl);
}

const struct luo_list_record *ft_session(const struct ft_list *l,
					 const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->rec[i].type == LUO_LIST_SESSION &&
		    !strncmp((const char *)l->rec[i].name, name,
			     sizeof(l->rec[i].name)))
			return &l->rec[i];
	return NULL;
}

int ft_reap(pid_t pid)
{
	int status;
	pid_t r;

	do
		r = waitpid(pid, &status, 0);
	while (r < 0 && errno == EINTR);
	dh_check_eq(r, pid);
	return dh_exit_code(status);
}
