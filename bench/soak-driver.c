// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * luo-soak's driver: measure the daemon, start the clients, reboot every
 * interval until the time is up, stop the clients, collect their counts,
 * take back what is left, measure again, report.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "soak.h"

/**
 * struct usage - what the daemon holds
 * @fds:    open fds (one of them our control connection)
 * @rss_kb: VmRSS
 * @out:    outgoing sessions
 * @in:     incoming sessions
 * @files:  preserved files
 * @update: update number
 */
struct usage {
	int fds;
	long rss_kb;
	uint32_t out, in;
	uint64_t files, update;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int count_fds(pid_t pid)
{
	char path[64];
	struct dirent *e;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((e = readdir(dir)))
		n += e->d_name[0] != '.';
	closedir(dir);
	return n;
}

static long rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* Measured while a control connection that has just been answered is open. */
static int measure(const struct driver *dr, struct usage *u)
{
	struct luo_status st;
	int ctl = luo_open_at(dr->socket, LUO_OPEN_CONTROL), r;

	if (ctl < 0)
		return ctl;
	r = luo_status(ctl, &st);
	if (!r) {
		u->fds = count_fds(dr->daemon);
		u->rss_kb = rss_kb(dr->daemon);
		u->out = st.nr_outgoing;
		u->in = st.nr_incoming;
		u->files = st.nr_files;
		u->update = st.update_number;
	}
	luo_close(ctl);
	return r;
}

static int reboot_once(const struct driver *dr, double *ms)
{
	double t = now_s();
	uint64_t update;
	int ctl = luo_open_at(dr->socket, LUO_OPEN_CONTROL), r;

	if (ctl < 0)
		return ctl;
	r = luo_reboot(ctl, -1, &update);
	luo_close(ctl);
	*ms = (now_s() - t) * 1e3;
	return r;
}

/* Reboots every interval until the time is up; a client exiting early fails. */
static int drive(struct driver *dr, uint64_t *reboots, double *max_ms)
{
	struct pollfd p[SOAK_MAX_CLIENTS];
	double end = now_s() + dr->seconds, next = now_s() + dr->interval;
	double ms;
	int i, n, r;

	for (i = 0; i < dr->nclients; i++)
		p[i] = (struct pollfd){ .fd = dr->out[i], .events = POLLIN };
	while (now_s() < end) {
		n = poll(p, (nfds_t)dr->nclients,
			 (int)(((next < end ? next : end) - now_s()) * 1000) + 1);
		if (n > 0) {
			fprintf(stderr, "luo-soak: a client stopped early\n");
			return -ECHILD;
		}
		if (now_s() < next || next >= end)
			continue;
		r = reboot_once(dr, &ms);
		if (r) {
			fprintf(stderr, "luo-soak: reboot: %s\n", strerror(-r));
			return r;
		}
		++*reboots;
		*max_ms = ms > *max_ms ? ms : *max_ms;
		next += dr->interval;
	}
	return 0;
}

static void stats_add(struct soak_stats *a, const struct soak_stats *b)
{
	const uint64_t *s = (const uint64_t *)b;
	uint64_t *d = (uint64_t *)a;
	size_t i;

	for (i = 0; i < sizeof(*a) / sizeof(uint64_t); i++)
		d[i] += s[i];
}

/* Stops the clients and adds up their counts; -ECHILD if one failed. */
static int collect(struct driver *dr, struct soak_stats *total)
{
	struct soak_stats st;
	int i, status, r = 0;

	close(dr->stop[1]);
	for (i = 0; i < dr->nclients; i++) {
		if (read(dr->out[i], &st, sizeof(st)) == (ssize_t)sizeof(st))
			stats_add(total, &st);
		else
			r = -ECHILD;
		close(dr->out[i]);
		if (waitpid(dr->pids[i], &status, 0) < 0 ||
		    !WIFEXITED(status) || WEXITSTATUS(status))
			r = -ECHILD;
	}
	return r;
}

static int add_name(const struct luo_list_record *rec, void *ctx)
{
	FILE *names = ctx;

	if (rec->type == LUO_LIST_SESSION && rec->direction == LUO_INCOMING &&
	    rec->state == LUO_SESSION_OPEN)
		fprintf(names, "%.*s\n", (int)sizeof(rec->name), rec->name);
	return 0;
}

static int finish_one(const struct driver *dr, const char *name)
{
	int dev, sfd, r;

	while ((dev = luo_open_at(dr->socket, LUO_OPEN_DEVICE)) == -EBUSY)
		sched_yield();
	if (dev < 0)
		return dev;
	sfd = luo_retrieve_session(dev, name);
	luo_close(dev);
	if (sfd < 0)
		return sfd;
	r = luo_session_finish(sfd);
	luo_close(sfd);
	return r;
}

/*
 * What the clients left: sessions they closed are released once the daemon
 * sees the closes; incoming sessions nobody retrieved (closed by a client
 * as a reboot began) are taken back and finished.
 */
static int take_back(const struct driver *dr, int *left)
{
	struct usage u = { 0 };
	char name[128];
	FILE *names;
	int i, r, ctl;

	for (i = 0; i < 100000; i++) {
		r = measure(dr, &u);
		if (r || u.out == 0)
			break;
		sched_yield();
	}
	if (r || u.out)
		return r ? r : -EBUSY;
	names = tmpfile();
	ctl = luo_open_at(dr->socket, LUO_OPEN_CONTROL);
	r = names && ctl >= 0 ? luo_list(ctl, add_name, names) : -ENOMEM;
	if (ctl >= 0)
		luo_close(ctl);
	if (names)
		rewind(names);
	while (!r && fgets(name, sizeof(name), names)) {
		name[strcspn(name, "\n")] = '\0';
		r = finish_one(dr, name);
		++*left;
	}
	if (names)
		fclose(names);
	return r;
}

static void report_usage(const char *when, const struct usage *u)
{
	printf("daemon at %-5s: %d fds, VmRSS %ld kB, update %" PRIu64
	       ", %u outgoing, %u incoming, %" PRIu64 " files\n", when, u->fds,
	       u->rss_kb, u->update, u->out, u->in, u->files);
}

static void report_stats(const struct soak_stats *s)
{
	printf("operations: %" PRIu64 " sessions created, %" PRIu64
	       " closed, %" PRIu64 " kept over a reboot, %" PRIu64
	       " retrieved+verified+finished\n", s->created, s->closed,
	       s->kept, s->retrieved);
	printf("files: %" PRIu64 " preserved, %" PRIu64
	       " retrieved and verified byte for byte\n", s->files_preserved,
	       s->files_verified);
	printf("expected errors: %" PRIu64 " ENODEV (cut by a reboot), %"
	       PRIu64 " EBUSY (device held); %" PRIu64 " sessions / %" PRIu64
	       " files expired (not retrieved before the next reboot)\n",
	       s->enodev, s->ebusy, s->expired_sessions, s->expired_files);
	printf("unexpected errors: %" PRIu64 "; LOST: %" PRIu64 "\n",
	       s->unexpected, s->lost);
}

static int verdict(const struct soak_stats *s, const struct usage *a,
		   const struct usage *b)
{
	bool ok = !s->lost && !s->unexpected && b->fds <= a->fds &&
		  b->rss_kb <= a->rss_kb + SOAK_RSS_SLACK_KB && !b->files;

	printf("fds: %d -> %d (no growth allowed); VmRSS: %ld -> %ld kB "
	       "(growth of up to %d kB tolerated)\n", a->fds, b->fds, a->rss_kb, b->rss_kb,
	       SOAK_RSS_SLACK_KB);
	printf("RESULT: %s\n", ok ? "PASS" : "FAIL");
	return ok ? 0 : 1;
}

static int driver_lock(char *path, size_t len)
{
	int fd;

	snprintf(path, len, "/tmp/luo-soak-lock-XXXXXX");
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		close(fd);
	return fd < 0 ? -errno : 0;
}

/**
 * driver_run() - the whole soak
 * @dr: the settings
 *
 * Return: the exit code: 0 pass, 1 fail.
 */
int driver_run(struct driver *dr)
{
	struct soak_stats total = { 0 };
	struct usage start, end = { 0 };
	uint64_t reboots = 0;
	double max_ms = 0, t0 = now_s();
	char lock[64];
	int r, left = 0, rc;

	if (measure(dr, &start) || driver_lock(lock, sizeof(lock)) ||
	    pipe2(dr->stop, O_CLOEXEC) < 0) {
		fprintf(stderr, "luo-soak: cannot start: %m\n");
		return 1;
	}
	report_usage("start", &start);
	fflush(stdout);
	r = soak_spawn(dr, lock);
	if (!r)
		r = drive(dr, &reboots, &max_ms);
	rc = collect(dr, &total);
	r = r ? r : rc;
	rc = take_back(dr, &left);
	r = r ? r : rc;
	unlink(lock);
	if (!r)
		r = measure(dr, &end);
	printf("ran %.0f s, %d clients, %" PRIu64 " reboots (every %.1f s, "
	       "longest %.1f ms); %d leftover incoming sessions finished\n",
	       now_s() - t0, dr->nclients, reboots, dr->interval, max_ms,
	       left);
	report_stats(&total);
	report_usage("end", &end);
	if (r)
		printf("driver error: %s\n", strerror(-r));
	return verdict(&total, &start, &end) || r ? 1 : 0;
}
