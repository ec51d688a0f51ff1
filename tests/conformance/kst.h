/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The conformance suite's checks and helpers, in the style of the kernel's
 * selftests: the test programs speak to /dev/liveupdate with open, ioctl
 * and close only, and make memfds with memfd_create, fcntl, lseek, read
 * and write.  No libluo: what they see is what a program written for the
 * kernel sees under luo-run(1).
 *
 * Exit codes: 0 pass, 1 fail, 77 skip.
 */
#ifndef KST_H
#define KST_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/types.h>

#include <linux/liveupdate.h>

#define KST_PASS	0
#define KST_FAIL	1
#define KST_SKIP	77

#define KST_DEV		"/dev/liveupdate"
#define KST_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

void kst_fail(const char *file, int line, const char *what);
void kst_fail_errno(const char *file, int line, const char *what, long ret,
		    int err, int want);
void kst_fail_eq(const char *file, int line, const char *a, const char *b,
		 long long va, long long vb);

/* @cond must hold. */
#define CHECK(cond) do {						\
	if (!(cond))							\
		kst_fail(__FILE__, __LINE__, #cond);			\
} while (0)

/* @call must return -1 with errno @err. */
#define CHECK_ERR(call, err) do {					\
	long __r;							\
	errno = 0;							\
	__r = (long)(call);						\
	if (__r != -1 || errno != (err))				\
		kst_fail_errno(__FILE__, __LINE__, #call, __r, errno,	\
			       (err));					\
} while (0)

/* @call must succeed (return >= 0). */
#define CHECK_OK(call) do {						\
	long __r;							\
	errno = 0;							\
	__r = (long)(call);						\
	if (__r < 0)							\
		kst_fail_errno(__FILE__, __LINE__, #call, __r, errno, 0); \
} while (0)

#define CHECK_EQ(a, b) do {						\
	long long __a = (long long)(a), __b = (long long)(b);		\
	if (__a != __b)							\
		kst_fail_eq(__FILE__, __LINE__, #a, #b, __a, __b);	\
} while (0)

/* Run one test function with an fd-leak check around it. */
#define KST_RUN(fn) kst_run(#fn, fn)
void kst_run(const char *name, void (*fn)(void));

/* open(/dev/liveupdate, O_RDWR | O_CLOEXEC), which must succeed. */
int kst_open_dev(void);
/* CREATE_SESSION / RETRIEVE_SESSION: the session fd, or -1 and errno. */
int kst_create(int dev, const char *name);
int kst_retrieve(int dev, const char *name);
/* PRESERVE_FD: 0, or -1 and errno. */
int kst_preserve(int sfd, int fd, uint64_t token);
/* RETRIEVE_FD: the fd, or -1 and errno. */
int kst_retrieve_fd(int sfd, uint64_t token);
/* FINISH: 0, or -1 and errno. */
int kst_finish(int sfd);
/* GET_NAME into @name (LIVEUPDATE_SESSION_NAME_LENGTH): 0, or -1, errno. */
int kst_get_name(int sfd, char *name);

/* A memfd of @size bytes of a pattern of @seed, at position @pos. */
int kst_memfd(size_t size, uint32_t seed, off_t pos);
/* True if @fd holds that pattern; its position is left alone. */
bool kst_memfd_ok(int fd, size_t size, uint32_t seed);

/* The number of open fds of this process. */
int kst_count_fds(void);
/* Is close-on-exec set? */
bool kst_cloexec(int fd);

#endif /* KST_H */
