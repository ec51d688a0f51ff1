// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * --max-pool-per-user: a per-uid limit on pool space that the kernel
 * enforces (the pool's ext4 user quota).
 *
 * Where the limit cannot be enforced the option is refused at start, with
 * a message saying why: a directory pool on a filesystem without user
 * quota (tmpfs), and a device pool on a kernel that cannot mount an ext4
 * with the quota feature (no CONFIG_QFMT_V2), which is then formatted
 * again without it and serves as before without the option.
 *
 * Where it can (a loop device standing for /dev/pmem0, a kernel with
 * quota_v2), with a 1 MiB limit: a test user's write past it into its
 * pool file fails EDQUOT and what it wrote stays; another user and root
 * still make and fill pool files; REBOOT --kexec (--kexec-simulate)
 * succeeds.  Then a user whose preserved memfds need more than its limit
 * makes REBOOT --kexec fail EDQUOT, the uid and session in STATUS's
 * reason, before anything is frozen: its session still takes files.
 *
 * The test makes and removes its users (testusers.h), loop device and
 * image.  Skipped without root, useradd, losetup or mkfs.ext4.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pool-test.h"
#include "testusers.h"

#define IMAGE_BYTES	(64ll << 20)
#define LIMIT		"1M"
#define LIMIT_BYTES	(1u << 20)
#define CHUNK		(64u << 10)

static char image[PATH_MAX] = "";
static char loopdev[64] = "";
static char probe_mnt[PATH_MAX] = "";
static struct pt_env *current;
static struct tu_group group;
static struct tu_user ua, ub, uc;
static const char *sock;

/* @tool (in /usr/sbin or /sbin) with @args, NULL-terminated. */
static int run(const char *tool, const char *const *args, char *out,
	       size_t len)
{
	const char *argv[12] = { tool };
	char bin[256];
	int n = 1;

	while (*args && n < 11)
		argv[n++] = *args++;
	argv[n] = NULL;
	snprintf(bin, sizeof(bin), "/usr/sbin/%s", tool);
	if (access(bin, X_OK))
		snprintf(bin, sizeof(bin), "/sbin/%s", tool);
	if (access(bin, X_OK))
		return -ENOENT;
	return dh_run_output(bin, argv, -1, -1, out, len);
}

/* The daemon's own output when it refuses to start. */
static int run_daemon(const char *pool, const char *socket, char *out,
		      size_t len)
{
	const char *args[] = {
		"liveupdated", "--socket", socket, "--no-vault", "--pool",
		pool, "--max-pool-per-user", LIMIT, NULL,
	};

	return dh_run_output(dh_binary(), args, -1, -1, out, len);
}

static void cleanup(void)
{
	char out[256];

	if (current) {
		char dir[PATH_MAX], mnt[PATH_MAX + 8];

		snprintf(dir, sizeof(dir), "%s", current->d.dir);
		snprintf(mnt, sizeof(mnt), "%s/pool", dir);
		dh_cleanup(&current->d);
		umount2(mnt, MNT_DETACH);
		rmdir(mnt);
		if (dir[0])
			rmdir(dir);
		if (loopdev[0] && !strcmp(current->pool, loopdev))
			current->pool[0] = '\0';
		pt_cleanup(current);
		current = NULL;
	}
	if (probe_mnt[0]) {
		umount2(probe_mnt, MNT_DETACH);
		rmdir(probe_mnt);
		probe_mnt[0] = '\0';
	}
	if (loopdev[0]) {
		const char *args[] = { "-d", loopdev, NULL };

		run("losetup", args, out, sizeof(out));
		loopdev[0] = '\0';
	}
	if (image[0]) {
		unlink(image);
		image[0] = '\0';
	}
}

/* A failed check exits: what the test made goes all the same. */
static void cleanup_at_exit(void)
{
	cleanup();
	tu_user_remove(&uc);
	tu_user_remove(&ub);
	tu_user_remove(&ua);
	tu_group_remove(&group);
}

/* A directory pool on tmpfs: no user quota there, the option refused. */
static void test_directory_refused(void)
{
	char out[4096], socket[PATH_MAX + 16];
	struct pt_env e;

	pt_make(&e);
	snprintf(socket, sizeof(socket), "%s.sock", e.pool);
	dh_check_eq(run_daemon(e.pool, socket, out, sizeof(out)), 1);
	dh_expect_output(out, "keeps no user quota");
	dh_expect_output(out, "--max-pool-per-user cannot be enforced there");
	unlink(socket);
	pt_cleanup(&e);
}

/* A loop device over a new image in /var/tmp; false if none. */
static bool make_loop(void)
{
	const char *lo[] = { "-f", "--show", image, NULL };
	char out[256] = "";
	int fd;

	snprintf(image, sizeof(image), "/var/tmp/luo-pool-quota-XXXXXX");
	fd = mkostemp(image, O_CLOEXEC);
	dh_check(fd >= 0);
	dh_check_eq(ftruncate(fd, IMAGE_BYTES), 0);
	close(fd);
	if (run("losetup", lo, out, sizeof(out)) != 0 ||
	    strncmp(out, "/dev/loop", 9))
		return false;
	out[strcspn(out, "\n")] = '\0';
	snprintf(loopdev, sizeof(loopdev), "%s", out);
	return true;
}

/* Can this kernel mount an ext4 with user quota? (Leaves it formatted.) */
static bool kernel_has_quota(void)
{
	const char *mk[] = {
		"-q", "-F", "-O", "quota", "-E", "quotatype=usrquota",
		loopdev, NULL,
	};
	char out[1024];
	bool ok;

	dh_check_eq(run("mkfs.ext4", mk, out, sizeof(out)), 0);
	snprintf(probe_mnt, sizeof(probe_mnt), "/var/tmp/luo-quota-mnt-XXXXXX");
	dh_check(mkdtemp(probe_mnt));
	ok = !mount(loopdev, probe_mnt, "ext4", 0, NULL);
	if (ok)
		dh_check_eq(umount(probe_mnt), 0);
	rmdir(probe_mnt);
	probe_mnt[0] = '\0';
	return ok;
}

/* Zeroes the device's first MiB: a device with nothing on it. */
static void wipe(void)
{
	static const char zero[1 << 20];
	int fd = open(loopdev, O_WRONLY | O_CLOEXEC);

	dh_check(fd >= 0);
	dh_check_eq(pwrite(fd, zero, sizeof(zero), 0), sizeof(zero));
	dh_check_eq(fsync(fd), 0);
	close(fd);
}

/*
 * No quota in this kernel: refused, the new pool formatted again without
 * it, and a daemon without the option serves on it.
 */
static void test_device_refused(struct pt_env *e)
{
	char out[8192], socket[PATH_MAX + 16];
	int dev, fd;

	wipe();
	snprintf(socket, sizeof(socket), "%s/liveupdate.sock", e->d.dir);
	dh_check_eq(run_daemon(loopdev, socket, out, sizeof(out)), 1);
	dh_expect_output(out, "cannot mount an ext4 with user quota");
	dh_expect_output(out, "--max-pool-per-user cannot be enforced here");
	dh_check_eq(pt_start(e, NULL), 0);
	dev = luo_open_at(e->d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	fd = luo_pool_memfd(dev, "after", MFD_CLOEXEC);
	dh_check(fd >= 0);
	dh_check_eq(write(fd, "x", 1), 1);
	close(fd);
	luo_close(dev);
}

/* Fills its pool file until EDQUOT; what it wrote before stays. */
static int fill_past_limit(void *ctx)
{
	static unsigned char want[2 * LIMIT_BYTES], got[CHUNK];
	int dev = luo_open_at(sock, LUO_OPEN_DEVICE), fd;
	size_t done = 0;
	ssize_t n;

	TU_CHILD_CHECK(dev >= 0);
	fd = luo_pool_memfd(dev, "mine", MFD_CLOEXEC);
	TU_CHILD_CHECK(fd >= 0);
	pt_fill(want, sizeof(want), 3);
	while (done < sizeof(want)) {
		n = pwrite(fd, want + done, CHUNK, (off_t)done);
		if (n < 0)
			break;
		done += (size_t)n;
	}
	TU_CHILD_CHECK(done < sizeof(want) && errno == EDQUOT);
	TU_CHILD_CHECK(done >= LIMIT_BYTES / 2 && done <= LIMIT_BYTES);
	/* fsync: what was accepted is on the pool. */
	TU_CHILD_CHECK(fsync(fd) == 0);
	for (size_t off = 0; off + CHUNK <= done; off += CHUNK) {
		TU_CHILD_CHECK(pread(fd, got, CHUNK, (off_t)off) == CHUNK);
		TU_CHILD_CHECK(!memcmp(got, want + off, CHUNK));
	}
	/* Still over: an mmap'ed page past it cannot be had either. */
	TU_CHILD_CHECK(ftruncate(fd, 4 * LIMIT_BYTES) == 0);
	TU_CHILD_CHECK(fallocate(fd, 0, 2 * LIMIT_BYTES, CHUNK) < 0 &&
		    errno == EDQUOT);
	close(fd);
	luo_close(dev);
	return 0;
}

/* Makes and fills a pool file of half the limit. */
static int fill_half(void *ctx)
{
	static unsigned char buf[LIMIT_BYTES / 2];
	int dev = luo_open_at(sock, LUO_OPEN_DEVICE), fd;

	TU_CHILD_CHECK(dev >= 0);
	fd = luo_pool_memfd(dev, "theirs", MFD_CLOEXEC);
	TU_CHILD_CHECK(fd >= 0);
	pt_fill(buf, sizeof(buf), 4);
	TU_CHILD_CHECK(write(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf));
	TU_CHILD_CHECK(fsync(fd) == 0);
	close(fd);
	luo_close(dev);
	return 0;
}

/*
 * A session "big" holding a 2 MiB memfd (more than its limit: its copy
 * at a kexec would be); says so on @p[1], waits on @p[0] for the kexec's
 * failure, then checks that its session is not frozen.
 */
static int hold_big_memfd(void *ctx)
{
	static unsigned char buf[2 * LIMIT_BYTES];
	int *p = ctx, dev, s, m, m2;
	char c = 0;

	dev = luo_open_at(sock, LUO_OPEN_DEVICE);
	TU_CHILD_CHECK(dev >= 0);
	s = luo_create_session(dev, "big");
	TU_CHILD_CHECK(s >= 0);
	m = memfd_create("big", MFD_CLOEXEC);
	TU_CHILD_CHECK(m >= 0);
	pt_fill(buf, sizeof(buf), 5);
	TU_CHILD_CHECK(write(m, buf, sizeof(buf)) == (ssize_t)sizeof(buf));
	TU_CHILD_CHECK(luo_session_preserve_fd(s, m, 1) == 0);
	TU_CHILD_CHECK(write(p[1], "r", 1) == 1);
	TU_CHILD_CHECK(read(p[0], &c, 1) == 1);
	/* Unfrozen: the session still takes a file. */
	m2 = memfd_create("small", MFD_CLOEXEC);
	TU_CHILD_CHECK(m2 >= 0);
	TU_CHILD_CHECK(luo_session_preserve_fd(s, m2, 2) == 0);
	close(m2);
	close(m);
	luo_close(s);
	luo_close(dev);
	return 0;
}

static void test_device_enforced(struct pt_env *e)
{
	const char *args[] = {
		"--max-pool-per-user", LIMIT, "--group", group.name, NULL,
	};
	static unsigned char big[4u << 20];
	char want[64];
	struct luo_status st;
	int dev, fd, sfd, p1[2], p2[2], status;
	pid_t child;
	char c;

	wipe();
	dh_check_eq(pt_start(e, args), 0);
	sock = e->d.socket;

	/* A: past its limit, EDQUOT; B and root are not held up by it. */
	dh_check_eq(tu_run_as(&ua, fill_past_limit, NULL), 0);
	dh_check_eq(tu_run_as(&ub, fill_half, NULL), 0);
	dev = luo_open_at(sock, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	fd = luo_pool_memfd(dev, "root's", MFD_CLOEXEC);
	dh_check(fd >= 0);
	pt_fill(big, sizeof(big), 6);
	dh_check_eq(write(fd, big, sizeof(big)), sizeof(big));
	dh_check_eq(fsync(fd), 0);
	sfd = luo_create_session(dev, "root");
	dh_check(sfd >= 0);
	dh_check_eq(luo_session_preserve_fd(sfd, fd, 1), 0);

	/* C's memfds cannot fit: EDQUOT, naming C and its session. */
	dh_check_eq(pipe2(p1, O_CLOEXEC), 0);
	dh_check_eq(pipe2(p2, O_CLOEXEC), 0);
	{
		int ends[2] = { p2[0], p1[1] };

		child = tu_spawn_as(&uc, hold_big_memfd, ends);
	}
	dh_check(child > 0);
	dh_check_eq(read(p1[0], &c, 1), 1);
	dh_check_eq(pt_kexec(dev, e->kernel), -EDQUOT);
	dh_check_eq(luo_status(dev, &st), 0);
	dh_check_eq(st.last_reboot_error, EDQUOT);
	snprintf(want, sizeof(want), "uid %u over its pool quota: 'big'",
		 (unsigned int)uc.uid);
	dh_check(strstr(st.last_reboot_failure, want));
	dh_check(!(st.flags & LUO_STATUS_REBOOTING));
	dh_check(!pt_has_handover(e));
	dh_check_eq(write(p2[1], "g", 1), 1);
	dh_check_eq(waitpid(child, &status, 0), child);
	dh_check(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(p1[0]);
	close(p1[1]);
	close(p2[0]);
	close(p2[1]);

	/* C's session went with its connection: the kexec now succeeds. */
	dh_check_eq(pt_kexec(dev, e->kernel), -ENODEV);
	dh_check_eq(dh_wait(&e->d), 0);
	dh_check(pt_has_handover(e));
	close(sfd);
	close(fd);
	luo_close(dev);
}

int main(void)
{
	struct pt_env e;

	if (geteuid() != 0 || !tu_available())
		dh_skip("needs root, useradd and groupadd");
	test_directory_refused();
	if (access("/usr/sbin/losetup", X_OK) && access("/sbin/losetup", X_OK))
		dh_skip("no losetup");
	if (access("/usr/sbin/mkfs.ext4", X_OK) &&
	    access("/sbin/mkfs.ext4", X_OK))
		dh_skip("no mkfs.ext4");
	atexit(cleanup_at_exit);
	dh_check_eq(tu_group_create(&group, "pq"), 0);
	dh_check_eq(tu_user_create(&ua, "pqa", &group), 0);
	dh_check_eq(tu_user_create(&ub, "pqb", &group), 0);
	dh_check_eq(tu_user_create(&uc, "pqc", &group), 0);
	pt_make(&e);
	current = &e;
	if (!make_loop())
		dh_skip("no loop device");
	/* The pool is the device; the socket's directory gets the mount. */
	dh_check_eq(rmdir(e.pool), 0);
	snprintf(e.pool, sizeof(e.pool), "%s", loopdev);
	dh_check(mkdtemp(strcpy(e.d.dir, "/tmp/luo-test-XXXXXX")));
	snprintf(e.d.socket, sizeof(e.d.socket), "%s/liveupdate.sock",
		 e.d.dir);
	if (kernel_has_quota())
		test_device_enforced(&e);
	else
		test_device_refused(&e);
	return DH_PASS;
}
