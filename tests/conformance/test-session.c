// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Sessions with raw ioctls (SPEC.md 3.2, 3.4, 3.5): names, duplicates,
 * retrieval of what does not exist, the release on the last close, and
 * the direction checks on an outgoing session.
 */
#include <fcntl.h>
#include <unistd.h>

#include "kst.h"

static void test_names(void)
{
	struct liveupdate_ioctl_create_session a = { .size = sizeof(a) };
	char name[LIVEUPDATE_SESSION_NAME_LENGTH];
	char longest[LIVEUPDATE_SESSION_NAME_LENGTH];
	int dev = kst_open_dev(), s1, s2, s3;

	/* Empty, and no NUL within 64 bytes: EINVAL. */
	CHECK_ERR(ioctl(dev, LIVEUPDATE_IOCTL_CREATE_SESSION, &a), EINVAL);
	memset(a.name, 'x', sizeof(a.name));
	CHECK_ERR(ioctl(dev, LIVEUPDATE_IOCTL_CREATE_SESSION, &a), EINVAL);
	/* 63 characters is the longest name. */
	memset(longest, 'n', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	s1 = kst_create(dev, longest);
	CHECK_OK(s1);
	CHECK_OK(kst_get_name(s1, name));
	CHECK(!strcmp(name, longest));
	/* Bytes after the NUL are ignored: "dup\0junk" is "dup". */
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	memcpy(a.name, "dup\0junk", 8);
	CHECK_OK(ioctl(dev, LIVEUPDATE_IOCTL_CREATE_SESSION, &a));
	s2 = a.fd;
	CHECK_ERR(kst_create(dev, "dup"), EEXIST);
	CHECK_OK(kst_get_name(s2, name));
	CHECK(!strcmp(name, "dup"));
	/* Case-sensitive, exact. */
	s3 = kst_create(dev, "DUP");
	CHECK_OK(s3);
	CHECK_ERR(kst_create(dev, longest), EEXIST);
	CHECK_OK(close(s1));
	CHECK_OK(close(s2));
	CHECK_OK(close(s3));
	CHECK_OK(close(dev));
}

static void test_retrieve_missing(void)
{
	struct liveupdate_ioctl_retrieve_session a = { .size = sizeof(a) };
	int dev = kst_open_dev(), sfd = kst_create(dev, "out");

	/* No name validation: empty, unterminated, unknown all ENOENT. */
	CHECK_ERR(ioctl(dev, LIVEUPDATE_IOCTL_RETRIEVE_SESSION, &a), ENOENT);
	memset(a.name, 'y', sizeof(a.name));
	CHECK_ERR(ioctl(dev, LIVEUPDATE_IOCTL_RETRIEVE_SESSION, &a), ENOENT);
	CHECK_ERR(kst_retrieve(dev, "nope"), ENOENT);
	/* Outgoing sessions are not in the incoming namespace. */
	CHECK_ERR(kst_retrieve(dev, "out"), ENOENT);
	CHECK_OK(close(sfd));
	CHECK_OK(close(dev));
}

/* The session is released on the last close only (SPEC.md 3.4). */
static void test_release(void)
{
	int dev = kst_open_dev(), sfd, d1, d2;

	sfd = kst_create(dev, "rel");
	CHECK_OK(sfd);
	CHECK_OK(close(sfd));
	/* No wait: the release happened before the next request. */
	sfd = kst_create(dev, "rel");
	CHECK_OK(sfd);
	d1 = dup(sfd);
	d2 = fcntl(sfd, F_DUPFD_CLOEXEC, 100);
	CHECK_OK(d1);
	CHECK(d2 >= 100);
	CHECK_OK(close(sfd));
	CHECK_ERR(kst_create(dev, "rel"), EEXIST);
	CHECK_OK(close(d1));
	CHECK_ERR(kst_create(dev, "rel"), EEXIST);
	CHECK_OK(close(d2));
	sfd = kst_create(dev, "rel");
	CHECK_OK(sfd);
	CHECK_OK(close(sfd));
	CHECK_OK(close(dev));
}

/* RETRIEVE_FD and FINISH on an outgoing session: EINVAL (G3+). */
static void test_direction_outgoing(void)
{
	struct liveupdate_session_retrieve_fd r = { .size = sizeof(r) };
	int dev = kst_open_dev(), sfd = kst_create(dev, "dir");
	int mfd = kst_memfd(64, 4, 0);

	CHECK_OK(kst_preserve(sfd, mfd, 5));
	CHECK_ERR(kst_retrieve_fd(sfd, 5), EINVAL);
	CHECK_ERR(kst_finish(sfd), EINVAL);
	/* The direction check comes after the command word, before size. */
	CHECK_ERR(ioctl(sfd, _IOWR(0xBA, 0x41, uint64_t), &r), ENOTTY);
	r.size = 0;
	CHECK_ERR(ioctl(sfd, LIVEUPDATE_SESSION_RETRIEVE_FD, &r), EINVAL);
	CHECK_ERR(ioctl(sfd, LIVEUPDATE_SESSION_FINISH, NULL), EFAULT);
	CHECK_OK(close(mfd));
	CHECK_OK(close(sfd));
	CHECK_OK(close(dev));
}

int main(void)
{
	KST_RUN(test_names);
	KST_RUN(test_retrieve_missing);
	KST_RUN(test_release);
	KST_RUN(test_direction_outgoing);
	return KST_PASS;
}
