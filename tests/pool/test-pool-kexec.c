// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * REBOOT --kexec under --kexec-simulate: the daemon does everything up to
 * kexec_file_load() and exits; a new daemon on the same --pool serves
 * every session as incoming.  A pool file comes back as the same pages
 * (written through mmap before, read through mmap after); an ordinary
 * memfd comes back as a memfd with the same bytes, position and seals; the
 * handover is consumed.  What cannot cross a kernel change (a pipe, a
 * socket, an eventfd, a file of a filesystem) fails the request with EXDEV
 * and a reason in STATUS before anything is frozen, and nothing changed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include "pool-test.h"

#define POOL_BYTES	(4u << 20)
#define MEMFD_BYTES	(256u << 10)
#define SEALS		(F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

static unsigned char want_pool[POOL_BYTES], want_memfd[MEMFD_BYTES];

/* A pool file of POOL_BYTES written through a shared mapping. */
static int make_pool_file(int dev, struct stat *st)
{
	int fd = luo_pool_memfd(dev, "guest-ram", MFD_CLOEXEC);
	void *p;

	dh_check(fd >= 0);
	dh_check_eq(ftruncate(fd, POOL_BYTES), 0);
	p = mmap(NULL, POOL_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	dh_check(p != MAP_FAILED);
	pt_fill(want_pool, POOL_BYTES, 1);
	memcpy(p, want_pool, POOL_BYTES);
	dh_check_eq(munmap(p, POOL_BYTES), 0);
	dh_check_eq(lseek(fd, 4096, SEEK_SET), 4096);
	dh_check_eq(fstat(fd, st), 0);
	return fd;
}

/* An ordinary memfd, sealed, at position 7. */
static int make_memfd(void)
{
	int m = memfd_create("ordinary", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	dh_check(m >= 0);
	pt_fill(want_memfd, MEMFD_BYTES, 2);
	dh_check_eq(write(m, want_memfd, MEMFD_BYTES), MEMFD_BYTES);
	dh_check_eq(lseek(m, 7, SEEK_SET), 7);
	dh_check_eq(fcntl(m, F_ADD_SEALS, SEALS), 0);
	return m;
}

static void check_pool_file(int fd, const struct stat *before)
{
	struct stat st;
	void *p;

	dh_check_eq(fstat(fd, &st), 0);
	/* The same inode: its pages were never copied. */
	dh_check_eq(st.st_ino, before->st_ino);
	dh_check_eq(st.st_dev, before->st_dev);
	dh_check_eq(st.st_size, POOL_BYTES);
	dh_check_eq(lseek(fd, 0, SEEK_CUR), 4096);
	p = mmap(NULL, POOL_BYTES, PROT_READ, MAP_SHARED, fd, 0);
	dh_check(p != MAP_FAILED);
	dh_check(!memcmp(p, want_pool, POOL_BYTES));
	dh_check_eq(munmap(p, POOL_BYTES), 0);
	dh_check_eq(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
}

static void check_memfd(int fd)
{
	static unsigned char got[MEMFD_BYTES];
	struct statfs sfs;
	char link[128] = "";
	char path[64];

	dh_check_eq(fstatfs(fd, &sfs), 0);
	dh_check_eq(sfs.f_type, TMPFS_MAGIC);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	dh_check(readlink(path, link, sizeof(link) - 1) > 0);
	dh_check(!strncmp(link, "/memfd:", 7));
	dh_check_eq(fcntl(fd, F_GET_SEALS) & SEALS, SEALS);
	dh_check_eq(lseek(fd, 0, SEEK_CUR), 7);
	dh_check_eq(pread(fd, got, sizeof(got), 0), MEMFD_BYTES);
	dh_check(!memcmp(got, want_memfd, MEMFD_BYTES));
	/* Sealed as it was: no write. */
	dh_check_eq(pwrite(fd, "x", 1, 0), -1);
	dh_check_eq(errno, EPERM);
}

/* The simulated kexec, then a new daemon on the same pool takes over. */
static void test_kexec_takes_over(void)
{
	struct pt_env e;
	struct luo_status st;
	struct stat pst;
	int dev, sfd, pf, m, r, got;

	pt_make(&e);
	dh_check_eq(pt_start(&e, NULL), 0);
	dev = luo_open_at(e.d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	sfd = luo_create_session(dev, "vm1");
	dh_check(sfd >= 0);
	pf = make_pool_file(dev, &pst);
	m = make_memfd();
	dh_check_eq(luo_session_preserve_fd(sfd, pf, 1), 0);
	dh_check_eq(luo_session_preserve_fd(sfd, m, 2), 0);
	close(m);
	dh_check_eq(luo_status(dev, &st), 0);
	dh_check_eq(st.update_number, 1);

	/* The daemon exits where it would load the kernel. */
	dh_check_eq(pt_kexec(dev, e.kernel), -ENODEV);
	dh_check_eq(dh_wait(&e.d), 0);
	dh_check(pt_has_handover(&e));
	luo_close(dev);
	close(sfd);

	/* The next boot's daemon. */
	dh_check_eq(pt_restart(&e), 0);
	dh_check(!pt_has_handover(&e));
	dev = luo_open_at(e.d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	dh_check_eq(luo_status(dev, &st), 0);
	dh_check_eq(st.update_number, 2);
	sfd = luo_retrieve_session(dev, "vm1");
	dh_check(sfd >= 0);
	got = luo_session_retrieve_fd(sfd, 1);
	dh_check(got >= 0);
	check_pool_file(got, &pst);
	/* The same pages: a write through the old fd shows in the new. */
	dh_check_eq(pwrite(pf, "NEW", 3, 0), 3);
	{
		char b[3];

		dh_check_eq(pread(got, b, 3, 0), 3);
		dh_check(!memcmp(b, "NEW", 3));
	}
	close(got);
	got = luo_session_retrieve_fd(sfd, 2);
	dh_check(got >= 0);
	check_memfd(got);
	close(got);
	dh_check_eq(luo_session_finish(sfd), 0);
	close(sfd);
	luo_close(dev);
	close(pf);
	dh_check_eq(dh_stop(&e.d), 0);

	/* Consumed: a later boot finds nothing. */
	dh_check_eq(pt_restart(&e), 0);
	dev = luo_open_at(e.d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	r = luo_retrieve_session(dev, "vm1");
	dh_check_eq(r, -ENOENT);
	luo_close(dev);
	pt_cleanup(&e);
}

static int unpreserve(int sfd, uint64_t token)
{
	struct luo_session_unpreserve_fd u = {
		.size = sizeof(u), .token = token,
	};

	return luo_ioctl(sfd, LUO_SESSION_UNPRESERVE_FD, &u);
}

/*
 * A file that cannot cross a kernel change: EXDEV and the reason, nothing
 * frozen (the session still takes files), no handover left in the pool.
 */
static void refused(int bad, const char *compatible)
{
	struct luo_status st;
	struct pt_env e;
	int dev, sfd, m;

	pt_make(&e);
	dh_check_eq(pt_start(&e, NULL), 0);
	dev = luo_open_at(e.d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	sfd = luo_create_session(dev, "svc");
	dh_check(sfd >= 0);
	m = memfd_create("ok", MFD_CLOEXEC);
	dh_check(m >= 0);
	dh_check_eq(luo_session_preserve_fd(sfd, m, 1), 0);
	dh_check_eq(luo_session_preserve_fd(sfd, bad, 2), 0);
	dh_check_eq(pt_kexec(dev, e.kernel), -EXDEV);
	dh_check_eq(luo_status(dev, &st), 0);
	dh_check_eq(st.last_reboot_error, EXDEV);
	dh_check_eq(st.failed_reboots, 1);
	dh_check(strstr(st.last_reboot_failure, compatible));
	dh_check(strstr(st.last_reboot_failure, "svc"));
	dh_check(!(st.flags & LUO_STATUS_REBOOTING));
	dh_check(!pt_has_handover(&e));
	/* Nothing frozen: the session takes and gives back files. */
	dh_check_eq(unpreserve(sfd, 2), 0);
	dh_check_eq(luo_session_preserve_fd(sfd, bad, 3), 0);
	dh_check_eq(luo_status(dev, &st), 0);
	dh_check_eq(st.update_number, 1);
	close(m);
	close(sfd);
	luo_close(dev);
	dh_check(e.d.pid > 0);
	pt_cleanup(&e);
}

static void test_refuses_pipe(void)
{
	int p[2];

	dh_check_eq(pipe2(p, O_CLOEXEC), 0);
	refused(p[0], "pipe-v1");
	close(p[0]);
	close(p[1]);
}

static void test_refuses_socket(void)
{
	int sv[2];

	dh_check_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	refused(sv[0], "socket-v1");
	close(sv[0]);
	close(sv[1]);
}

static void test_refuses_eventfd(void)
{
	int fd = eventfd(3, EFD_CLOEXEC);

	dh_check(fd >= 0);
	refused(fd, "eventfd-v1");
	close(fd);
}

static void test_refuses_file(void)
{
	char path[] = "/tmp/luo-pool-file-XXXXXX";
	int fd = mkostemp(path, O_CLOEXEC);

	dh_check(fd >= 0);
	unlink(path);
	refused(fd, "file-v1");
	close(fd);
}

/* Errors before the freeze: no kernel, no pool; EPERM is the table's. */
static void test_failures_change_nothing(void)
{
	struct luo_status st;
	struct pt_env e;
	struct dh_daemon plain = { 0 };
	int dev, sfd, m;

	pt_make(&e);
	dh_check_eq(pt_start(&e, NULL), 0);
	dev = luo_open_at(e.d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	sfd = luo_create_session(dev, "vm");
	m = memfd_create("m", MFD_CLOEXEC);
	dh_check(sfd >= 0 && m >= 0);
	dh_check_eq(luo_session_preserve_fd(sfd, m, 1), 0);
	dh_check_eq(pt_kexec(dev, "/nonexistent/vmlinuz"), -ENOENT);
	dh_check_eq(luo_status(dev, &st), 0);
	dh_check_eq(st.last_reboot_error, ENOENT);
	dh_check(strstr(st.last_reboot_failure, "kernel"));
	dh_check(!pt_has_handover(&e));
	/* A plain REBOOT works as before, with the pool. */
	dh_check_eq(luo_reboot(dev, -1, NULL), 0);
	close(sfd);
	/* As after a kexec, the device open ended: a new one. */
	luo_close(dev);
	dev = luo_open_at(e.d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	sfd = luo_retrieve_session(dev, "vm");
	dh_check(sfd >= 0);
	close(sfd);
	close(m);
	luo_close(dev);
	pt_cleanup(&e);

	/* Without a pool: EOPNOTSUPP, for both requests. */
	dh_check_eq(dh_start(&plain, NULL), 0);
	dev = luo_open_at(plain.socket, LUO_OPEN_CONTROL);
	dh_check(dev >= 0);
	dh_check_eq(pt_kexec(dev, "/nonexistent"), -EOPNOTSUPP);
	dh_check_eq(luo_pool_memfd(dev, "x", 0), -EOPNOTSUPP);
	luo_close(dev);
	dh_cleanup(&plain);
}

/*
 * A failure after the freeze: the memfd's copy does not fit in the pool
 * (a 1 MiB tmpfs).  ENOSPC and the reason; the copy and the directory are
 * gone, everything is unfrozen, and a plain REBOOT works after it.
 */
static char full_mount[PATH_MAX];

/* A failed check exits: the tmpfs goes all the same. */
static void umount_full(void)
{
	if (full_mount[0])
		umount2(full_mount, MNT_DETACH);
}

static void test_pool_full(void)
{
	static unsigned char big[2u << 20];
	struct luo_status st;
	struct pt_env e;
	int dev, sfd, m;

	pt_make(&e);
	if (mount("luo-test", e.pool, "tmpfs", 0, "size=1m,mode=0700")) {
		pt_cleanup(&e);
		dh_skip("cannot mount a tmpfs");
	}
	snprintf(full_mount, sizeof(full_mount), "%s", e.pool);
	atexit(umount_full);
	dh_check_eq(pt_start(&e, NULL), 0);
	dev = luo_open_at(e.d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	sfd = luo_create_session(dev, "vm");
	m = memfd_create("big", MFD_CLOEXEC);
	dh_check(sfd >= 0 && m >= 0);
	pt_fill(big, sizeof(big), 7);
	dh_check_eq(write(m, big, sizeof(big)), sizeof(big));
	dh_check_eq(luo_session_preserve_fd(sfd, m, 1), 0);
	dh_check_eq(pt_kexec(dev, e.kernel), -ENOSPC);
	dh_check_eq(luo_status(dev, &st), 0);
	dh_check_eq(st.last_reboot_error, ENOSPC);
	dh_check(strstr(st.last_reboot_failure, "copying a memfd of 'vm'"));
	dh_check(!(st.flags & LUO_STATUS_REBOOTING));
	dh_check(!pt_has_handover(&e));
	/* Unfrozen: the session changes; then a plain REBOOT. */
	dh_check_eq(unpreserve(sfd, 1), 0);
	dh_check_eq(luo_session_preserve_fd(sfd, m, 2), 0);
	dh_check_eq(luo_reboot(dev, -1, NULL), 0);
	close(sfd);
	close(m);
	luo_close(dev);
	dh_cleanup(&e.d);
	dh_check_eq(umount(e.pool), 0);
	full_mount[0] = '\0';
	pt_cleanup(&e);
}

/* liveupdatectl reboot --kexec: its failure's reason, then its success. */
static void test_liveupdatectl(void)
{
	const char *ctl = getenv("LIVEUPDATECTL");
	char out[1024];
	struct pt_env e;
	int dev, sfd, p[2];

	if (!ctl)
		dh_skip("LIVEUPDATECTL not set");
	pt_make(&e);
	dh_check_eq(pt_start(&e, NULL), 0);
	{
		const char *bad[] = {
			ctl, "--socket", e.d.socket, "reboot", "--kernel",
			e.kernel, NULL,
		};

		/* --kernel without --kexec is a usage error. */
		dh_check_eq(dh_run_output(ctl, bad, -1, -1, out, sizeof(out)),
			    2);
	}
	dev = luo_open_at(e.d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	sfd = luo_create_session(dev, "web");
	dh_check(sfd >= 0);
	dh_check_eq(pipe2(p, O_CLOEXEC), 0);
	dh_check_eq(luo_session_preserve_fd(sfd, p[0], 1), 0);
	{
		const char *args[] = {
			ctl, "--socket", e.d.socket, "reboot", "--kexec",
			"--kernel", e.kernel, "--initrd", "", "--append",
			"quiet", NULL,
		};

		dh_check_eq(dh_run_output(ctl, args, -1, -1, out, sizeof(out)),
			    1);
		dh_expect_output(out, "reboot failed: a pipe-v1 file in 'web'");
		dh_check_eq(unpreserve(sfd, 1), 0);
		dh_check_eq(dh_run_output(ctl, args, -1, -1, out, sizeof(out)),
			    0);
		dh_expect_output(out, "reboot --kexec: under way");
	}
	dh_check_eq(dh_wait(&e.d), 0);
	dh_check(pt_has_handover(&e));
	close(p[0]);
	close(p[1]);
	close(sfd);
	luo_close(dev);
	dh_check_eq(pt_restart(&e), 0);
	dev = luo_open_at(e.d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	sfd = luo_retrieve_session(dev, "web");
	dh_check(sfd >= 0);
	dh_check_eq(luo_session_finish(sfd), 0);
	close(sfd);
	luo_close(dev);
	pt_cleanup(&e);
}

int main(void)
{
	test_kexec_takes_over();
	test_refuses_pipe();
	test_refuses_socket();
	test_refuses_eventfd();
	test_refuses_file();
	test_failures_change_nothing();
	test_pool_full();
	test_liveupdatectl();
	return DH_PASS;
}
