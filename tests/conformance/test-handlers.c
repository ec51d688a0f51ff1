// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Which files PRESERVE_FD takes (SPEC.md 4.1 step 4, 6.1), run as
 * "test-handlers kernel" under `luo-run --private` and as "test-handlers
 * luo" under `luo-run --private --luo-handlers`.
 *
 * kernel: the kernel registers memfd-v2 alone, so a memfd and an unlinked
 * tmpfs file are taken and a socket, a pipe (either end), a regular file, a
 * linked tmpfs file, an eventfd and a hugetlb memfd fail with ENOENT.
 * luo: all of them are taken (DESIGN.md section 5).
 *
 * Either set is reported by `liveupdatectl status`, survives a REBOOT, and
 * a handover survives it too.  Under luo, a REBOOT into an image without
 * the pipe handler (kernel-image) is refused with the reason, and the
 * daemon serves on with luo's handlers.
 */
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/magic.h>

#include "kst.h"

#define MEMFD_SIZE	8192
#define TOK_MEMFD	1
#define TOK_PIPE	2
#define TOK_EVENTFD	3
#define PIPE_DATA	"queued"
#define EVENTFD_COUNT	7

static bool kernel_set;

/* Is /dev/shm a tmpfs here (for the tmpfs cases)? */
static bool shm_is_tmpfs(void)
{
	struct statfs sfs;

	return statfs("/dev/shm", &sfs) == 0 && sfs.f_type == TMPFS_MAGIC;
}

/* PRESERVE_FD of something only luo takes: ENOENT, or taken. */
static void check_others_one(int sfd, int fd, uint64_t token, const char *what)
{
	errno = 0;
	if (kernel_set && !(kst_preserve(sfd, fd, token) < 0 && errno == ENOENT))
		kst_fail_errno(__FILE__, __LINE__, what, 0, errno, ENOENT);
	if (!kernel_set && kst_preserve(sfd, fd, token) < 0)
		kst_fail_errno(__FILE__, __LINE__, what, -1, errno, 0);
	CHECK_OK(close(fd));
}

/* Taken by both: a memfd, and an unlinked tmpfs file if /dev/shm is one. */
static void test_memfd(void)
{
	int dev = kst_open_dev(), sfd = kst_create(dev, "memfds");
	int mfd = kst_memfd(MEMFD_SIZE, 1, 0), tmp;

	CHECK_OK(sfd);
	CHECK_OK(kst_preserve(sfd, mfd, 1));
	CHECK_OK(close(mfd));
	if (shm_is_tmpfs()) {
		tmp = open("/dev/shm", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		CHECK_OK(tmp);
		CHECK_OK(kst_preserve(sfd, tmp, 2));
		CHECK_OK(close(tmp));
	}
	CHECK_OK(close(sfd));
	CHECK_OK(close(dev));
}

/*
 * A regular file with a name in @dir.  It stays linked while it is
 * preserved: an unlinked tmpfs file would be memfd-v2's.
 */
static int named_file(const char *dir)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/test-handlers.XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	CHECK_OK(fd);
	return fd;
}

static void unlink_fd(int fd)
{
	char link[64], path[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	CHECK(n > 0);
	path[n] = '\0';
	CHECK_OK(unlink(path));
}

static int tcp_listener(void)
{
	struct sockaddr_in a = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK_OK(fd);
	CHECK_OK(bind(fd, (struct sockaddr *)&a, sizeof(a)));
	CHECK_OK(listen(fd, 1));
	return fd;
}

/* What the kernel refuses and luo takes. */
static void test_others(void)
{
	int dev = kst_open_dev(), sfd = kst_create(dev, "others");
	const char *tmpdir = getenv("TMPDIR");
	int sp[2], p[2], reg, shm = -1, huge;

	CHECK_OK(sfd);
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp));
	check_others_one(sfd, sp[0], 10, "unix socket");
	check_others_one(sfd, sp[1], 11, "its peer");
	check_others_one(sfd, tcp_listener(), 12, "TCP listener");
	CHECK_OK(pipe2(p, O_CLOEXEC));
	check_others_one(sfd, p[0], 20, "pipe read end");
	check_others_one(sfd, p[1], 21, "pipe write end");
	reg = named_file(tmpdir && *tmpdir ? tmpdir : "/tmp");
	check_others_one(sfd, dup(reg), 30, "regular file");
	if (shm_is_tmpfs()) {
		shm = named_file("/dev/shm");
		check_others_one(sfd, dup(shm), 31, "linked tmpfs file");
	}
	check_others_one(sfd, eventfd(3, EFD_CLOEXEC), 40, "eventfd");
	/* Made even without huge pages; skipped where it cannot be. */
	huge = memfd_create("kst-huge", MFD_HUGETLB | MFD_CLOEXEC);
	if (huge >= 0)
		check_others_one(sfd, huge, 50, "hugetlb memfd");
	else
		printf("# no hugetlb memfd here (%s): case skipped\n",
		       strerror(errno));
	CHECK_OK(close(sfd));
	unlink_fd(reg);
	CHECK_OK(close(reg));
	if (shm >= 0) {
		unlink_fd(shm);
		CHECK_OK(close(shm));
	}
	CHECK_OK(close(dev));
}

/* Runs liveupdatectl with @args; its exit status, its stdout in @out. */
static int ctl(const char *const *args, char *out, size_t len)
{
	const char *bin = getenv("LIVEUPDATECTL");
	const char *sock = getenv("LUO_SOCKET");
	const char *argv[8] = { bin, "--socket", sock };
	size_t got = 0, i;
	int p[2], status;
	ssize_t n;
	pid_t pid;

	if (!bin || !sock) {
		fprintf(stderr, "skipped: LIVEUPDATECTL or LUO_SOCKET unset\n");
		exit(KST_SKIP);
	}
	for (i = 0; args[i] && i + 3 < KST_ARRAY_SIZE(argv) - 1; i++)
		argv[i + 3] = args[i];
	CHECK_OK(pipe2(p, O_CLOEXEC));
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		if (dup2(p[1], STDOUT_FILENO) == STDOUT_FILENO)
			execv(bin, (char *const *)argv);
		_exit(127);
	}
	CHECK_OK(close(p[1]));
	while (got + 1 < len && (n = read(p[0], out + got, len - got - 1)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	CHECK_OK(close(p[0]));
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* STATUS says which set is active. */
static void test_status(void)
{
	const char *const args[] = { "--json", "status", NULL };
	char out[4096];

	CHECK_EQ(ctl(args, out, sizeof(out)), 0);
	CHECK(strstr(out, kernel_set ? "\"handlers\":\"kernel\"" :
				       "\"handlers\":\"luo\""));
}

/* Preserve what this set takes, reboot, and go on in stage 2. */
static void stage1(char *self)
{
	const char *const args[] = { "reboot", NULL };
	int dev = kst_open_dev(), sfd = kst_create(dev, "kept"), mfd, p[2];
	char out[4096];
	int efd;

	CHECK_OK(sfd);
	mfd = kst_memfd(MEMFD_SIZE, 2, 100);
	CHECK_OK(kst_preserve(sfd, mfd, TOK_MEMFD));
	CHECK_OK(close(mfd));
	if (!kernel_set) {
		CHECK_OK(pipe2(p, O_CLOEXEC));
		CHECK_EQ(write(p[1], PIPE_DATA, sizeof(PIPE_DATA)),
			 sizeof(PIPE_DATA));
		CHECK_OK(kst_preserve(sfd, p[0], TOK_PIPE));
		CHECK_OK(close(p[0]));
		CHECK_OK(close(p[1]));
		efd = eventfd(EVENTFD_COUNT, EFD_CLOEXEC);
		CHECK_OK(kst_preserve(sfd, efd, TOK_EVENTFD));
		CHECK_OK(close(efd));
	}
	CHECK_EQ(ctl(args, out, sizeof(out)), 0);
	CHECK_OK(close(sfd));
	CHECK_OK(close(dev));
	printf("ok stage1\n");
	fflush(stdout);
	execl("/proc/self/exe", self, kernel_set ? "kernel" : "luo", "stage2",
	      (char *)NULL);
	kst_fail(__FILE__, __LINE__, "exec of stage 2");
}

/* After the reboot: everything comes back. */
static void test_retrieve(void)
{
	int dev = kst_open_dev(), sfd = kst_retrieve(dev, "kept"), fd;
	char buf[sizeof(PIPE_DATA)];
	uint64_t count;

	CHECK_OK(sfd);
	fd = kst_retrieve_fd(sfd, TOK_MEMFD);
	CHECK_OK(fd);
	CHECK(kst_memfd_ok(fd, MEMFD_SIZE, 2));
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 100);
	CHECK_OK(close(fd));
	if (kernel_set) {
		CHECK_ERR(kst_retrieve_fd(sfd, TOK_PIPE), ENOENT);
	} else {
		fd = kst_retrieve_fd(sfd, TOK_PIPE);
		CHECK_OK(fd);
		CHECK_EQ(read(fd, buf, sizeof(buf)), sizeof(buf));
		CHECK(!memcmp(buf, PIPE_DATA, sizeof(buf)));
		CHECK_OK(close(fd));
		fd = kst_retrieve_fd(sfd, TOK_EVENTFD);
		CHECK_OK(fd);
		CHECK_EQ(read(fd, &count, sizeof(count)), sizeof(count));
		CHECK_EQ(count, EVENTFD_COUNT);
		CHECK_OK(close(fd));
	}
	CHECK_OK(kst_finish(sfd));
	CHECK_OK(close(sfd));
	CHECK_OK(close(dev));
}

/*
 * luo's set holds a pipe; the new image has the kernel's only
 * (kernel-image).  It must refuse the handover, naming the handler it
 * lacks, and the old image serves again with its own set.
 */
static void test_refused_image(void)
{
	const char *image = getenv("LUO_KERNEL_IMAGE");
	const char *const reboot[] = { "reboot", "--exec", image, NULL };
	const char *const status[] = { "--json", "status", NULL };
	int dev = kst_open_dev(), sfd = kst_create(dev, "p"), p[2];
	char out[4096], want[64];

	CHECK(image);
	CHECK_OK(sfd);
	CHECK_OK(pipe2(p, O_CLOEXEC));
	CHECK_OK(kst_preserve(sfd, p[0], TOK_PIPE));
	CHECK_OK(close(p[0]));
	CHECK_OK(close(p[1]));
	CHECK(ctl(reboot, out, sizeof(out)) != 0);
	CHECK_EQ(ctl(status, out, sizeof(out)), 0);
	/* EPROTO, and the reason (STATUS keeps its first 63 bytes). */
	snprintf(want, sizeof(want), "\"last_reboot_error\":%d", EPROTO);
	CHECK(strstr(out, want));
	CHECK(strstr(out, "session 'p': no handler 'pipe-v1'"));
	CHECK(strstr(out, "\"handlers\":\"luo\""));
	CHECK_OK(close(sfd));
	CHECK_OK(close(dev));
}

int main(int argc, char **argv)
{
	if (argc < 2 || (strcmp(argv[1], "kernel") && strcmp(argv[1], "luo"))) {
		fprintf(stderr, "usage: test-handlers kernel|luo\n");
		return KST_FAIL;
	}
	kernel_set = !strcmp(argv[1], "kernel");
	if (argc == 3 && !strcmp(argv[2], "stage2")) {
		/* The set survived the reboot, and so did the handover. */
		KST_RUN(test_status);
		KST_RUN(test_retrieve);
		KST_RUN(test_others);
		KST_RUN(test_memfd);
		if (!kernel_set)
			KST_RUN(test_refused_image);
		return KST_PASS;
	}
	KST_RUN(test_memfd);
	KST_RUN(test_others);
	KST_RUN(test_status);
	stage1(argv[0]);
	return KST_FAIL;
}
