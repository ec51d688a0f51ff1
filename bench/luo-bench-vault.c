// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * luo-bench-vault: what liveupdated --vault costs per request.
 *
 *   luo-bench-vault PATH-TO-LIVEUPDATED [ROUNDS [BASELINE]]
 *
 * BASELINE, another liveupdated (say, the previous release's), is timed
 * too, without --vault.
 * Starts the daemon twice, without and with --vault, and times round
 * trips on one session: GET_NAME (no fd, nothing recorded), STATUS on the
 * device, and PRESERVE_FD followed by UNPRESERVE_FD (each a commit of the
 * records under a vault, PRESERVE_FD with one fd sent to the vault).  The
 * session holds 10 files throughout, so every commit writes a handover of
 * some size.  Prints the mean of each in microseconds and the ratios.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <luo/libluo.h>
#include <luo/luo-ext.h>

#define BASE_FILES	10

static char sock_path[128];

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void fatal(const char *what, int err)
{
	fprintf(stderr, "luo-bench-vault: %s: %s\n", what,
		strerror(err < 0 ? -err : err));
	exit(1);
}

static pid_t start_daemon(const char *path, bool vault)
{
	char fdarg[32];
	int p[2];
	pid_t pid;
	char c;

	if (pipe(p))
		fatal("pipe", errno);
	pid = fork();
	if (pid < 0)
		fatal("fork", errno);
	if (pid == 0) {
		close(p[0]);
		snprintf(fdarg, sizeof(fdarg), "--ready-fd=%d", p[1]);
		execl(path, path, "--socket", sock_path, fdarg, "--log-level",
		      "warning", vault ? "--vault" : NULL, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1)
		fatal("liveupdated did not start", EIO);
	close(p[0]);
	return pid;
}

struct result {
	double get_name, status, preserve;
};

static void measure(const char *path, bool vault, int rounds,
		    struct result *res)
{
	struct luo_session_unpreserve_fd un = { .size = sizeof(un) };
	char name[64];
	struct luo_status st;
	int dev, sfd, mfd, r, status;
	pid_t pid = start_daemon(path, vault);
	double t;

	dev = luo_open_at(sock_path, LUO_OPEN_DEVICE);
	if (dev < 0)
		fatal("open", dev);
	sfd = luo_create_session(dev, "bench");
	if (sfd < 0)
		fatal("create", sfd);
	mfd = memfd_create("bench", MFD_CLOEXEC);
	if (mfd < 0 || ftruncate(mfd, 4096))
		fatal("memfd", errno);
	for (int i = 0; i < BASE_FILES; i++) {
		int f = memfd_create("base", MFD_CLOEXEC);

		r = luo_session_preserve_fd(sfd, f, 1000 + (uint64_t)i);
		close(f);
		if (r)
			fatal("preserve", r);
	}
	t = now_us();
	for (int i = 0; i < rounds; i++)
		if ((r = luo_session_get_name(sfd, name, sizeof(name))))
			fatal("get_name", r);
	res->get_name = (now_us() - t) / rounds;
	t = now_us();
	for (int i = 0; i < rounds; i++)
		if ((r = luo_status(dev, &st)))
			fatal("status", r);
	res->status = (now_us() - t) / rounds;
	t = now_us();
	for (int i = 0; i < rounds; i++) {
		r = luo_session_preserve_fd(sfd, mfd, 1);
		if (r)
			fatal("preserve", r);
		un.token = 1;
		r = luo_ioctl(sfd, LUO_SESSION_UNPRESERVE_FD, &un);
		if (r)
			fatal("unpreserve", r);
	}
	/* Two requests a round: half is one request's. */
	res->preserve = (now_us() - t) / rounds / 2;
	close(mfd);
	luo_close(sfd);
	luo_close(dev);
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : getenv("LIVEUPDATED");
	int rounds = argc > 2 ? atoi(argv[2]) : 2000;
	const char *base = argc > 3 ? argv[3] : NULL;
	struct result plain, vault, before = { 0 };
	char dir[] = "/tmp/luo-bench-vault.XXXXXX";

	if (!path || rounds <= 0) {
		fprintf(stderr, "usage: luo-bench-vault PATH-TO-LIVEUPDATED [ROUNDS]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!mkdtemp(dir))
		fatal("mkdtemp", errno);
	snprintf(sock_path, sizeof(sock_path), "%s/sock", dir);
	if (base)
		measure(base, false, rounds, &before);
	measure(path, false, rounds, &plain);
	measure(path, true, rounds, &vault);
	rmdir(dir);
	printf("%d rounds each, a session of %d files\n", rounds, BASE_FILES);
	printf("%-36s %10s %10s %10s %8s\n", "round trip (us)", "baseline",
	       "plain", "--vault", "ratio");
	printf("%-36s %10.2f %10.2f %10.2f %8.2f\n",
	       "GET_NAME (no fd, no commit)", before.get_name, plain.get_name,
	       vault.get_name, vault.get_name / plain.get_name);
	printf("%-36s %10.2f %10.2f %10.2f %8.2f\n",
	       "STATUS (no fd, no commit)", before.status, plain.status,
	       vault.status, vault.status / plain.status);
	printf("%-36s %10.2f %10.2f %10.2f %8.2f\n",
	       "PRESERVE_FD / UNPRESERVE_FD (commit)", before.preserve,
	       plain.preserve, vault.preserve, vault.preserve / plain.preserve);
	return 0;
}
