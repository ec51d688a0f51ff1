// SPDX-License-Identifier: LGPL-2.1-or-later
/* The conformance suite's checks and helpers; see kst.h. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kst.h"

/** kst_fail() - report a failed check and exit KST_FAIL */
void kst_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
	exit(KST_FAIL);
}

/** kst_fail_errno() - report a call that returned the wrong errno */
void kst_fail_errno(const char *file, int line, const char *what, long ret,
		    int err, int want)
{
	fprintf(stderr, "%s:%d: %s: returned %ld, errno %d (%s), wanted %s%s\n",
		file, line, what, ret, err, strerror(err),
		want ? "-1 and " : "success", want ? strerror(want) : "");
	exit(KST_FAIL);
}

/** kst_fail_eq() - report two values that differ */
void kst_fail_eq(const char *file, int line, const char *a, const char *b,
		 long long va, long long vb)
{
	fprintf(stderr, "%s:%d: %s == %s: %lld != %lld\n", file, line, a, b,
		va, vb);
	exit(KST_FAIL);
}

/** kst_count_fds() - the number of open fds */
int kst_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	CHECK(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;	/* the directory's own fd */
}

/** kst_run() - run @fn and check it closed every fd it opened */
void kst_run(const char *name, void (*fn)(void))
{
	int before = kst_count_fds();

	fn();
	if (kst_count_fds() != before) {
		fprintf(stderr, "%s: leaked %d fds\n", name,
			kst_count_fds() - before);
		exit(KST_FAIL);
	}
	printf("ok %s\n", name);
}

/** kst_cloexec() - is FD_CLOEXEC set on @fd? */
bool kst_cloexec(int fd)
{
	int f = fcntl(fd, F_GETFD);

	CHECK(f >= 0);
	return f & FD_CLOEXEC;
}

/** kst_open_dev() - open the device, which must work */
int kst_open_dev(void)
{
	int fd = open(KST_DEV, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		kst_fail_errno(__FILE__, __LINE__, "open(" KST_DEV ")", fd,
			       errno, 0);
	return fd;
}

static int kst_session(int dev, unsigned long cmd, const char *name)
{
	struct liveupdate_ioctl_create_session a = { .size = sizeof(a) };

	/* A 64-character name goes out unterminated, as the caller asked. */
	memcpy(a.name, name, strnlen(name, sizeof(a.name)));
	if (ioctl(dev, cmd, &a) < 0)
		return -1;
	return a.fd;
}

/** kst_create() - LIVEUPDATE_IOCTL_CREATE_SESSION */
int kst_create(int dev, const char *name)
{
	return kst_session(dev, LIVEUPDATE_IOCTL_CREATE_SESSION, name);
}

/** kst_retrieve() - LIVEUPDATE_IOCTL_RETRIEVE_SESSION */
int kst_retrieve(int dev, const char *name)
{
	return kst_session(dev, LIVEUPDATE_IOCTL_RETRIEVE_SESSION, name);
}

/** kst_preserve() - LIVEUPDATE_SESSION_PRESERVE_FD */
int kst_preserve(int sfd, int fd, uint64_t token)
{
	struct liveupdate_session_preserve_fd a = {
		.size = sizeof(a), .fd = fd, .token = token,
	};

	return ioctl(sfd, LIVEUPDATE_SESSION_PRESERVE_FD, &a);
}

/** kst_retrieve_fd() - LIVEUPDATE_SESSION_RETRIEVE_FD */
int kst_retrieve_fd(int sfd, uint64_t token)
{
	struct liveupdate_session_retrieve_fd a = {
		.size = sizeof(a), .fd = -1, .token = token,
	};

	if (ioctl(sfd, LIVEUPDATE_SESSION_RETRIEVE_FD, &a) < 0)
		return -1;
	return a.fd;
}

/** kst_finish() - LIVEUPDATE_SESSION_FINISH */
int kst_finish(int sfd)
{
	struct liveupdate_session_finish a = { .size = sizeof(a) };

	return ioctl(sfd, LIVEUPDATE_SESSION_FINISH, &a);
}

/** kst_get_name() - LIVEUPDATE_SESSION_GET_NAME */
int kst_get_name(int sfd, char *name)
{
	struct liveupdate_session_get_name a = { .size = sizeof(a) };

	if (ioctl(sfd, LIVEUPDATE_SESSION_GET_NAME, &a) < 0)
		return -1;
	memcpy(name, a.name, sizeof(a.name));
	return 0;
}

static uint8_t kst_byte(size_t i, uint32_t seed)
{
	return (uint8_t)((i * 131 + seed * 7 + (i >> 12)) ^ (seed >> 3));
}

/** kst_memfd() - a memfd of a known pattern at a known position */
int kst_memfd(size_t size, uint32_t seed, off_t pos)
{
	uint8_t buf[4096];
	size_t done = 0, i, n;
	int fd = memfd_create("kst", MFD_CLOEXEC);

	CHECK(fd >= 0);
	while (done < size) {
		n = size - done < sizeof(buf) ? size - done : sizeof(buf);
		for (i = 0; i < n; i++)
			buf[i] = kst_byte(done + i, seed);
		CHECK(write(fd, buf, n) == (ssize_t)n);
		done += n;
	}
	CHECK(lseek(fd, pos, SEEK_SET) == pos);
	return fd;
}

/** kst_memfd_ok() - does @fd hold the pattern of kst_memfd()? */
bool kst_memfd_ok(int fd, size_t size, uint32_t seed)
{
	uint8_t buf[4096];
	size_t done = 0, i;
	ssize_t n;

	struct stat st;

	if (fstat(fd, &st) < 0 || st.st_size != (off_t)size)
		return false;
	while (done < size) {
		n = pread(fd, buf, sizeof(buf), (off_t)done);
		if (n <= 0)
			return false;
		for (i = 0; i < (size_t)n; i++)
			if (buf[i] != kst_byte(done + i, seed))
				return false;
		done += (size_t)n;
	}
	return true;
}
