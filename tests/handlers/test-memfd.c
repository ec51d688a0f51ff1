// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The memfd handler's callbacks, called directly the way the core calls
 * them: can_preserve and preserve on the core's duplicate of the caller's
 * fd, freeze, then retrieve on "the fd inherited across the re-exec" (here
 * another duplicate) with the serialized @data copied into a fresh argument
 * block, then finish.  No core, no daemon.
 */
#include <endian.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/kcmp.h>
#include <linux/magic.h>

#include "handlers.h"
#include "../common/check.h"

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE	0x0010
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC		0x0020
#endif
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL		0x0008U
#endif
#ifndef MFD_HUGETLB
#define MFD_HUGETLB		0x0004U
#endif

#define GIB	(1024ULL * 1024 * 1024)

/* The documented layout of the handler's @data (man/luo-memfd.7). */
struct ser {
	uint64_t pos;
	uint64_t size;
	uint32_t seals;
	uint32_t flags;
} __attribute__((packed));

static const struct luo_file_handler_ops *ops(void)
{
	return luo_memfd_handler()->ops;
}

static bool can_preserve(int fd)
{
	return ops()->can_preserve(luo_memfd_handler(), fd);
}

/* What the core keeps for one preserved file, across the "reboot". */
struct sim {
	struct luo_file_op_args out;
	struct luo_file_op_args in;
};

static void sim_init(struct sim *s)
{
	memset(s, 0, sizeof(*s));
	s->out.handler = luo_memfd_handler();
	s->out.fd = -1;
	s->out.retrieved_fd = -1;
	s->in.handler = luo_memfd_handler();
	s->in.fd = -1;
	s->in.retrieved_fd = -1;
}

/* PRESERVE_FD: the core duplicates the caller's fd and keeps it. */
static int sim_preserve(struct sim *s, int user_fd)
{
	int err;

	sim_init(s);
	s->out.fd = fcntl(user_fd, F_DUPFD_CLOEXEC, 0);
	if (s->out.fd < 0)
		return -errno;
	err = ops()->preserve(&s->out);
	if (err) {
		close(s->out.fd);
		s->out.fd = -1;
	}
	return err;
}

/* Closing the outgoing session: unpreserve, then the core's close. */
static void sim_unpreserve(struct sim *s)
{
	ops()->unpreserve(&s->out);
	close(s->out.fd);
	s->out.fd = -1;
}

/*
 * REBOOT: freeze, then the new image inherits the fd (another number for
 * the same open file description) and the serialized data only.
 */
static int sim_reboot(struct sim *s)
{
	int err = ops()->freeze(&s->out);

	if (err)
		return err;
	s->in.fd = fcntl(s->out.fd, F_DUPFD_CLOEXEC, 0);
	if (s->in.fd < 0)
		return -errno;
	close(s->out.fd);
	s->out.fd = -1;
	memcpy(s->in.data, s->out.data, sizeof(s->in.data));
	s->in.data_len = s->out.data_len;
	return 0;
}

static int sim_retrieve(struct sim *s)
{
	int err = ops()->retrieve(&s->in);

	s->in.retrieve_status = err ? err : 1;
	return err;
}

/* FINISH: the handler's finish, then the core closes what it owns. */
static void sim_finish(struct sim *s)
{
	ops()->finish(&s->in);
	if (s->in.retrieved_fd >= 0)
		close(s->in.retrieved_fd);
	close(s->in.fd);
	s->in.fd = -1;
	s->in.retrieved_fd = -1;
}

static struct ser ser_of(const struct luo_file_op_args *a)
{
	struct ser le, s;

	memcpy(&le, a->data, sizeof(le));
	s.pos = le64toh(le.pos);
	s.size = le64toh(le.size);
	s.seals = le32toh(le.seals);
	s.flags = le32toh(le.flags);
	return s;
}

static void ser_set(struct luo_file_op_args *a, const struct ser *s)
{
	struct ser le = {
		.pos = htole64(s->pos),
		.size = htole64(s->size),
		.seals = htole32(s->seals),
		.flags = htole32(s->flags),
	};

	memcpy(a->data, &le, sizeof(le));
}

static int is_on_tmpfs(int fd)
{
	struct statfs sfs;

	return fstatfs(fd, &sfs) == 0 && sfs.f_type == TMPFS_MAGIC;
}

/* Fills @fd with a byte pattern of @len bytes, then rewinds. */
static int fill(int fd, size_t len)
{
	char buf[4096];
	size_t off = 0;

	while (off < len) {
		size_t n = len - off < sizeof(buf) ? len - off : sizeof(buf);
		size_t i;

		for (i = 0; i < n; i++)
			buf[i] = (char)((off + i) * 7 + 3);
		if (pwrite(fd, buf, n, (off_t)off) != (ssize_t)n)
			return -1;
		off += n;
	}
	return 0;
}

static int verify(int fd, size_t len)
{
	char buf[4096];
	size_t off = 0;

	while (off < len) {
		size_t n = len - off < sizeof(buf) ? len - off : sizeof(buf);
		size_t i;

		if (pread(fd, buf, n, (off_t)off) != (ssize_t)n)
			return -1;
		for (i = 0; i < n; i++)
			if (buf[i] != (char)((off + i) * 7 + 3))
				return -1;
		off += n;
	}
	return 0;
}

/* -1 unknown (no kcmp), 0 same open file description, 1 different. */
static int kcmp_file(int fd1, int fd2)
{
	pid_t pid = getpid();
	long r = syscall(SYS_kcmp, pid, pid, KCMP_FILE, fd1, fd2);

	if (r < 0)
		return -1;
	return r != 0;
}

/* ------------------------------------------------------------------ */

static int test_handler_struct(void)
{
	struct luo_file_handler *h = luo_memfd_handler();
	struct luo_file_handler mine;

	CHECK(h != NULL);
	CHECK(h == luo_memfd_handler());
	CHECK(strcmp(h->compatible, "memfd-v2") == 0);
	CHECK(strcmp(h->compatible, LUO_MEMFD_COMPATIBLE) == 0);
	CHECK(h->ops->can_preserve && h->ops->preserve && h->ops->unpreserve);
	CHECK(h->ops->retrieve && h->ops->finish && h->ops->get_id);
	CHECK(h->ops->freeze);
	/* Nothing to undo after freeze, and memfd never blocks FINISH. */
	CHECK(h->ops->unfreeze == NULL);
	CHECK(h->ops->can_finish == NULL);

	memset(&mine, 0xa5, sizeof(mine));
	luo_memfd_handler_init(&mine);
	CHECK(mine.ops == h->ops);
	CHECK(strcmp(mine.compatible, "memfd-v2") == 0);
	CHECK(list_empty(&mine.list) && list_empty(&mine.flb_links));
	CHECK_EQ(mine.nr_files, 0);
	return TEST_PASS;
}

static int test_can_preserve_memfd(void)
{
	int fd = memfd_create("t", MFD_CLOEXEC);
	int fd2 = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	CHECK(fd >= 0 && fd2 >= 0);
	CHECK(can_preserve(fd));
	CHECK(can_preserve(fd2));
	close(fd);
	close(fd2);
	return TEST_PASS;
}

static int test_can_preserve_hugetlb(void)
{
	int fd = memfd_create("t", MFD_CLOEXEC | MFD_HUGETLB);

	if (fd < 0)
		SKIP("memfd_create(MFD_HUGETLB) fails: no huge pages");
	CHECK(!can_preserve(fd));
	close(fd);
	return TEST_PASS;
}

static int test_can_preserve_tmpfile(void)
{
	int fd = open("/dev/shm", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd < 0)
		SKIP("no O_TMPFILE in /dev/shm");
	if (!is_on_tmpfs(fd)) {
		close(fd);
		SKIP("/dev/shm is not tmpfs");
	}
	CHECK(can_preserve(fd));
	close(fd);
	return TEST_PASS;
}

static int test_can_preserve_dev_shm_linked(void)
{
	char path[] = "/dev/shm/luo-test-XXXXXX";
	int fd = mkstemp(path);
	bool linked, unlinked;

	if (fd < 0)
		SKIP("cannot create a file in /dev/shm");
	if (!is_on_tmpfs(fd)) {
		close(fd);
		unlink(path);
		SKIP("/dev/shm is not tmpfs");
	}
	linked = can_preserve(fd);
	unlink(path);
	/* Once unlinked it is an unlinked tmpfs file like O_TMPFILE. */
	unlinked = can_preserve(fd);
	close(fd);
	CHECK(!linked);
	CHECK(unlinked);
	return TEST_PASS;
}

static int test_can_preserve_others(void)
{
	int p[2], sv[2], null, fd, mfd, opath;
	char path[PATH_MAX], tmpl[] = "luo-test-disk-XXXXXX";

	CHECK(pipe2(p, O_CLOEXEC) == 0);
	CHECK(!can_preserve(p[0]));
	CHECK(!can_preserve(p[1]));
	close(p[0]);
	close(p[1]);

	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	CHECK(!can_preserve(sv[0]));
	close(sv[0]);
	close(sv[1]);

	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	CHECK(null >= 0);
	CHECK(!can_preserve(null));
	close(null);

	/* Not a valid fd at all. */
	CHECK(!can_preserve(-1));
	CHECK(!can_preserve(INT_MAX));

	/* A directory on tmpfs. */
	fd = open("/dev/shm", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		CHECK(!can_preserve(fd));
		close(fd);
	}

	/* An O_PATH fd of a memfd: the kernel's fget() never returns one. */
	mfd = memfd_create("t", MFD_CLOEXEC);
	CHECK(mfd >= 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", mfd);
	opath = open(path, O_PATH | O_CLOEXEC);
	CHECK(opath >= 0);
	CHECK(!can_preserve(opath));
	close(opath);
	close(mfd);

	/* A regular file on disk, linked and unlinked: the build directory. */
	fd = mkstemp(tmpl);
	CHECK(fd >= 0);
	if (is_on_tmpfs(fd)) {
		close(fd);
		unlink(tmpl);
		SKIP("the working directory is on tmpfs");
	}
	CHECK(!can_preserve(fd));
	unlink(tmpl);
	CHECK(!can_preserve(fd));
	close(fd);
	return TEST_PASS;
}

static int test_get_id(void)
{
	struct luo_file_id a, b, c;
	char path[64];
	int fd1, fd2, other;

	fd1 = memfd_create("t", MFD_CLOEXEC);
	other = memfd_create("t", MFD_CLOEXEC);
	CHECK(fd1 >= 0 && other >= 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd1);
	fd2 = open(path, O_RDWR | O_CLOEXEC);
	CHECK(fd2 >= 0);
	CHECK_EQ(kcmp_file(fd1, fd2) == 0, 0);

	CHECK_EQ(ops()->get_id(luo_memfd_handler(), fd1, &a), 0);
	CHECK_EQ(ops()->get_id(luo_memfd_handler(), fd2, &b), 0);
	CHECK_EQ(ops()->get_id(luo_memfd_handler(), other, &c), 0);
	CHECK(a.a == b.a && a.b == b.b);
	CHECK(a.a != c.a || a.b != c.b);
	CHECK_EQ(ops()->get_id(luo_memfd_handler(), -1, &c), -EBADF);
	close(fd1);
	close(fd2);
	close(other);
	return TEST_PASS;
}

static int test_data_layout(void)
{
	struct sim s;
	struct ser d;
	int fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	CHECK(fd >= 0);
	CHECK(fill(fd, 10000) == 0);
	CHECK(lseek(fd, 1234, SEEK_SET) == 1234);
	CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) == 0);
	CHECK_EQ(sim_preserve(&s, fd), 0);
	CHECK_EQ(s.out.data_len, 24);
	d = ser_of(&s.out);
	CHECK_EQ(d.pos, 1234);
	CHECK_EQ(d.size, 10000);
	CHECK_EQ(d.seals, F_SEAL_SHRINK);
	CHECK_EQ(d.flags, 0);

	/* freeze records the caller's later position and size; the seals
	 * stay those of preserve, as in the kernel's memfd-v2. */
	CHECK(lseek(fd, 50, SEEK_SET) == 50);
	CHECK(ftruncate(fd, 20000) == 0);
	CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW) == 0);
	CHECK_EQ(ops()->freeze(&s.out), 0);
	d = ser_of(&s.out);
	CHECK_EQ(d.pos, 50);
	CHECK_EQ(d.size, 20000);
	CHECK_EQ(d.seals, F_SEAL_SHRINK);
	sim_unpreserve(&s);
	close(fd);
	return TEST_PASS;
}

/*
 * One full cycle for a memfd holding @len bytes whose caller position is
 * @pos at freeze time.
 */
static int cycle(size_t len, off_t pos)
{
	struct sim s;
	off_t mid = (off_t)len / 2;
	char c, d;
	int fd, r, fl;

	fd = memfd_create("cycle", MFD_CLOEXEC);
	CHECK(fd >= 0);
	CHECK(fill(fd, len) == 0);
	CHECK(can_preserve(fd));
	CHECK_EQ(sim_preserve(&s, fd), 0);
	/* The caller keeps using the fd; freeze sees its last position. */
	CHECK_EQ(lseek(fd, pos, SEEK_SET), pos);
	CHECK_EQ(sim_reboot(&s), 0);
	CHECK_EQ(sim_retrieve(&s), 0);
	r = s.in.retrieved_fd;
	CHECK(r >= 0);

	/* Position restored, O_CLOEXEC, O_RDWR, contents intact. */
	CHECK_EQ(lseek(r, 0, SEEK_CUR), pos);
	CHECK(fcntl(r, F_GETFD) & FD_CLOEXEC);
	fl = fcntl(r, F_GETFL);
	CHECK_EQ(fl & O_ACCMODE, O_RDWR);
	CHECK(verify(r, len) == 0);

	/* A new open file description ... */
	CHECK(kcmp_file(r, fd) != 0);
	CHECK(kcmp_file(r, s.in.fd) != 0);
	CHECK_EQ(lseek(r, 3, SEEK_SET), 3);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), pos);
	CHECK_EQ(lseek(s.in.fd, 0, SEEK_CUR), pos);

	/* ... of the same memory, both ways. */
	if (len) {
		c = 'X';
		CHECK_EQ(pwrite(r, &c, 1, mid), 1);
		CHECK_EQ(pread(fd, &d, 1, mid), 1);
		CHECK_EQ(d, 'X');
		c = 'Y';
		CHECK_EQ(pwrite(fd, &c, 1, 0), 1);
		CHECK_EQ(pread(r, &d, 1, 0), 1);
		CHECK_EQ(d, 'Y');
	}
	sim_finish(&s);
	close(fd);
	return TEST_PASS;
}

#define DATA_LEN	(3 * 4096 + 123)

static int test_cycle_pos_zero(void)
{
	return cycle(DATA_LEN, 0);
}

static int test_cycle_pos_middle(void)
{
	return cycle(DATA_LEN, DATA_LEN / 2);
}

static int test_cycle_pos_end(void)
{
	return cycle(DATA_LEN, DATA_LEN);
}

static int test_cycle_pos_beyond_eof(void)
{
	return cycle(DATA_LEN, DATA_LEN + 100000);
}

static int test_cycle_zero_size(void)
{
	struct stat st;
	struct sim s;
	int fd, r;

	if (cycle(0, 0) != TEST_PASS)
		return TEST_FAIL;
	if (cycle(0, 4096) != TEST_PASS)
		return TEST_FAIL;

	fd = memfd_create("empty", MFD_CLOEXEC);
	CHECK(fd >= 0);
	CHECK_EQ(sim_preserve(&s, fd), 0);
	CHECK_EQ(ser_of(&s.out).size, 0);
	CHECK_EQ(sim_reboot(&s), 0);
	CHECK_EQ(sim_retrieve(&s), 0);
	r = s.in.retrieved_fd;
	CHECK(fstat(r, &st) == 0);
	CHECK_EQ(st.st_size, 0);
	sim_finish(&s);
	close(fd);
	return TEST_PASS;
}

/* A preserved memfd given up before any reboot. */
static int test_unpreserve(void)
{
	struct sim s;
	int fd = memfd_create("t", MFD_CLOEXEC);

	CHECK(fd >= 0);
	CHECK(fill(fd, 100) == 0);
	CHECK_EQ(sim_preserve(&s, fd), 0);
	CHECK_EQ(ops()->freeze(&s.out), 0);
	sim_unpreserve(&s);
	CHECK(verify(fd, 100) == 0);
	close(fd);
	return TEST_PASS;
}

/* An incoming file finished without being retrieved. */
static int test_finish_unretrieved(void)
{
	struct sim s;
	int fd = memfd_create("t", MFD_CLOEXEC);

	CHECK(fd >= 0);
	CHECK_EQ(sim_preserve(&s, fd), 0);
	CHECK_EQ(sim_reboot(&s), 0);
	sim_finish(&s);
	close(fd);
	return TEST_PASS;
}

/* A file retrieved after the caller closed every fd of its own. */
static int test_caller_closed(void)
{
	struct sim s;
	int fd = memfd_create("t", MFD_CLOEXEC);

	CHECK(fd >= 0);
	CHECK(fill(fd, 5000) == 0);
	CHECK_EQ(lseek(fd, 4000, SEEK_SET), 4000);
	CHECK_EQ(sim_preserve(&s, fd), 0);
	close(fd);
	CHECK_EQ(sim_reboot(&s), 0);
	CHECK_EQ(sim_retrieve(&s), 0);
	CHECK_EQ(lseek(s.in.retrieved_fd, 0, SEEK_CUR), 4000);
	CHECK(verify(s.in.retrieved_fd, 5000) == 0);
	sim_finish(&s);
	return TEST_PASS;
}

static int test_tmpfile_cycle(void)
{
	struct sim s;
	int fd = open("/dev/shm", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd < 0 || !is_on_tmpfs(fd)) {
		if (fd >= 0)
			close(fd);
		SKIP("no O_TMPFILE on tmpfs in /dev/shm");
	}
	CHECK(fill(fd, 9000) == 0);
	CHECK_EQ(lseek(fd, 8999, SEEK_SET), 8999);
	CHECK(can_preserve(fd));
	CHECK_EQ(sim_preserve(&s, fd), 0);
	/* A non-memfd shmem file reports F_SEAL_SEAL. */
	CHECK_EQ(ser_of(&s.out).seals, F_SEAL_SEAL);
	CHECK_EQ(sim_reboot(&s), 0);
	CHECK_EQ(sim_retrieve(&s), 0);
	CHECK_EQ(lseek(s.in.retrieved_fd, 0, SEEK_CUR), 8999);
	CHECK(verify(s.in.retrieved_fd, 9000) == 0);
	sim_finish(&s);
	close(fd);
	return TEST_PASS;
}

static int seal_cycle(unsigned int mfd_flags, int seals, int expect_seals)
{
	struct sim s;
	char c = 'z';
	int fd, r;

	fd = memfd_create("sealed", MFD_CLOEXEC | mfd_flags);
	if (fd < 0 && errno == EINVAL)
		SKIP("memfd_create flag not supported");
	CHECK(fd >= 0);
	CHECK(fill(fd, 8192) == 0);
	CHECK_EQ(lseek(fd, 100, SEEK_SET), 100);
	if (seals)
		CHECK(fcntl(fd, F_ADD_SEALS, seals) == 0);
	CHECK_EQ(fcntl(fd, F_GET_SEALS), expect_seals);
	CHECK(can_preserve(fd));
	CHECK_EQ(sim_preserve(&s, fd), 0);
	CHECK_EQ(ser_of(&s.out).seals, expect_seals);
	CHECK_EQ(sim_reboot(&s), 0);
	CHECK_EQ(sim_retrieve(&s), 0);
	r = s.in.retrieved_fd;
	CHECK_EQ(fcntl(r, F_GET_SEALS), expect_seals);
	CHECK_EQ(lseek(r, 0, SEEK_CUR), 100);
	CHECK(verify(r, 8192) == 0);
	/* Write seals do not block the O_RDWR reopen, only the writes. */
	CHECK_EQ(fcntl(r, F_GETFL) & O_ACCMODE, O_RDWR);
	if (expect_seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) {
		errno = 0;
		CHECK_EQ(pwrite(r, &c, 1, 0), -1);
		CHECK_EQ(errno, EPERM);
	} else {
		CHECK_EQ(pwrite(r, &c, 1, 0), 1);
	}
	if (expect_seals & F_SEAL_SHRINK) {
		CHECK_EQ(ftruncate(r, 1), -1);
		CHECK_EQ(errno, EPERM);
	}
	if (expect_seals & F_SEAL_GROW) {
		CHECK_EQ(ftruncate(r, 100000), -1);
		CHECK_EQ(errno, EPERM);
	}
	if (expect_seals & F_SEAL_SEAL) {
		CHECK_EQ(fcntl(r, F_ADD_SEALS, F_SEAL_SHRINK), -1);
		CHECK_EQ(errno, EPERM);
	}
	sim_finish(&s);
	close(fd);
	return TEST_PASS;
}

static int test_seals_shrink_grow_write_seal(void)
{
	int all = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL;

	return seal_cycle(MFD_ALLOW_SEALING, all, all);
}

static int test_seals_future_write(void)
{
	return seal_cycle(MFD_ALLOW_SEALING, F_SEAL_FUTURE_WRITE,
			  F_SEAL_FUTURE_WRITE);
}

static int test_seals_none_allowed(void)
{
	/* Without MFD_ALLOW_SEALING a memfd starts with F_SEAL_SEAL. */
	return seal_cycle(0, 0, F_SEAL_SEAL);
}

static int test_seals_noexec(void)
{
	return seal_cycle(MFD_NOEXEC_SEAL, 0, F_SEAL_EXEC);
}

static int test_seals_none(void)
{
	return seal_cycle(MFD_ALLOW_SEALING, 0, 0);
}

/* Prepares an incoming argument block for a fresh memfd; @fd out. */
static int incoming(struct sim *s, int *fd)
{
	*fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (*fd < 0)
		return -errno;
	if (fill(*fd, 4096) < 0)
		return -errno;
	if (sim_preserve(s, *fd))
		return -1;
	return sim_reboot(s);
}

static int retrieve_fails(struct sim *s, int fd, int err)
{
	s->in.retrieved_fd = 1234;
	CHECK_EQ(sim_retrieve(s), err);
	CHECK_EQ(s->in.retrieved_fd, -1);
	sim_finish(s);
	close(fd);
	return TEST_PASS;
}

static int test_retrieve_unknown_seals(void)
{
	struct sim s;
	struct ser d;
	int fd;

	CHECK_EQ(incoming(&s, &fd), 0);
	d = ser_of(&s.in);
	d.seals |= 0x40;
	ser_set(&s.in, &d);
	if (retrieve_fails(&s, fd, -EOPNOTSUPP))
		return TEST_FAIL;

	CHECK_EQ(incoming(&s, &fd), 0);
	d = ser_of(&s.in);
	d.seals |= 0x80000000u;
	ser_set(&s.in, &d);
	return retrieve_fails(&s, fd, -EOPNOTSUPP);
}

static int test_retrieve_unknown_flags(void)
{
	struct sim s;
	struct ser d;
	int fd;

	CHECK_EQ(incoming(&s, &fd), 0);
	d = ser_of(&s.in);
	d.flags = 1;
	ser_set(&s.in, &d);
	return retrieve_fails(&s, fd, -EOPNOTSUPP);
}

static int test_retrieve_bad_data_len(void)
{
	static const uint32_t lens[] = { 0, 1, 16, 23, 25, LUO_FILE_DATA_MAX };
	struct sim s;
	size_t i;
	int fd;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		CHECK_EQ(incoming(&s, &fd), 0);
		s.in.data_len = lens[i];
		if (retrieve_fails(&s, fd, -EINVAL))
			return TEST_FAIL;
	}
	return TEST_PASS;
}

static int test_retrieve_bad_pos(void)
{
	struct sim s;
	struct ser d;
	int fd;

	CHECK_EQ(incoming(&s, &fd), 0);
	d = ser_of(&s.in);
	d.pos = (uint64_t)INT64_MAX + 1;
	ser_set(&s.in, &d);
	return retrieve_fails(&s, fd, -EINVAL);
}

/* Seals added after freeze: the file no longer matches its record. */
static int test_retrieve_seal_mismatch(void)
{
	struct sim s;
	struct ser d;
	int fd;

	/* A seal recorded but missing from the inode: not the same file. */
	CHECK_EQ(incoming(&s, &fd), 0);
	d = ser_of(&s.in);
	d.seals |= F_SEAL_WRITE;
	ser_set(&s.in, &d);
	if (retrieve_fails(&s, fd, -EINVAL))
		return TEST_FAIL;

	/* A seal added after preserve is kept: seals are never removed. */
	CHECK_EQ(incoming(&s, &fd), 0);
	CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW) == 0);
	CHECK_EQ(sim_retrieve(&s), 0);
	CHECK_EQ(fcntl(s.in.retrieved_fd, F_GET_SEALS), F_SEAL_GROW);
	sim_finish(&s);
	close(fd);
	return TEST_PASS;
}

/* The inherited fd is not a shmem file (a corrupt handover). */
static int test_retrieve_not_shmem(void)
{
	struct sim s;
	int fd, p[2];

	CHECK_EQ(incoming(&s, &fd), 0);
	CHECK(pipe2(p, O_CLOEXEC) == 0);
	close(s.in.fd);
	s.in.fd = p[0];
	close(p[1]);
	if (retrieve_fails(&s, fd, -EINVAL))
		return TEST_FAIL;

	CHECK_EQ(incoming(&s, &fd), 0);
	close(s.in.fd);
	s.in.fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	CHECK(s.in.fd >= 0);
	return retrieve_fails(&s, fd, -EINVAL);
}

/* The size is not locked: the retrieved file has the size it has now. */
static int test_size_not_locked(void)
{
	struct stat st;
	struct sim s;
	int fd;

	fd = memfd_create("t", MFD_CLOEXEC);
	CHECK(fd >= 0);
	CHECK(fill(fd, 4096) == 0);
	CHECK_EQ(sim_preserve(&s, fd), 0);
	CHECK_EQ(ftruncate(fd, 8192), 0);
	CHECK_EQ(sim_reboot(&s), 0);
	CHECK_EQ(ser_of(&s.in).size, 8192);
	CHECK_EQ(ftruncate(fd, 100), 0);
	CHECK_EQ(sim_retrieve(&s), 0);
	CHECK(fstat(s.in.retrieved_fd, &st) == 0);
	CHECK_EQ(st.st_size, 100);
	CHECK(verify(s.in.retrieved_fd, 100) == 0);
	sim_finish(&s);
	close(fd);
	return TEST_PASS;
}

/* 1 GiB, sparse: nothing is copied, no hole is filled. */
static int test_one_gib(void)
{
	static const off_t marks[] = { 0, GIB / 2 + 17, GIB - 1 };
	struct stat st;
	struct sim s;
	size_t i;
	char c;
	int fd, r;

	fd = memfd_create("big", MFD_CLOEXEC);
	CHECK(fd >= 0);
	CHECK(ftruncate(fd, GIB) == 0);
	for (i = 0; i < 3; i++) {
		c = (char)('a' + i);
		CHECK_EQ(pwrite(fd, &c, 1, marks[i]), 1);
	}
	CHECK_EQ(lseek(fd, GIB / 3, SEEK_SET), GIB / 3);
	CHECK_EQ(sim_preserve(&s, fd), 0);
	CHECK_EQ(sim_reboot(&s), 0);
	CHECK_EQ(ser_of(&s.in).size, GIB);
	CHECK_EQ(sim_retrieve(&s), 0);
	r = s.in.retrieved_fd;
	CHECK(fstat(r, &st) == 0);
	CHECK_EQ(st.st_size, GIB);
	/* Still sparse: three pages at most, nothing was copied or filled. */
	CHECK(st.st_blocks * 512 <= 3 * 65536);
	CHECK_EQ(lseek(r, 0, SEEK_CUR), GIB / 3);
	for (i = 0; i < 3; i++) {
		CHECK_EQ(pread(r, &c, 1, marks[i]), 1);
		CHECK_EQ(c, 'a' + i);
	}
	sim_finish(&s);
	close(fd);
	return TEST_PASS;
}

/* Above UINT_MAX pages: EFBIG at preserve, and at freeze after growth. */
static int test_efbig(void)
{
	uint64_t max = (uint64_t)UINT_MAX * (uint64_t)sysconf(_SC_PAGESIZE);
	struct sim s;
	int fd;

	fd = memfd_create("huge", MFD_CLOEXEC);
	CHECK(fd >= 0);
	if (ftruncate(fd, (off_t)max + 1) < 0) {
		close(fd);
		SKIP("cannot make a sparse memfd above UINT_MAX pages");
	}
	CHECK_EQ(sim_preserve(&s, fd), -EFBIG);
	CHECK(ftruncate(fd, (off_t)max) == 0);
	CHECK_EQ(sim_preserve(&s, fd), 0);
	CHECK(ftruncate(fd, (off_t)max + 1) == 0);
	CHECK_EQ(ops()->freeze(&s.out), -EFBIG);
	/* The failed freeze left the previous record. */
	CHECK_EQ(ser_of(&s.out).size, max);
	sim_unpreserve(&s);
	close(fd);
	return TEST_PASS;
}

/*
 * Without CAP_DAC_OVERRIDE the /proc reopen obeys the inode's mode:
 * preserve refuses a memfd the daemon may not open read-write (EACCES), and
 * retrieve falls back to O_RDONLY if the mode changed after preserve.
 */
static int unprivileged_child(void)
{
	struct sim s;
	int fd;

	fd = memfd_create("t", MFD_CLOEXEC);
	CHECK(fd >= 0);
	CHECK(fill(fd, 100) == 0);
	CHECK(fchmod(fd, 0400) == 0);
	CHECK_EQ(sim_preserve(&s, fd), -EACCES);
	CHECK(fchmod(fd, 0600) == 0);
	CHECK_EQ(sim_preserve(&s, fd), 0);
	CHECK(fchmod(fd, 0400) == 0);
	CHECK_EQ(sim_reboot(&s), 0);
	CHECK_EQ(sim_retrieve(&s), 0);
	CHECK_EQ(fcntl(s.in.retrieved_fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	CHECK(verify(s.in.retrieved_fd, 100) == 0);
	CHECK(fchmod(fd, 0) == 0);
	sim_finish(&s);
	CHECK_EQ(sim_preserve(&s, fd), -EACCES);
	close(fd);
	return TEST_PASS;
}

static int test_mode_denies_reopen(void)
{
	int status;
	pid_t pid;

	if (geteuid() != 0)
		return unprivileged_child();
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		if (setresgid(65534, 65534, 65534) < 0 ||
		    setresuid(65534, 65534, 65534) < 0)
			_exit(TEST_SKIP);
		_exit(unprivileged_child());
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	if (WEXITSTATUS(status) == TEST_SKIP)
		SKIP("cannot drop privileges");
	CHECK_EQ(WEXITSTATUS(status), TEST_PASS);
	return TEST_PASS;
}

/* A new description of @fd's file with @flags, as a client could open. */
static int reopen_as(int fd, int flags)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return open(path, flags | O_CLOEXEC);
}

/* One read-only description of @fd's file through a whole cycle. */
static int read_only_cycle(int fd)
{
	struct sim s;
	char c;
	int ro = reopen_as(fd, O_RDONLY);

	CHECK(ro >= 0);
	CHECK(fill(fd, 100) == 0);
	CHECK(can_preserve(ro));
	CHECK_EQ(sim_preserve(&s, ro), 0);
	CHECK_EQ(sim_reboot(&s), 0);
	CHECK_EQ(sim_retrieve(&s), 0);
	CHECK_EQ(fcntl(s.in.retrieved_fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	CHECK_EQ(write(s.in.retrieved_fd, "x", 1), -1);
	CHECK_EQ(errno, EBADF);
	CHECK_EQ(pread(s.in.retrieved_fd, &c, 1, 0), 1);
	sim_finish(&s);
	close(ro);
	return TEST_PASS;
}

/* Issue 8 item 3: a read-only memfd came back O_RDWR. */
static int test_read_only_memfd_stays_read_only(void)
{
	int fd = memfd_create("ro", MFD_CLOEXEC), r;

	CHECK(fd >= 0);
	r = read_only_cycle(fd);
	close(fd);
	return r;
}

static int test_read_only_tmpfile_stays_read_only(void)
{
	int fd = open("/dev/shm", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600), r;

	if (fd < 0 || !is_on_tmpfs(fd)) {
		if (fd >= 0)
			close(fd);
		SKIP("no O_TMPFILE on tmpfs in /dev/shm");
	}
	r = read_only_cycle(fd);
	close(fd);
	return r;
}

static int test_write_only_and_append_kept(void)
{
	struct sim s;
	int fd = memfd_create("wo", MFD_CLOEXEC), wo;
	char c;

	CHECK(fd >= 0);
	CHECK(fill(fd, 10) == 0);
	wo = reopen_as(fd, O_WRONLY | O_APPEND);
	CHECK(wo >= 0);
	CHECK_EQ(sim_preserve(&s, wo), 0);
	CHECK_EQ(sim_reboot(&s), 0);
	CHECK_EQ(sim_retrieve(&s), 0);
	CHECK_EQ(fcntl(s.in.retrieved_fd, F_GETFL) & (O_ACCMODE | O_APPEND),
		 O_WRONLY | O_APPEND);
	CHECK_EQ(read(s.in.retrieved_fd, &c, 1), -1);
	CHECK_EQ(errno, EBADF);
	CHECK_EQ(write(s.in.retrieved_fd, "z", 1), 1);
	CHECK_EQ(lseek(fd, 0, SEEK_END), 11);
	sim_finish(&s);
	close(wo);
	close(fd);
	return TEST_PASS;
}

/* A write-sealed memfd preserved read-only: read-only, and sealed still. */
static int test_sealed_read_only_keeps_seals(void)
{
	const int seals = F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW |
			  F_SEAL_SEAL;
	struct sim s;
	int fd = memfd_create("sealed-ro", MFD_CLOEXEC | MFD_ALLOW_SEALING), ro;

	CHECK(fd >= 0);
	CHECK(fill(fd, 100) == 0);
	CHECK_EQ(fcntl(fd, F_ADD_SEALS, seals), 0);
	ro = reopen_as(fd, O_RDONLY);
	CHECK(ro >= 0);
	CHECK_EQ(sim_preserve(&s, ro), 0);
	CHECK_EQ(sim_reboot(&s), 0);
	CHECK_EQ(sim_retrieve(&s), 0);
	CHECK_EQ(fcntl(s.in.retrieved_fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	CHECK_EQ(fcntl(s.in.retrieved_fd, F_GET_SEALS) & seals, seals);
	CHECK(verify(s.in.retrieved_fd, 100) == 0);
	sim_finish(&s);
	close(ro);
	close(fd);
	return TEST_PASS;
}

/* What the lease tests' host was asked. */
static struct {
	int calls;
	int flags;
	struct stat st;
} waited;

static int record_wait(void *ctx, int fd, int flags)
{
	waited.calls++;
	waited.flags = flags;
	return fstat(fd, &waited.st) < 0 ? -errno : 0;
}

/*
 * Issue 8 item 9: a lease on the file made preserve and retrieve wait in
 * open(2) until it was broken (45 s).  Preserve does not wait; retrieve
 * leaves the wait to the host and answers -EWOULDBLOCK, then succeeds once
 * the lease is gone.  alarm() ends the test if anything waits.
 */
static int test_lease_never_waits(void)
{
	const struct luo_handler_host host = { .open_wait = record_wait };
	int fd = open("/dev/shm", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	struct stat st;
	struct sim s;

	if (fd < 0 || !is_on_tmpfs(fd)) {
		if (fd >= 0)
			close(fd);
		SKIP("no O_TMPFILE on tmpfs in /dev/shm");
	}
	if (fcntl(fd, F_SETLEASE, F_WRLCK) < 0) {
		close(fd);
		SKIP("no write lease on /dev/shm");
	}
	signal(SIGIO, SIG_IGN);
	alarm(10);
	luo_handlers_set_host(&host);
	memset(&waited, 0, sizeof(waited));
	CHECK_EQ(sim_preserve(&s, fd), 0);
	CHECK_EQ(waited.calls, 0);
	CHECK_EQ(sim_reboot(&s), 0);
	CHECK_EQ(sim_retrieve(&s), -EWOULDBLOCK);
	CHECK_EQ(s.in.retrieved_fd, -1);
	CHECK_EQ(waited.calls, 1);
	CHECK_EQ(waited.flags & O_ACCMODE, O_RDWR);
	CHECK_EQ(fstat(fd, &st), 0);
	CHECK(waited.st.st_ino == st.st_ino && waited.st.st_dev == st.st_dev);
	CHECK_EQ(fcntl(fd, F_SETLEASE, F_UNLCK), 0);
	s.in.retrieve_status = 0;
	CHECK_EQ(sim_retrieve(&s), 0);
	CHECK_EQ(waited.calls, 1);
	CHECK_EQ(fcntl(s.in.retrieved_fd, F_GETFL) & O_ACCMODE, O_RDWR);
	luo_handlers_set_host(NULL);
	alarm(0);
	sim_finish(&s);
	close(fd);
	return TEST_PASS;
}

static const struct test_case cases[] = {
	TEST_CASE(test_handler_struct),
	TEST_CASE(test_can_preserve_memfd),
	TEST_CASE(test_can_preserve_hugetlb),
	TEST_CASE(test_can_preserve_tmpfile),
	TEST_CASE(test_can_preserve_dev_shm_linked),
	TEST_CASE(test_can_preserve_others),
	TEST_CASE(test_get_id),
	TEST_CASE(test_data_layout),
	TEST_CASE(test_cycle_pos_zero),
	TEST_CASE(test_cycle_pos_middle),
	TEST_CASE(test_cycle_pos_end),
	TEST_CASE(test_cycle_pos_beyond_eof),
	TEST_CASE(test_cycle_zero_size),
	TEST_CASE(test_unpreserve),
	TEST_CASE(test_finish_unretrieved),
	TEST_CASE(test_caller_closed),
	TEST_CASE(test_tmpfile_cycle),
	TEST_CASE(test_seals_shrink_grow_write_seal),
	TEST_CASE(test_seals_future_write),
	TEST_CASE(test_seals_none_allowed),
	TEST_CASE(test_seals_noexec),
	TEST_CASE(test_seals_none),
	TEST_CASE(test_retrieve_unknown_seals),
	TEST_CASE(test_retrieve_unknown_flags),
	TEST_CASE(test_retrieve_bad_data_len),
	TEST_CASE(test_retrieve_bad_pos),
	TEST_CASE(test_retrieve_seal_mismatch),
	TEST_CASE(test_retrieve_not_shmem),
	TEST_CASE(test_size_not_locked),
	TEST_CASE(test_one_gib),
	TEST_CASE(test_efbig),
	TEST_CASE(test_mode_denies_reopen),
	TEST_CASE(test_read_only_memfd_stays_read_only),
	TEST_CASE(test_read_only_tmpfile_stays_read_only),
	TEST_CASE(test_write_only_and_append_kept),
	TEST_CASE(test_sealed_read_only_keeps_seals),
	TEST_CASE(test_lease_never_waits),
};

int main(int argc, char **argv)
{
	return test_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv, NULL);
}
