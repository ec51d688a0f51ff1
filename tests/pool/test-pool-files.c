// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Pool files (luo_pool_memfd(3)) and the pool itself: an unnamed regular
 * file used like a memfd; preserved with no copy (the same inode and pages
 * after a REBOOT, and after an UPGRADE followed by a simulated kexec); the
 * pool's marker written once, a pool of a newer version refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pool-test.h"

#define BYTES	(1u << 20)

static unsigned char want[BYTES];

static void write_mapped(int fd, unsigned int seed)
{
	void *p;

	dh_check_eq(ftruncate(fd, BYTES), 0);
	p = mmap(NULL, BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	dh_check(p != MAP_FAILED);
	pt_fill(want, BYTES, seed);
	memcpy(p, want, BYTES);
	dh_check_eq(munmap(p, BYTES), 0);
}

static void check_mapped(int fd, const struct stat *before)
{
	struct stat st;
	void *p;

	dh_check_eq(fstat(fd, &st), 0);
	dh_check_eq(st.st_ino, before->st_ino);
	dh_check_eq(st.st_dev, before->st_dev);
	p = mmap(NULL, BYTES, PROT_READ, MAP_SHARED, fd, 0);
	dh_check(p != MAP_FAILED);
	dh_check(!memcmp(p, want, BYTES));
	dh_check_eq(munmap(p, BYTES), 0);
}

/*
 * Session "vm" with token 9: a pool file written by write_mapped(@seed),
 * preserved; @st its stat.  Returns the file's fd; *@dev, *@sfd are open.
 */
static int preserve_guest(struct pt_env *e, int seed, int *dev, int *sfd,
			  struct stat *st)
{
	int fd;

	*dev = luo_open_at(e->d.socket, LUO_OPEN_DEVICE);
	dh_check(*dev >= 0);
	*sfd = luo_create_session(*dev, "vm");
	fd = luo_pool_memfd(*dev, "guest", MFD_CLOEXEC);
	dh_check(*sfd >= 0 && fd >= 0);
	write_mapped(fd, seed);
	dh_check_eq(fstat(fd, st), 0);
	dh_check_eq(luo_session_preserve_fd(*sfd, fd, 9), 0);
	return fd;
}

/* From a new device open: "vm" retrieved, token 9 the same pages, finished. */
static void retrieve_guest(struct pt_env *e, const struct stat *st)
{
	int dev, sfd, got;

	dev = luo_open_at(e->d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	sfd = luo_retrieve_session(dev, "vm");
	dh_check(sfd >= 0);
	got = luo_session_retrieve_fd(sfd, 9);
	dh_check(got >= 0);
	check_mapped(got, st);
	dh_check_eq(luo_session_finish(sfd), 0);
	close(got);
	close(sfd);
	luo_close(dev);
}

/*
 * A simulated kexec with session "vm" (token 9: a file written by
 * write_mapped()) outgoing: the daemon exits as the machine would vanish
 * (a vault with it), a new one on the same pool serves the session, and
 * the file comes back with the same inode and bytes.  Closes @dev, @sfd.
 */
static void kexec_then_check(struct pt_env *e, int dev, int sfd,
			     const struct stat *st)
{
	dh_check_eq(pt_kexec(dev, e->kernel), -ENODEV);
	dh_check_eq(dh_wait(&e->d), 0);
	close(sfd);
	luo_close(dev);
	dh_check_eq(pt_restart(e), 0);
	retrieve_guest(e, st);
}

/* What luo_pool_memfd() gives and refuses. */
static void test_pool_file(void)
{
	struct pt_env e;
	char marker[32] = "", path[PATH_MAX + 16], b[4];
	struct stat st;
	int dev, fd, mfd;

	pt_make(&e);
	dh_check_eq(pt_start(&e, NULL), 0);
	snprintf(path, sizeof(path), "%s/luo-pool", e.pool);
	mfd = open(path, O_RDONLY | O_CLOEXEC);
	dh_check(mfd >= 0);
	dh_check(read(mfd, marker, sizeof(marker) - 1) > 0);
	close(mfd);
	dh_check(!strcmp(marker, "luo-pool 1\n"));

	dev = luo_open_at(e.d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	fd = luo_pool_memfd(dev, "guest", MFD_CLOEXEC);
	dh_check(fd >= 0);
	dh_check_eq(fstat(fd, &st), 0);
	dh_check(S_ISREG(st.st_mode));
	dh_check_eq(st.st_nlink, 0);
	dh_check_eq(fcntl(fd, F_GETFD), FD_CLOEXEC);
	dh_check_eq(pwrite(fd, "abcd", 4, 0), 4);
	dh_check_eq(pread(fd, b, 4, 0), 4);
	dh_check(!memcmp(b, "abcd", 4));
	write_mapped(fd, 3);
	close(fd);
	/* Without MFD_CLOEXEC the fd crosses an exec, as memfd_create's. */
	fd = luo_pool_memfd(dev, "inherit", 0);
	dh_check(fd >= 0);
	dh_check_eq(fcntl(fd, F_GETFD), 0);
	close(fd);
	dh_check_eq(luo_pool_memfd(dev, "x", MFD_HUGETLB), -EINVAL);
	dh_check_eq(luo_pool_memfd(dev, NULL, 0), -EFAULT);
	/* tmpfs files other than memfds cannot be sealed. */
	dh_check_eq(luo_pool_memfd(dev, "x", MFD_ALLOW_SEALING), -EOPNOTSUPP);
	{
		struct luo_pool_memfd arg = {
			.size = sizeof(arg), .flags = 1u << 5,
		};

		dh_check_eq(luo_ioctl(dev, LUO_IOCTL_POOL_MEMFD, &arg),
			    -EINVAL);
	}
	luo_close(dev);
	pt_cleanup(&e);
}

/* A preserved pool file is the same pages after a REBOOT. */
static void test_pool_file_reboot(void)
{
	struct pt_env e;
	struct stat st;
	int dev, sfd;

	pt_make(&e);
	dh_check_eq(pt_start(&e, NULL), 0);
	close(preserve_guest(&e, 4, &dev, &sfd, &st));
	dh_check_eq(luo_reboot(dev, -1, NULL), 0);
	close(sfd);
	/* As after a kexec, the device open ended: a new one. */
	luo_close(dev);
	retrieve_guest(&e, &st);
	pt_cleanup(&e);
}

/* Through an UPGRADE (the pool reopened by the new image), then a kexec. */
static void test_pool_file_upgrade_kexec(void)
{
	struct pt_env e;
	struct stat st;
	int dev, sfd, fd, got;

	pt_make(&e);
	dh_check_eq(pt_start(&e, NULL), 0);
	fd = preserve_guest(&e, 5, &dev, &sfd, &st);
	dh_check_eq(luo_upgrade(dev, -1), 0);
	/* The upgraded image still has its pool. */
	got = luo_pool_memfd(dev, "more", MFD_CLOEXEC);
	dh_check(got >= 0);
	close(got);
	kexec_then_check(&e, dev, sfd, &st);
	close(fd);
	pt_cleanup(&e);
}

/*
 * Under --vault, the engine killed: the recovered engine reopens the pool
 * by path, holds the pool file (the vault kept it), and a simulated kexec
 * after that brings the same pages to the next boot's daemon.
 */
static void test_pool_file_engine_crash(void)
{
	const char *vault[] = { "--vault", NULL };
	struct luo_status st;
	struct pt_env e;
	struct stat fst;
	pid_t engine;
	int dev, sfd, got;

	pt_make(&e);
	dh_check_eq(pt_start(&e, vault), 0);
	close(preserve_guest(&e, 6, &dev, &sfd, &fst));
	engine = dh_kill_engine(e.d.socket);
	/* Answered by the recovered engine (the vault kept the socket). */
	dh_check_eq(luo_status(dev, &st), 0);
	dh_check(st.pid != (uint32_t)engine);
	got = luo_pool_memfd(dev, "after-crash", MFD_CLOEXEC);
	dh_check(got >= 0);
	close(got);
	kexec_then_check(&e, dev, sfd, &fst);
	pt_cleanup(&e);
}

/* A pool written by a newer liveupdated is not touched. */
static void test_newer_version_refused(void)
{
	char path[PATH_MAX + 16];
	struct pt_env e;
	int fd;

	pt_make(&e);
	snprintf(path, sizeof(path), "%s/luo-pool", e.pool);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	dh_check(fd >= 0);
	dh_check_eq(write(fd, "luo-pool 2\n", 11), 11);
	close(fd);
	dh_check_eq(pt_start(&e, NULL), -ECHILD);
	dh_check_eq(dh_exit_code(e.d.status), 1);
	/* And one that is no pool at all: a marker it cannot read. */
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	dh_check(fd >= 0);
	dh_check_eq(write(fd, "garbage\n", 8), 8);
	close(fd);
	dh_check_eq(pt_start(&e, NULL), -ECHILD);
	dh_check_eq(dh_exit_code(e.d.status), 1);
	pt_cleanup(&e);
}

int main(void)
{
	test_pool_file();
	test_pool_file_reboot();
	test_pool_file_upgrade_kexec();
	test_pool_file_engine_crash();
	test_newer_version_refused();
	return DH_PASS;
}
