// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What no built-in handler takes, and the reason the core logs for it:
 * per-process objects (signalfd, epoll, io_uring, pidfd, userfaultfd, perf
 * events), kernel state no handler records (timerfd, inotify, fanotify,
 * BPF), device nodes, directories and files of pseudo filesystems.  file-v1
 * is registered last and gives the reason for all of them.
 */
#include <signal.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>

#include "../common/check.h"
#include "sim.h"

/* Not taken, and file-v1 says why with @why in it; consumes @fd. */
static int refused(int fd, const char *why)
{
	const char *r;

	CHECK(fd >= 0);
	if (builtin_taker(fd)) {
		close(fd);
		CHECK(!"taken by a handler");
	}
	r = luo_file_handler()->ops->refuse_reason(luo_file_handler(), fd);
	close(fd);
	if (!r || !strstr(r, why)) {
		fprintf(stderr, "reason '%s', expected '%s' in it\n",
			r ? r : "(null)", why);
		return TEST_FAIL;
	}
	return TEST_PASS;
}

static int test_signalfd(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	return refused(signalfd(-1, &set, SFD_CLOEXEC), "signalfd");
}

static int test_epoll(void)
{
	return refused(epoll_create1(EPOLL_CLOEXEC), "epoll");
}

static int test_timerfd(void)
{
	return refused(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC), "timerfd");
}

static int test_inotify(void)
{
	return refused(inotify_init1(IN_CLOEXEC), "inotify");
}

static int test_pidfd(void)
{
	long fd = syscall(SYS_pidfd_open, getpid(), 0);

	if (fd < 0)
		SKIP("no pidfd_open");
	return refused((int)fd, "pidfd");
}

static int test_io_uring(void)
{
	char params[120] = { 0 };	/* struct io_uring_params, zeroed */
	long fd = syscall(425 /* io_uring_setup */, 1, params);

	if (fd < 0)
		SKIP("io_uring not available");
	return refused((int)fd, "io_uring");
}

static int test_userfaultfd(void)
{
	long fd = syscall(SYS_userfaultfd, O_CLOEXEC);

	if (fd < 0)
		SKIP("userfaultfd not permitted");
	return refused((int)fd, "userfaultfd");
}

static int test_devices_dirs_pseudo_files(void)
{
	int r;

	r = refused(open("/dev/null", O_RDWR | O_CLOEXEC), "device");
	if (!r)
		r = refused(open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC),
			    "directory");
	if (!r)
		r = refused(open("/proc/self/status", O_RDONLY | O_CLOEXEC),
			    "pseudo filesystem");
	if (!r)
		r = refused(open("/sys/kernel/uevent_seqnum",
				 O_RDONLY | O_CLOEXEC), "pseudo filesystem");
	return r;
}

/* What a handler takes has no refusal reason from file-v1's catalogue. */
static int test_taken_files_have_no_reason(void)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	const char *r;

	CHECK(fd >= 0);
	r = luo_file_handler()->ops->refuse_reason(luo_file_handler(), fd);
	close(fd);
	CHECK(r == NULL);
	return TEST_PASS;
}

int main(int argc, char **argv)
{
	static const struct test_case cases[] = {
		TEST_CASE(test_signalfd),
		TEST_CASE(test_epoll),
		TEST_CASE(test_timerfd),
		TEST_CASE(test_inotify),
		TEST_CASE(test_pidfd),
		TEST_CASE(test_io_uring),
		TEST_CASE(test_userfaultfd),
		TEST_CASE(test_devices_dirs_pseudo_files),
		TEST_CASE(test_taken_files_have_no_reason),
	};

	return test_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv, NULL);
}
