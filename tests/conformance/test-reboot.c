// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A live update in the kernel selftests' two stages (SPEC.md 3.5, 3.6,
 * 4.2).  Stage 1 creates sessions, preserves memfds of known data and
 * keeps its session fds open, then reboots the orchestrator with
 * `liveupdatectl reboot`.  Its process survives (a kernel's would not):
 * its old session and device fds now fail with ENODEV, luo's errno for a
 * daemon end that is gone (luo_ioctl(3)).  Stage 2, this program executed
 * again, retrieves, verifies bytes and positions, and finishes.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kst.h"

#define A_SIZE	(1u << 20)
#define A_POS	777
#define B_SIZE	(3 * 4096 + 7)
#define C_SIZE	4096
#define TOK_A	0x1111
#define TOK_B	0
#define TOK_C	UINT64_MAX

static void reboot_daemon(void)
{
	const char *ctl = getenv("LIVEUPDATECTL");
	const char *sock = getenv("LUO_SOCKET");
	int status;
	pid_t pid;

	if (!ctl || !sock) {
		fprintf(stderr, "skipped: LIVEUPDATECTL or LUO_SOCKET unset\n");
		exit(KST_SKIP);
	}
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		execl(ctl, ctl, "--socket", sock, "reboot", (char *)NULL);
		_exit(127);
	}
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void stage1(void)
{
	int dev = kst_open_dev(), s1, s2, s3, a, b, c;

	s1 = kst_create(dev, "s1");
	s2 = kst_create(dev, "s2");
	s3 = kst_create(dev, "s3");
	CHECK(s1 >= 0 && s2 >= 0 && s3 >= 0);
	a = kst_memfd(A_SIZE, 1, 10);
	b = kst_memfd(B_SIZE, 2, B_SIZE);
	c = kst_memfd(C_SIZE, 3, 0);
	CHECK_OK(kst_preserve(s1, a, TOK_A));
	CHECK_OK(kst_preserve(s1, b, TOK_B));
	CHECK_OK(kst_preserve(s2, c, TOK_C));
	/* The position is taken at freeze, not at preserve. */
	CHECK_EQ(lseek(a, A_POS, SEEK_SET), A_POS);
	CHECK_OK(close(b));
	CHECK_OK(close(c));

	reboot_daemon();

	CHECK_ERR(kst_get_name(s1, (char[LIVEUPDATE_SESSION_NAME_LENGTH]){ 0 }),
		  ENODEV);
	CHECK_ERR(kst_preserve(s3, a, 1), ENODEV);
	CHECK_ERR(kst_create(dev, "late"), ENODEV);
	CHECK_OK(close(a));
	CHECK_OK(close(s1));
	CHECK_OK(close(s2));
	CHECK_OK(close(s3));
	CHECK_OK(close(dev));
	printf("ok stage1\n");
	fflush(stdout);
	execl("/proc/self/exe", "test-reboot", "stage2", (char *)NULL);
	kst_fail(__FILE__, __LINE__, "exec of stage 2");
}

static void check_s1(int dev)
{
	int r1 = kst_retrieve(dev, "s1"), out, fa, fa2;
	char name[LIVEUPDATE_SESSION_NAME_LENGTH];

	CHECK_OK(r1);
	CHECK(kst_cloexec(r1));
	CHECK_ERR(kst_retrieve(dev, "s1"), EINVAL);
	CHECK_OK(kst_get_name(r1, name));
	CHECK(!strcmp(name, "s1"));
	CHECK_ERR(kst_preserve(r1, r1, 99), EINVAL);

	fa = kst_retrieve_fd(r1, TOK_A);
	CHECK_OK(fa);
	CHECK(kst_cloexec(fa));
	CHECK(kst_memfd_ok(fa, A_SIZE, 1));
	CHECK_EQ(lseek(fa, 0, SEEK_CUR), A_POS);
	/* Again: another fd of the same open file, position shared. */
	fa2 = kst_retrieve_fd(r1, TOK_A);
	CHECK(fa2 >= 0 && fa2 != fa);
	CHECK_EQ(lseek(fa2, 5, SEEK_SET), 5);
	CHECK_EQ(lseek(fa, 0, SEEK_CUR), 5);
	CHECK_ERR(kst_retrieve_fd(r1, 0x2222), ENOENT);

	/* Outgoing and incoming names are separate namespaces. */
	out = kst_create(dev, "s1");
	CHECK_OK(out);
	CHECK_ERR(kst_preserve(out, fa, 1), EBUSY);

	CHECK_OK(kst_finish(r1));
	CHECK_OK(kst_finish(r1));
	CHECK_ERR(kst_retrieve_fd(r1, TOK_A), ENOENT);
	CHECK_ERR(kst_retrieve_fd(r1, TOK_B), ENOENT);
	/* What was handed out is the caller's now, and preservable. */
	CHECK(kst_memfd_ok(fa, A_SIZE, 1));
	CHECK_OK(kst_preserve(out, fa, 1));
	CHECK_OK(close(r1));
	CHECK_ERR(kst_retrieve(dev, "s1"), ENOENT);
	CHECK_OK(close(fa));
	CHECK_OK(close(fa2));
	CHECK_OK(close(out));
}

static void check_s2_s3(int dev)
{
	struct liveupdate_session_finish f = { .size = sizeof(f), .reserved = 9 };
	struct liveupdate_session_retrieve_fd r = { .size = 15 };
	int s2 = kst_retrieve(dev, "s2"), s3 = kst_retrieve(dev, "s3"), fc;

	CHECK(s2 >= 0 && s3 >= 0);
	fc = kst_retrieve_fd(s2, TOK_C);
	CHECK(kst_memfd_ok(fc, C_SIZE, 3));
	CHECK_EQ(lseek(fc, 0, SEEK_CUR), 0);
	CHECK_OK(close(fc));
	CHECK_ERR(ioctl(s2, LIVEUPDATE_SESSION_RETRIEVE_FD, &r), EINVAL);
	/* The last close finishes it: it is gone. */
	CHECK_OK(close(s2));
	CHECK_ERR(kst_retrieve(dev, "s2"), ENOENT);
	/* An empty session finishes at once; reserved is not checked. */
	CHECK_OK(ioctl(s3, LIVEUPDATE_SESSION_FINISH, &f));
	CHECK_OK(kst_finish(s3));
	CHECK_ERR(kst_retrieve_fd(s3, 0), ENOENT);
	CHECK_OK(close(s3));
	CHECK_ERR(kst_retrieve(dev, "nope"), ENOENT);
}

static void stage2(void)
{
	int dev = kst_open_dev();

	check_s1(dev);
	check_s2_s3(dev);
	CHECK_OK(close(dev));
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "stage2")) {
		KST_RUN(stage2);
		return KST_PASS;
	}
	stage1();
	return KST_FAIL;
}
