// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The ioctl dispatch with raw ioctls (SPEC.md 2.1, 2.2, 11): the number
 * range (EINVAL, before the argument is read), the size word (EFAULT),
 * the command word (ENOTTY), the size (EINVAL), trailing bytes (E2BIG),
 * copy-back of min(size, struct size), faults at every step, and the
 * cross-fd quirks.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kst.h"

#define PAGE	4096

/* Two pages, the second inaccessible: a struct can end at a fault. */
static uint8_t *fault_page(void)
{
	uint8_t *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK(p != MAP_FAILED);
	CHECK_OK(mprotect(p + PAGE, PAGE, PROT_NONE));
	return p;
}

static void create_arg(void *buf, size_t len, uint32_t size, const char *name)
{
	struct liveupdate_ioctl_create_session *a = buf;

	memset(buf, 0, len);
	a->size = size;
	strcpy((char *)a->name, name);
}

/* No outgoing session @name exists: creating it works. */
static void check_absent(int dev, const char *name)
{
	int sfd = kst_create(dev, name);

	CHECK_OK(sfd);
	CHECK_OK(close(sfd));
}

static void test_nr_outside_table(void)
{
	static const uint32_t dev_nrs[] = { 0x02, 0x03, 0x10, 0x3f, 0x40, 0x41,
					    0x42, 0x43, 0x44, 0x7f, 0xc0, 0xff };
	static const uint32_t ses_nrs[] = { 0x00, 0x01, 0x02, 0x3f, 0x44, 0x45,
					    0x7f, 0xc0, 0xff };
	static const uint32_t types[] = { 0xBA, 0x00, 0x12, 0xBB, 0xFF };
	uint8_t buf[256];
	int dev = kst_open_dev(), sfd = kst_create(dev, "nr");
	size_t t, i;

	CHECK_OK(sfd);
	for (t = 0; t < KST_ARRAY_SIZE(types); t++) {
		for (i = 0; i < KST_ARRAY_SIZE(dev_nrs); i++) {
			create_arg(buf, sizeof(buf), 72, "x");
			CHECK_ERR(ioctl(dev, _IO(types[t], dev_nrs[i]), buf),
				  EINVAL);
			/* Before the size word is read: no EFAULT. */
			CHECK_ERR(ioctl(dev, _IO(types[t], dev_nrs[i]), NULL),
				  EINVAL);
			CHECK_ERR(ioctl(dev, _IOC(_IOC_READ | _IOC_WRITE,
						  types[t], dev_nrs[i], 72),
					buf), EINVAL);
		}
		for (i = 0; i < KST_ARRAY_SIZE(ses_nrs); i++) {
			CHECK_ERR(ioctl(sfd, _IO(types[t], ses_nrs[i]), buf),
				  EINVAL);
			CHECK_ERR(ioctl(sfd, _IO(types[t], ses_nrs[i]),
					(void *)8), EINVAL);
		}
	}
	/* Cross-fd quirks: each fd type's commands on the other. */
	create_arg(buf, sizeof(buf), 72, "cross");
	CHECK_ERR(ioctl(sfd, LIVEUPDATE_IOCTL_CREATE_SESSION, buf), EINVAL);
	CHECK_ERR(ioctl(sfd, LIVEUPDATE_IOCTL_RETRIEVE_SESSION, buf), EINVAL);
	CHECK_ERR(ioctl(dev, LIVEUPDATE_SESSION_PRESERVE_FD, buf), EINVAL);
	CHECK_ERR(ioctl(dev, LIVEUPDATE_SESSION_RETRIEVE_FD, buf), EINVAL);
	CHECK_ERR(ioctl(dev, LIVEUPDATE_SESSION_FINISH, buf), EINVAL);
	CHECK_ERR(ioctl(dev, LIVEUPDATE_SESSION_GET_NAME, buf), EINVAL);
	CHECK_ERR(kst_create(dev, "nr"), EEXIST);	/* nothing else made */
	CHECK_OK(close(sfd));
	CHECK_OK(close(dev));
}

static void test_enotty(void)
{
	uint8_t buf[256];
	struct liveupdate_session_preserve_fd *p = (void *)buf;
	int dev = kst_open_dev(), sfd = kst_create(dev, "tty");
	int mfd = kst_memfd(10, 1, 0);

	create_arg(buf, sizeof(buf), 72, "a");
	CHECK_ERR(ioctl(dev, _IO(0x12, 0), buf), ENOTTY);
	CHECK_ERR(ioctl(dev, _IO(0xBB, 1), buf), ENOTTY);
	CHECK_ERR(ioctl(dev, _IOWR(0xBA, 0,
				   struct liveupdate_ioctl_create_session),
			buf), ENOTTY);
	CHECK_ERR(ioctl(dev, _IOW(0xBA, 1,
				  struct liveupdate_ioctl_retrieve_session),
			buf), ENOTTY);
	CHECK_ERR(ioctl(dev, _IOR(0xBA, 0, int), buf), ENOTTY);
	check_absent(dev, "a");

	memset(buf, 0, sizeof(buf));
	p->size = sizeof(*p);
	p->fd = mfd;
	CHECK_ERR(ioctl(sfd, _IOWR(0xBA, 0x40,
				   struct liveupdate_session_preserve_fd),
			buf), ENOTTY);
	CHECK_ERR(ioctl(sfd, _IO(0x00, 0x43), buf), ENOTTY);
	CHECK_ERR(ioctl(sfd, _IO(0xBB, 0x42), buf), ENOTTY);
	/* Nothing was preserved: the memfd goes in now. */
	CHECK_OK(kst_preserve(sfd, mfd, 1));
	CHECK_OK(close(mfd));
	CHECK_OK(close(sfd));
	CHECK_OK(close(dev));
}

/* The size word is read before the command word is compared. */
static void test_efault(void)
{
	uint8_t *page = fault_page();
	int dev = kst_open_dev(), sfd = kst_create(dev, "fault");
	uint8_t *edge;
	int len;

	CHECK_ERR(ioctl(dev, LIVEUPDATE_IOCTL_CREATE_SESSION, NULL), EFAULT);
	CHECK_ERR(ioctl(dev, LIVEUPDATE_IOCTL_CREATE_SESSION, (void *)8),
		  EFAULT);
	CHECK_ERR(ioctl(dev, _IO(0x12, 0), NULL), EFAULT);
	CHECK_ERR(ioctl(dev, _IOWR(0xBA, 1, uint64_t), page + PAGE), EFAULT);
	CHECK_ERR(ioctl(sfd, LIVEUPDATE_SESSION_GET_NAME, NULL), EFAULT);
	/* Before the direction check. */
	CHECK_ERR(ioctl(sfd, LIVEUPDATE_SESSION_FINISH, NULL), EFAULT);
	CHECK_ERR(ioctl(sfd, LIVEUPDATE_SESSION_RETRIEVE_FD, page + PAGE),
		  EFAULT);
	/* A size word cut by the fault. */
	for (len = 1; len < 4; len++) {
		edge = page + PAGE - len;
		memset(edge, 72, (size_t)len);
		CHECK_ERR(ioctl(dev, LIVEUPDATE_IOCTL_CREATE_SESSION, edge),
			  EFAULT);
	}
	/* A struct cut by the fault: the checks before the copy still come
	 * first (ENOTTY, EINVAL), then EFAULT. */
	edge = page + PAGE - 40;
	create_arg(edge, 40, 72, "cut");
	CHECK_ERR(ioctl(dev, _IOWR(0xBA, 0, uint64_t), edge), ENOTTY);
	CHECK_ERR(ioctl(dev, LIVEUPDATE_IOCTL_CREATE_SESSION, edge), EFAULT);
	*(uint32_t *)edge = 71;
	CHECK_ERR(ioctl(dev, LIVEUPDATE_IOCTL_CREATE_SESSION, edge), EINVAL);
	/* Past the struct, up to the size: checked for zeroes, faults too. */
	edge = page + PAGE - 72;
	create_arg(edge, 72, 100, "tail");
	CHECK_ERR(ioctl(dev, LIVEUPDATE_IOCTL_CREATE_SESSION, edge), EFAULT);
	CHECK_ERR(ioctl(sfd, LIVEUPDATE_SESSION_GET_NAME, edge), EFAULT);
	edge = page + PAGE - 16;
	memset(edge, 0, 16);
	*(uint32_t *)edge = 1u << 20;
	CHECK_ERR(ioctl(sfd, LIVEUPDATE_SESSION_PRESERVE_FD, edge), EFAULT);
	check_absent(dev, "cut");
	check_absent(dev, "tail");
	CHECK_OK(munmap(page, 2 * PAGE));
	CHECK_OK(close(sfd));
	CHECK_OK(close(dev));
}

static void test_short_size(void)
{
	static const struct {
		unsigned long cmd;
		uint32_t min;
	} ses_cmds[] = {
		{ LIVEUPDATE_SESSION_PRESERVE_FD, 16 },
		{ LIVEUPDATE_SESSION_GET_NAME, 72 },
	};
	uint8_t buf[256], orig[256];
	int dev = kst_open_dev(), sfd = kst_create(dev, "short");
	uint32_t size;
	size_t i;

	for (size = 0; size < 72; size++) {
		create_arg(buf, sizeof(buf), size, "short2");
		memcpy(orig, buf, sizeof(buf));
		CHECK_ERR(ioctl(dev, LIVEUPDATE_IOCTL_CREATE_SESSION, buf),
			  EINVAL);
		CHECK_ERR(ioctl(dev, LIVEUPDATE_IOCTL_RETRIEVE_SESSION, buf),
			  EINVAL);
		/* A smaller struct is refused whole: nothing copied back. */
		CHECK(!memcmp(buf, orig, sizeof(buf)));
	}
	for (i = 0; i < KST_ARRAY_SIZE(ses_cmds); i++) {
		for (size = 0; size < ses_cmds[i].min; size++) {
			memset(buf, 0, sizeof(buf));
			*(uint32_t *)buf = size;
			CHECK_ERR(ioctl(sfd, ses_cmds[i].cmd, buf), EINVAL);
		}
	}
	check_absent(dev, "short2");
	CHECK_OK(close(sfd));
	CHECK_OK(close(dev));
}

/* Bytes beyond the kernel's struct, up to size, must be zero (E2BIG). */
static void test_e2big(void)
{
	static uint8_t big[3 * PAGE];
	uint8_t buf[256];
	struct liveupdate_session_get_name *g = (void *)buf;
	int dev = kst_open_dev(), sfd = kst_create(dev, "big");
	size_t at;

	for (at = 72; at < 200; at += 17) {
		create_arg(buf, sizeof(buf), 200, "big2");
		buf[at] = 1;
		CHECK_ERR(ioctl(dev, LIVEUPDATE_IOCTL_CREATE_SESSION, buf),
			  E2BIG);
		memset(buf, 0, sizeof(buf));
		g->size = 200;
		buf[at] = 0x80;
		CHECK_ERR(ioctl(sfd, LIVEUPDATE_SESSION_GET_NAME, buf), E2BIG);
	}
	/* The order: ENOTTY and EINVAL come before E2BIG. */
	create_arg(buf, sizeof(buf), 200, "big2");
	buf[150] = 1;
	CHECK_ERR(ioctl(dev, _IOWR(0xBA, 0, uint64_t), buf), ENOTTY);
	/* Beyond 4096 bytes as well, and a zero tail is fine there. */
	create_arg(big, sizeof(big), sizeof(big), "big2");
	big[sizeof(big) - 1] = 1;
	CHECK_ERR(ioctl(dev, LIVEUPDATE_IOCTL_CREATE_SESSION, big), E2BIG);
	big[sizeof(big) - 1] = 0;
	big[PAGE + 5] = 1;
	CHECK_ERR(ioctl(dev, LIVEUPDATE_IOCTL_CREATE_SESSION, big), E2BIG);
	CHECK_ERR(ioctl(dev, _IOWR(0xBA, 0, uint64_t), big), ENOTTY);
	big[PAGE + 5] = 0;
	check_absent(dev, "big2");
	CHECK_OK(ioctl(sfd, LIVEUPDATE_SESSION_GET_NAME, big));
	CHECK(!strcmp((char *)big + 8, "big"));
	CHECK_EQ(*(uint32_t *)big, sizeof(big));
	CHECK_OK(close(sfd));
	CHECK_OK(close(dev));
}

/* Exactly min(size, struct size) bytes are copied back. */
static void test_copy_back(void)
{
	uint8_t buf[256];
	struct liveupdate_ioctl_create_session *c = (void *)buf;
	struct liveupdate_session_get_name *g = (void *)buf;
	int dev = kst_open_dev(), sfd;
	size_t i;

	create_arg(buf, sizeof(buf), 80, "copy");
	memset(buf + 80, 0xAA, sizeof(buf) - 80);
	c->fd = -7;
	CHECK_OK(ioctl(dev, LIVEUPDATE_IOCTL_CREATE_SESSION, buf));
	sfd = c->fd;
	CHECK(sfd >= 0 && sfd != -7);
	CHECK(kst_cloexec(sfd));
	CHECK_EQ(c->size, 80);
	CHECK(!strcmp((char *)c->name, "copy"));
	for (i = 80; i < sizeof(buf); i++)
		CHECK_EQ(buf[i], 0xAA);

	memset(buf, 0x55, sizeof(buf));
	g->size = 72;
	g->reserved = 0;
	CHECK_OK(ioctl(sfd, LIVEUPDATE_SESSION_GET_NAME, buf));
	CHECK(!strcmp((char *)g->name, "copy"));
	for (i = 8 + 5; i < 72; i++)
		CHECK_EQ(buf[i], 0);	/* the name is zero-padded */
	for (i = 72; i < sizeof(buf); i++)
		CHECK_EQ(buf[i], 0x55);
	memset(buf, 0, sizeof(buf));
	memset(buf + 120, 0x66, sizeof(buf) - 120);
	g->size = 120;
	CHECK_OK(ioctl(sfd, LIVEUPDATE_SESSION_GET_NAME, buf));
	CHECK_EQ(g->size, 120);
	for (i = 120; i < sizeof(buf); i++)
		CHECK_EQ(buf[i], 0x66);
	/* GET_NAME's reserved word must be zero. */
	g->size = 72;
	g->reserved = 1;
	CHECK_ERR(ioctl(sfd, LIVEUPDATE_SESSION_GET_NAME, buf), EINVAL);
	CHECK_OK(close(sfd));
	CHECK_OK(close(dev));
}

/*
 * A copy-back that faults: EFAULT; a new session fd is released again (so
 * the session is gone), a preserved file stays preserved.
 */
static void test_copy_back_fault(void)
{
	uint8_t *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct liveupdate_session_preserve_fd *pr = (void *)p;
	int dev = kst_open_dev(), sfd, mfd = kst_memfd(100, 2, 0);
	int before = kst_count_fds();

	CHECK(p != MAP_FAILED);
	create_arg(p, 72, 72, "ro");
	CHECK_OK(mprotect(p, PAGE, PROT_READ));
	CHECK_ERR(ioctl(dev, LIVEUPDATE_IOCTL_CREATE_SESSION, p), EFAULT);
	CHECK_EQ(kst_count_fds(), before);
	check_absent(dev, "ro");

	sfd = kst_create(dev, "ro2");
	CHECK_OK(mprotect(p, PAGE, PROT_READ | PROT_WRITE));
	pr->size = sizeof(*pr);
	pr->fd = mfd;
	pr->token = 9;
	CHECK_OK(mprotect(p, PAGE, PROT_READ));
	CHECK_ERR(ioctl(sfd, LIVEUPDATE_SESSION_PRESERVE_FD, p), EFAULT);
	CHECK_ERR(kst_preserve(sfd, mfd, 9), EEXIST);
	CHECK_ERR(kst_preserve(sfd, mfd, 10), EBUSY);
	CHECK_OK(munmap(p, PAGE));
	CHECK_OK(close(mfd));
	CHECK_OK(close(sfd));
	CHECK_OK(close(dev));
}

/* Other fds and other requests are not ours: libc answers them. */
static void test_passthrough(void)
{
	uint8_t buf[72] = { 72 };
	int mfd = kst_memfd(10, 3, 0), dev = kst_open_dev();
	int flags;

	CHECK_ERR(ioctl(mfd, LIVEUPDATE_IOCTL_CREATE_SESSION, buf), ENOTTY);
	CHECK_ERR(ioctl(-1, LIVEUPDATE_IOCTL_CREATE_SESSION, buf), EBADF);
	/* The VFS's own requests work on the device as on any file. */
	CHECK_OK(ioctl(dev, FIONCLEX));
	CHECK(!kst_cloexec(dev));
	CHECK_OK(ioctl(dev, FIOCLEX));
	CHECK(kst_cloexec(dev));
	flags = 1;
	CHECK_OK(ioctl(dev, FIONBIO, &flags));
	CHECK(fcntl(dev, F_GETFL) & O_NONBLOCK);
	CHECK_OK(close(mfd));
	CHECK_OK(close(dev));
}

int main(void)
{
	KST_RUN(test_nr_outside_table);
	KST_RUN(test_enotty);
	KST_RUN(test_efault);
	KST_RUN(test_short_size);
	KST_RUN(test_e2big);
	KST_RUN(test_copy_back);
	KST_RUN(test_copy_back_fault);
	KST_RUN(test_passthrough);
	return KST_PASS;
}
