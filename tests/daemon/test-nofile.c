// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * RLIMIT_NOFILE (issue 8 item 11b).  Started with a soft limit of 1024, a
 * service manager's default:
 *  - with a hard limit of 20,000 the daemon raises its soft limit to it
 *    and takes 10,000 sessions, then 10,000 files in one session;
 *  - with a hard limit of 1024 too, STATUS advertises no more sessions
 *    and files per session than its fds can hold, and every one it
 *    advertises can be had: one more fails with ENOSPC, never EMFILE.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "daemon-harness.h"

#define MANY		10000
#define HARD		20000
#define SERVICE_SOFT	1024

static int sessions[HARD];

/* Starts a daemon under @soft:@hard; the test keeps its own limit. */
static const char *const no_vault[] = { "--no-vault", NULL };

static void start_limited(struct dh_daemon *d, rlim_t soft, rlim_t hard)
{
	dh_set_nofile(soft, hard);
	/* The fd limits of one process: a vault holds as many again. */
	dh_check_eq(dh_start(d, no_vault), 0);
	dh_set_nofile(0, 0);
}

/* The daemon's soft RLIMIT_NOFILE, from /proc/PID/limits. */
static long soft_limit(pid_t pid)
{
	char path[64], line[256];
	long soft = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
	f = fopen(path, "re");
	dh_check(f != NULL);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "Max open files", 14))
			soft = strtol(line + 14, NULL, 10);
	fclose(f);
	return soft;
}

static int create(int dev, int i)
{
	char name[LIVEUPDATE_SESSION_NAME_LENGTH];

	snprintf(name, sizeof(name), "nofile-%d", i);
	return luo_create_session(dev, name);
}

static int preserve(int sess, uint64_t token)
{
	int fd = memfd_create("nofile", MFD_CLOEXEC), r;

	dh_check(fd >= 0);
	r = luo_session_preserve_fd(sess, fd, token);
	close(fd);
	return r;
}

/* @n sessions, all created; the (@n+1)th fails with @err (0: not tried). */
static void check_sessions(int dev, int n, int err)
{
	int i;

	for (i = 0; i < n; i++) {
		sessions[i] = create(dev, i);
		if (sessions[i] < 0)
			fprintf(stderr, "session %d: %s\n", i,
				strerror(-sessions[i]));
		dh_check(sessions[i] >= 0);
	}
	if (err)
		dh_check_eq(create(dev, n), -err);
	for (i = 0; i < n; i++)
		close(sessions[i]);
}

/* @n files in one session; the (@n+1)th fails with @err (0: not tried). */
static void check_files(int dev, int n, int err)
{
	int sess = create(dev, 0), i, r;

	dh_check(sess >= 0);
	for (i = 0; i < n; i++) {
		r = preserve(sess, (uint64_t)i);
		if (r)
			fprintf(stderr, "file %d: %s\n", i, strerror(-r));
		dh_check_eq(r, 0);
	}
	if (err)
		dh_check_eq(preserve(sess, (uint64_t)n), -err);
	close(sess);
}

static void test_raised(void)
{
	struct luo_status st;
	struct dh_daemon d;
	int dev;

	start_limited(&d, SERVICE_SOFT, HARD);
	dh_check_eq(soft_limit(d.pid), HARD);
	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	dh_check_eq(luo_status(dev, &st), 0);
	dh_check(st.max_sessions >= MANY && st.max_sessions < HARD);
	dh_check(st.max_files >= MANY && st.max_files < HARD);
	check_sessions(dev, MANY, 0);
	check_files(dev, MANY, 0);
	luo_close(dev);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
}

static void test_advertised(void)
{
	struct luo_status st;
	struct dh_daemon d;
	int dev;

	start_limited(&d, SERVICE_SOFT, SERVICE_SOFT);
	dh_check_eq(soft_limit(d.pid), SERVICE_SOFT);
	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	dh_check_eq(luo_status(dev, &st), 0);
	fprintf(stderr, "at 1024 fds: %u sessions, %u files per session\n",
		st.max_sessions, st.max_files);
	dh_check(st.max_sessions > SERVICE_SOFT / 2);
	dh_check(st.max_sessions < SERVICE_SOFT);
	dh_check(st.max_files > SERVICE_SOFT / 2);
	dh_check(st.max_files < SERVICE_SOFT);
	check_sessions(dev, (int)st.max_sessions, ENOSPC);
	check_files(dev, (int)st.max_files, ENOSPC);
	/* Nothing was lost on the way: it all comes back. */
	check_sessions(dev, (int)st.max_sessions, ENOSPC);
	luo_close(dev);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
}

int main(void)
{
	struct rlimit rl;

	dh_binary();
	dh_check_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < HARD)
		dh_skip("RLIMIT_NOFILE's hard limit is below 20,000");
	rl.rlim_cur = rl.rlim_max;
	dh_check_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	test_raised();
	test_advertised();
	return DH_PASS;
}
