// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * quota-client: the client of the kexec scenario "quota" (README here),
 * which proves --max-pool-per-user on Debian's kernel (the host's may have
 * no CONFIG_QFMT_V2; tests/pool/test-pool-quota then checks the refusal).
 * The guest has no user database: users are numeric uids, given group GID
 * (the daemon's --group) as their one supplementary group.
 *
 *   quota-client SOCK GID fill UID LIMIT
 *   quota-client SOCK GID half UID LIMIT
 *   quota-client SOCK GID root BYTES
 *   quota-client SOCK GID refuse UID LIMIT KERNEL INITRD
 *   quota-client SOCK GID keep UID LIMIT FIFO
 *   quota-client SOCK GID check UID LIMIT
 *
 * fill: as UID, a pool file written 64 KiB at a time until a write fails;
 * it must fail EDQUOT after at least LIMIT / 2 and at most LIMIT bytes,
 * the bytes written must read back, and fallocate past the limit must
 * fail EDQUOT too.  half: as UID, a pool file of LIMIT / 2 bytes written
 * and fsync'ed.  root: as root, a pool file of BYTES.  refuse: as UID, a
 * session "big" holding a memfd of 2 * LIMIT bytes; then, as root,
 * REBOOT --kexec must fail EDQUOT with "uid UID over its pool quota:
 * 'big'" in STATUS's reason, the REBOOTING flag clear, and the session,
 * not frozen, must take another file.  keep: as UID, a session "kept"
 * holding a pool file of LIMIT / 2 bytes made setuid by its owner (a file
 * that is no safe hardlink source) and a memfd of LIMIT / 4 bytes, both
 * within its limit; writes a line to FIFO and waits, holding them, for
 * the kexec.  check (after it): as UID, retrieve both, the pool file
 * still UID's, every byte as written; finish.
 *
 * Exit 0 on success, 1 with a message on stderr otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <luo/libluo.h>

#define CHUNK	(64u << 10)

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "quota-client: %s:%d: %s (%s)\n",	\
			__FILE__, __LINE__, #cond, strerror(errno));	\
		exit(1);						\
	}								\
} while (0)

static const char *sock;
static gid_t gid;

static void fill_pattern(unsigned char *b, size_t len, unsigned int seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		b[i] = (unsigned char)(x >> 16);
	}
}

static void become(uid_t uid)
{
	CHECK(setgroups(1, &gid) == 0);
	CHECK(setresgid(gid, gid, gid) == 0);
	CHECK(setresuid(uid, uid, uid) == 0);
}

static int open_dev(void)
{
	int dev = luo_open_at(sock, LUO_OPEN_DEVICE);

	if (dev < 0)
		errno = -dev;
	CHECK(dev >= 0);
	return dev;
}

static int pool_file(int dev, const char *name)
{
	int fd = luo_pool_memfd(dev, name, MFD_CLOEXEC);

	if (fd < 0)
		errno = -fd;
	CHECK(fd >= 0);
	return fd;
}

static int cmd_fill(uid_t uid, size_t limit)
{
	unsigned char *want = malloc(2 * limit), got[CHUNK];
	size_t done = 0;
	ssize_t n;
	int dev, fd;

	CHECK(want);
	become(uid);
	dev = open_dev();
	fd = pool_file(dev, "fill");
	fill_pattern(want, 2 * limit, 3);
	while (done < 2 * limit) {
		n = pwrite(fd, want + done, CHUNK, (off_t)done);
		if (n < 0)
			break;
		done += (size_t)n;
	}
	fprintf(stderr, "quota-client: uid %u wrote %zu bytes, then: %s\n",
		(unsigned int)uid, done, strerror(errno));
	CHECK(done < 2 * limit && errno == EDQUOT);
	CHECK(done >= limit / 2 && done <= limit);
	CHECK(fsync(fd) == 0);
	for (size_t off = 0; off + CHUNK <= done; off += CHUNK) {
		CHECK(pread(fd, got, CHUNK, (off_t)off) == CHUNK);
		CHECK(!memcmp(got, want + off, CHUNK));
	}
	CHECK(fallocate(fd, 0, (off_t)(2 * limit), CHUNK) < 0 &&
	      errno == EDQUOT);
	close(fd);
	luo_close(dev);
	free(want);
	return 0;
}

static int cmd_write(uid_t uid, size_t bytes, const char *name)
{
	unsigned char *buf = malloc(bytes);
	int dev, fd;

	CHECK(buf);
	if (uid)
		become(uid);
	dev = open_dev();
	fd = pool_file(dev, name);
	fill_pattern(buf, bytes, 4);
	CHECK(write(fd, buf, bytes) == (ssize_t)bytes);
	CHECK(fsync(fd) == 0);
	close(fd);
	luo_close(dev);
	free(buf);
	fprintf(stderr, "quota-client: uid %u wrote %zu bytes\n",
		(unsigned int)uid, bytes);
	return 0;
}

/* The user's side of refuse: a session whose memfd exceeds its limit. */
static int hold_big(uid_t uid, size_t limit, int ready, int go)
{
	unsigned char *buf = malloc(2 * limit);
	int dev, s, m, m2, r;
	char c;

	CHECK(buf);
	become(uid);
	dev = open_dev();
	s = luo_create_session(dev, "big");
	CHECK(s >= 0);
	m = memfd_create("big", MFD_CLOEXEC);
	CHECK(m >= 0);
	fill_pattern(buf, 2 * limit, 5);
	CHECK(write(m, buf, 2 * limit) == (ssize_t)(2 * limit));
	r = luo_session_preserve_fd(s, m, 1);
	errno = r < 0 ? -r : 0;
	CHECK(r == 0);
	CHECK(write(ready, "r", 1) == 1);
	CHECK(read(go, &c, 1) == 1);
	m2 = memfd_create("small", MFD_CLOEXEC);
	CHECK(m2 >= 0);
	r = luo_session_preserve_fd(s, m2, 2);
	errno = r < 0 ? -r : 0;
	CHECK(r == 0);
	return 0;
}

static int cmd_refuse(uid_t uid, size_t limit, const char *kernel,
		      const char *initrd)
{
	struct luo_reboot_kexec k = { .size = sizeof(k) };
	struct luo_status st;
	int p1[2], p2[2], dev, r, status;
	char want[64], c;
	pid_t child;

	CHECK(pipe(p1) == 0 && pipe(p2) == 0);
	child = fork();
	CHECK(child >= 0);
	if (!child)
		_exit(hold_big(uid, limit, p1[1], p2[0]));
	CHECK(read(p1[0], &c, 1) == 1);
	dev = open_dev();
	snprintf(k.kernel, sizeof(k.kernel), "%s", kernel);
	snprintf(k.initrd, sizeof(k.initrd), "%s", initrd);
	r = luo_ioctl(dev, LUO_IOCTL_REBOOT_KEXEC, &k);
	fprintf(stderr, "quota-client: REBOOT --kexec: %s\n", strerror(-r));
	errno = -r;
	CHECK(r == -EDQUOT);
	CHECK(luo_status(dev, &st) == 0);
	fprintf(stderr, "quota-client: last failure: %.64s\n",
		st.last_reboot_failure);
	snprintf(want, sizeof(want), "uid %u over its pool quota: 'big'",
		 (unsigned int)uid);
	CHECK(st.last_reboot_error == EDQUOT);
	CHECK(strstr(st.last_reboot_failure, want));
	CHECK(!(st.flags & LUO_STATUS_REBOOTING));
	CHECK(write(p2[1], "g", 1) == 1);
	CHECK(waitpid(child, &status, 0) == child);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	luo_close(dev);
	return 0;
}

static int cmd_keep(uid_t uid, size_t limit, const char *fifo)
{
	unsigned char *buf = malloc(limit / 2);
	int dev, s, pf, m, r, f;

	CHECK(buf);
	become(uid);
	dev = open_dev();
	s = luo_create_session(dev, "kept");
	CHECK(s >= 0);
	pf = pool_file(dev, "kept");
	fill_pattern(buf, limit / 2, 7);
	CHECK(write(pf, buf, limit / 2) == (ssize_t)(limit / 2));
	CHECK(fchmod(pf, 04700) == 0);
	m = memfd_create("kept", MFD_CLOEXEC);
	CHECK(m >= 0);
	fill_pattern(buf, limit / 4, 8);
	CHECK(write(m, buf, limit / 4) == (ssize_t)(limit / 4));
	r = luo_session_preserve_fd(s, pf, 1);
	r = r ?: luo_session_preserve_fd(s, m, 2);
	errno = r < 0 ? -r : 0;
	CHECK(r == 0);
	f = open(fifo, O_WRONLY | O_CLOEXEC);
	CHECK(f >= 0 && write(f, "kept\n", 5) == 5);
	close(f);
	for (;;)
		pause();
}

static void check_bytes(int fd, size_t len, unsigned int seed)
{
	unsigned char *want = malloc(len), *got = malloc(len);

	CHECK(want && got);
	fill_pattern(want, len, seed);
	CHECK(pread(fd, got, len, 0) == (ssize_t)len);
	CHECK(!memcmp(got, want, len));
	free(want);
	free(got);
}

static int cmd_check(uid_t uid, size_t limit)
{
	struct stat st;
	int dev, s, pf, m;

	become(uid);
	dev = open_dev();
	s = luo_retrieve_session(dev, "kept");
	errno = s < 0 ? -s : 0;
	CHECK(s >= 0);
	pf = luo_session_retrieve_fd(s, 1);
	m = luo_session_retrieve_fd(s, 2);
	CHECK(pf >= 0 && m >= 0);
	CHECK(fstat(pf, &st) == 0);
	CHECK(st.st_uid == uid && st.st_size == (off_t)(limit / 2));
	check_bytes(pf, limit / 2, 7);
	check_bytes(m, limit / 4, 8);
	CHECK(luo_session_finish(s) == 0);
	fprintf(stderr, "quota-client: uid %u's pool file (its own) and memfd crossed the kexec\n",
		(unsigned int)uid);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: quota-client SOCK GID fill|half|root|refuse|keep|check ...\n");
		return 2;
	}
	sock = argv[1];
	gid = (gid_t)strtoul(argv[2], NULL, 10);
	if (!strcmp(argv[3], "fill") && argc == 6)
		return cmd_fill((uid_t)strtoul(argv[4], NULL, 10),
				strtoul(argv[5], NULL, 10));
	if (!strcmp(argv[3], "half") && argc == 6)
		return cmd_write((uid_t)strtoul(argv[4], NULL, 10),
				 strtoul(argv[5], NULL, 10) / 2, "half");
	if (!strcmp(argv[3], "root") && argc == 5)
		return cmd_write(0, strtoul(argv[4], NULL, 10), "root");
	if (!strcmp(argv[3], "refuse") && argc == 8)
		return cmd_refuse((uid_t)strtoul(argv[4], NULL, 10),
				  strtoul(argv[5], NULL, 10), argv[6],
				  argv[7]);
	if (!strcmp(argv[3], "keep") && argc == 7)
		return cmd_keep((uid_t)strtoul(argv[4], NULL, 10),
				strtoul(argv[5], NULL, 10), argv[6]);
	if (!strcmp(argv[3], "check") && argc == 6)
		return cmd_check((uid_t)strtoul(argv[4], NULL, 10),
				 strtoul(argv[5], NULL, 10));
	fprintf(stderr, "quota-client: bad arguments\n");
	return 2;
}
