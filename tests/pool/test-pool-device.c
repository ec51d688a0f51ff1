// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A pool on a block device: a loop device stands for /dev/pmem0 (no DAX:
 * the daemon mounts it without and says so).  A device holding another
 * filesystem is refused without --pool-format and formatted with it; the
 * daemon mounts the pool next to its socket, a restarted daemon finds it
 * mounted and uses it, and a pool file made on it crosses a simulated
 * kexec.  Everything the test made (image, loop device, mount) is removed
 * by what it made.  Skipped without losetup, mkfs.ext4 and blkid.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pool-test.h"

#define IMAGE_BYTES	(64ll << 20)

static char image[PATH_MAX] = "";
static char loopdev[64] = "";
static char mnt[PATH_MAX + 16] = "";

static bool have(const char *tool)
{
	static const char *const dirs[] = { "/usr/sbin", "/sbin", "/usr/bin" };
	char path[256];

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dirs[i], tool);
		if (!access(path, X_OK))
			return true;
	}
	return false;
}

/* @tool (in /usr/sbin or /sbin) with @args, NULL-terminated. */
static int run(const char *tool, const char *const *args, char *out,
	       size_t len)
{
	const char *argv[8] = { tool };
	char bin[256];
	int n = 1;

	while (*args && n < 7)
		argv[n++] = *args++;
	argv[n] = NULL;
	snprintf(bin, sizeof(bin), "/usr/sbin/%s", tool);
	if (access(bin, X_OK))
		snprintf(bin, sizeof(bin), "/sbin/%s", tool);
	return dh_run_output(bin, argv, -1, -1, out, len);
}

static struct pt_env *current;

static void cleanup(struct pt_env *e)
{
	char out[256], dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", e->d.dir);
	dh_cleanup(&e->d);
	if (mnt[0]) {
		umount2(mnt, MNT_DETACH);
		rmdir(mnt);
		rmdir(dir);
	}
	if (loopdev[0]) {
		const char *args[] = { "-d", loopdev, NULL };

		run("losetup", args, out, sizeof(out));
	}
	if (image[0])
		unlink(image);
	e->pool[0] = '\0';
	pt_cleanup(e);
	mnt[0] = loopdev[0] = image[0] = '\0';
	current = NULL;
}

/* A failed check exits: what the test made goes all the same. */
static void cleanup_at_exit(void)
{
	if (current)
		cleanup(current);
}

static void test_device_pool(void)
{
	const char *fmt[] = { "--pool-format", NULL };
	char out[512] = "";
	const char *mk[4], *lo[4];
	struct pt_env e;
	struct stat st;
	int fd, dev, sfd, got;
	void *p;

	if (!have("losetup") || !have("mkfs.ext4") || !have("blkid"))
		dh_skip("losetup, mkfs.ext4 or blkid missing");
	pt_make(&e);
	current = &e;
	atexit(cleanup_at_exit);
	snprintf(image, sizeof(image), "/var/tmp/luo-pool-image-XXXXXX");
	fd = mkostemp(image, O_CLOEXEC);
	dh_check(fd >= 0);
	dh_check_eq(ftruncate(fd, IMAGE_BYTES), 0);
	close(fd);
	lo[0] = "-f"; lo[1] = "--show"; lo[2] = image; lo[3] = NULL;
	if (run("losetup", lo, out, sizeof(out)) != 0 ||
	    strncmp(out, "/dev/loop", 9)) {
		cleanup(&e);
		dh_skip("no loop device");
	}
	out[strcspn(out, "\n")] = '\0';
	snprintf(loopdev, sizeof(loopdev), "%s", out);
	/* Another filesystem: an ext4 without luo's label. */
	mk[0] = "-q"; mk[1] = "-F"; mk[2] = loopdev; mk[3] = NULL;
	dh_check_eq(run("mkfs.ext4", mk, out, sizeof(out)), 0);

	/* The pool is the device; the socket's directory gets the mount. */
	dh_check_eq(rmdir(e.pool), 0);
	snprintf(e.pool, sizeof(e.pool), "%s", loopdev);
	dh_check_eq(pt_start(&e, NULL), -ECHILD);
	dh_check_eq(dh_exit_code(e.d.status), 1);
	snprintf(mnt, sizeof(mnt), "%s/pool", e.d.dir);
	{
		struct stat dst;

		/* Refused before anything was mounted. */
		dh_check_eq(stat(e.d.dir, &dst), 0);
		dh_check(stat(mnt, &st) < 0 || st.st_dev == dst.st_dev);
	}

	dh_check_eq(pt_start(&e, fmt), 0);
	dh_check_eq(stat(mnt, &st), 0);
	{
		struct stat dst;

		dh_check_eq(stat(loopdev, &dst), 0);
		dh_check_eq(st.st_dev, dst.st_rdev);
	}
	dev = luo_open_at(e.d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	sfd = luo_create_session(dev, "vm");
	fd = luo_pool_memfd(dev, "guest", MFD_CLOEXEC);
	dh_check(sfd >= 0 && fd >= 0);
	dh_check_eq(ftruncate(fd, 1 << 20), 0);
	p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	dh_check(p != MAP_FAILED);
	memset(p, 0x5a, 1 << 20);
	dh_check_eq(munmap(p, 1 << 20), 0);
	dh_check_eq(fstat(fd, &st), 0);
	dh_check_eq(luo_session_preserve_fd(sfd, fd, 1), 0);
	close(fd);
	/* pt_kexec's kernel lives in /dev/shm: any readable file will do. */
	dh_check_eq(pt_kexec(dev, e.kernel), -ENODEV);
	dh_check_eq(dh_wait(&e.d), 0);
	close(sfd);
	luo_close(dev);

	/* Still mounted: the next daemon uses the mount as it is. */
	dh_check_eq(pt_restart(&e), 0);
	dev = luo_open_at(e.d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	sfd = luo_retrieve_session(dev, "vm");
	dh_check(sfd >= 0);
	got = luo_session_retrieve_fd(sfd, 1);
	dh_check(got >= 0);
	{
		struct stat gst;
		unsigned char *q;

		dh_check_eq(fstat(got, &gst), 0);
		dh_check_eq(gst.st_ino, st.st_ino);
		q = mmap(NULL, 1 << 20, PROT_READ, MAP_SHARED, got, 0);
		dh_check(q != MAP_FAILED);
		for (size_t i = 0; i < (1u << 20); i++)
			if (q[i] != 0x5a)
				dh_check(!"pattern");
		munmap(q, 1 << 20);
	}
	dh_check_eq(luo_session_finish(sfd), 0);
	close(got);
	close(sfd);
	luo_close(dev);

	/*
	 * Unmounted (as after a boot), with --pool-format: the pool is
	 * recognized by its superblock and mounted, never formatted again.
	 */
	{
		char sentinel[PATH_MAX + 32];

		snprintf(sentinel, sizeof(sentinel), "%s/sentinel", mnt);
		fd = open(sentinel, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		dh_check(fd >= 0);
		close(fd);
		dh_check_eq(dh_stop(&e.d), 0);
		dh_check_eq(umount(mnt), 0);
		dh_check_eq(pt_start(&e, fmt), 0);
		dh_check_eq(stat(sentinel, &st), 0);
	}
	cleanup(&e);
}

int main(void)
{
	test_device_pool();
	return DH_PASS;
}
