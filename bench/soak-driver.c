// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * luo-soak's driver: measure the daemon, start the clients, reboot (or
 * upgrade) every interval until the time is up, with --kill a kill -9 of
 * one of the daemon's processes now and then, stop the clients, collect
 * their counts, take back what is left, measure again, report.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
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
 * @nprocs: its processes measured (one without --exe: the daemon's pid)
 * @proc:   those processes
 * @fds:    open fds of each (one of them our control connection)
 * @rss_kb: VmRSS of each
 * @out:    outgoing sessions
 * @in:     incoming sessions
 * @files:  preserved files
 * @update: update number
 */
struct usage {
	int nprocs;
	struct soak_proc proc[SOAK_MAX_PROCS];
	int fds[SOAK_MAX_PROCS];
	long rss_kb[SOAK_MAX_PROCS];
	uint32_t out, in;
	uint64_t files, update;
};

/**
 * struct drive_counts - what the driver did
 * @reboots:     REBOOTs answered 0
 * @upgrades:    UPGRADEs answered 0
 * @interrupted: REBOOTs/UPGRADEs answered EIO (a kill came in between)
 * @kills:       kill -9s of the vault, then of the engine
 * @max_ms:      the longest REBOOT or UPGRADE
 */
struct drive_counts {
	uint64_t reboots, upgrades, interrupted;
	uint64_t kills[2];
	double max_ms;
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

/* The processes to measure: the daemon's pid, or all found by --exe. */
static int find_procs(const struct driver *dr, struct soak_proc *procs)
{
	if (!dr->exe) {
		procs[0] = (struct soak_proc){ .pid = dr->daemon, .vault = false };
		return 1;
	}
	return soak_procs(dr->exe, procs, SOAK_MAX_PROCS);
}

/* Measured while a control connection that has just been answered is open. */
static int measure(const struct driver *dr, struct usage *u)
{
	struct luo_status st;
	int ctl = luo_open_at(dr->socket, LUO_OPEN_CONTROL), r, i;

	if (ctl < 0)
		return ctl;
	r = luo_status(ctl, &st);
	if (!r) {
		u->nprocs = find_procs(dr, u->proc);
		r = u->nprocs < 0 ? u->nprocs : 0;
	}
	for (i = 0; !r && i < u->nprocs; i++) {
		u->fds[i] = count_fds(u->proc[i].pid);
		u->rss_kb[i] = rss_kb(u->proc[i].pid);
	}
	if (!r) {
		u->out = st.nr_outgoing;
		u->in = st.nr_incoming;
		u->files = st.nr_files;
		u->update = st.update_number;
	}
	luo_close(ctl);
	return r;
}

static uint64_t drive_rng = 0x2545f4914f6cdd1dull;

static double drive_random(void)
{
	drive_rng ^= drive_rng << 13;
	drive_rng ^= drive_rng >> 7;
	drive_rng ^= drive_rng << 17;
	return (double)(drive_rng >> 11) / (double)(1ull << 53);
}

/* kill -9 of one of the daemon's processes, picked at random. */
static void kill_one(const struct driver *dr, struct drive_counts *c)
{
	struct soak_proc procs[SOAK_MAX_PROCS];
	int n = soak_procs(dr->exe, procs, SOAK_MAX_PROCS), i;

	if (n <= 0)
		return;
	i = (int)(drive_random() * n) % n;
	if (!kill(procs[i].pid, SIGKILL))
		c->kills[procs[i].vault ? 0 : 1]++;
}

static int reboot_once(const struct driver *dr, bool upgrade, double *ms)
{
	double t = now_s();
	uint64_t update;
	int ctl = luo_open_at(dr->socket, LUO_OPEN_CONTROL), r;

	if (ctl < 0)
		return ctl;
	r = upgrade ? luo_upgrade(ctl, -1) : luo_reboot(ctl, -1, &update);
	luo_close(ctl);
	*ms = (now_s() - t) * 1e3;
	return r;
}

/* One REBOOT or UPGRADE; EIO is a kill in between when the driver kills. */
static int step(const struct driver *dr, struct drive_counts *c)
{
	bool upgrade = dr->upgrade && (c->reboots + c->upgrades +
				       c->interrupted) % 2;
	double ms;
	int r = reboot_once(dr, upgrade, &ms);

	if (r == -EIO && dr->kill_s > 0) {
		c->interrupted++;
		return 0;
	}
	if (r) {
		fprintf(stderr, "luo-soak: %s: %s\n",
			upgrade ? "upgrade" : "reboot", strerror(-r));
		return r;
	}
	if (upgrade)
		c->upgrades++;
	else
		c->reboots++;
	c->max_ms = ms > c->max_ms ? ms : c->max_ms;
	return 0;
}

static double next_kill(const struct driver *dr, double from)
{
	return from + dr->kill_s * (0.5 + drive_random());
}

/* Reboots every interval until the time is up; a client exiting early fails. */
static int drive(struct driver *dr, struct drive_counts *c)
{
	struct pollfd p[SOAK_MAX_CLIENTS];
	double end = now_s() + dr->seconds, next = now_s() + dr->interval;
	double kill_at = dr->kill_s > 0 ? next_kill(dr, now_s()) : end;
	double wake;
	int i, n, r;

	for (i = 0; i < dr->nclients; i++)
		p[i] = (struct pollfd){ .fd = dr->out[i], .events = POLLIN };
	while (now_s() < end) {
		wake = next < kill_at ? next : kill_at;
		wake = wake < end ? wake : end;
		/* A step longer than the interval leaves @next behind. */
		wake = wake > now_s() ? wake : now_s();
		n = poll(p, (nfds_t)dr->nclients,
			 (int)((wake - now_s()) * 1000) + 1);
		if (n > 0) {
			fprintf(stderr, "luo-soak: a client stopped early\n");
			return -ECHILD;
		}
		if (now_s() >= kill_at && kill_at < end) {
			kill_one(dr, c);
			kill_at = next_kill(dr, now_s());
		}
		if (now_s() < next || next >= end)
			continue;
		r = step(dr, c);
		if (r)
			return r;
		next += dr->interval;
		if (next < now_s())	/* a slow step: no burst to catch up */
			next = now_s() + dr->interval;
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

static const char *role(const struct driver *dr, const struct soak_proc *p)
{
	return !dr->exe ? "daemon" : p->vault ? "vault" : "engine";
}

static void report_usage(const struct driver *dr, const char *when,
			 const struct usage *u)
{
	int i;

	printf("daemon at %-5s: update %" PRIu64 ", %u outgoing, %u incoming, %"
	       PRIu64 " files\n", when, u->update, u->out, u->in, u->files);
	for (i = 0; i < u->nprocs; i++)
		printf("  %-6s pid %d: %d fds, VmRSS %ld kB\n",
		       role(dr, &u->proc[i]), (int)u->proc[i].pid, u->fds[i],
		       u->rss_kb[i]);
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
	printf("requests cut by a kill: %" PRIu64 " EIO\n", s->eio);
	printf("unexpected errors: %" PRIu64 "; LOST: %" PRIu64 "\n",
	       s->unexpected, s->lost);
}

/* The same role's process at the end: no fd growth, VmRSS within slack. */
static bool usage_ok(const struct driver *dr, const struct usage *a,
		     const struct usage *b)
{
	bool ok = b->nprocs == a->nprocs;
	int i, j;

	for (i = 0; i < a->nprocs; i++) {
		for (j = 0; j < b->nprocs; j++)
			if (b->proc[j].vault == a->proc[i].vault)
				break;
		if (j == b->nprocs) {
			ok = false;
			continue;
		}
		printf("%s: fds %d -> %d (no growth allowed); VmRSS %ld -> %ld kB"
		       " (growth of up to %d kB tolerated)\n",
		       role(dr, &a->proc[i]), a->fds[i], b->fds[j],
		       a->rss_kb[i], b->rss_kb[j], SOAK_RSS_SLACK_KB);
		ok = ok && b->fds[j] <= a->fds[i] &&
		     b->rss_kb[j] <= a->rss_kb[i] + SOAK_RSS_SLACK_KB;
	}
	return ok;
}

static int verdict(const struct driver *dr, const struct soak_stats *s,
		   const struct usage *a, const struct usage *b)
{
	bool ok = usage_ok(dr, a, b) && !s->lost && !s->unexpected &&
		  !b->files;

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
	struct usage start = { 0 }, end = { 0 };
	struct drive_counts c = { 0 };
	double t0 = now_s();
	char lock[64];
	int r, left = 0, rc;

	if (measure(dr, &start) || driver_lock(lock, sizeof(lock)) ||
	    pipe2(dr->stop, O_CLOEXEC) < 0) {
		fprintf(stderr, "luo-soak: cannot start: %m\n");
		return 1;
	}
	report_usage(dr, "start", &start);
	fflush(stdout);
	r = soak_spawn(dr, lock);
	if (!r)
		r = drive(dr, &c);
	rc = collect(dr, &total);
	r = r ? r : rc;
	rc = take_back(dr, &left);
	r = r ? r : rc;
	unlink(lock);
	if (!r)
		r = measure(dr, &end);
	printf("ran %.0f s, %d clients, %" PRIu64 " reboots and %" PRIu64
	       " upgrades (one every %.1f s, longest %.1f ms), %" PRIu64
	       " cut by a kill; %d leftover incoming sessions finished\n",
	       now_s() - t0, dr->nclients, c.reboots, c.upgrades,
	       dr->interval, c.max_ms, c.interrupted, left);
	if (dr->kill_s > 0)
		printf("kills: %" PRIu64 " of the vault, %" PRIu64
		       " of the engine (one every ~%.0f s)\n", c.kills[0],
		       c.kills[1], dr->kill_s);
	report_stats(&total);
	report_usage(dr, "end", &end);
	if (r)
		printf("driver error: %s\n", strerror(-r));
	return verdict(dr, &total, &start, &end) || r ? 1 : 0;
}
