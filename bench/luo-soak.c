// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * luo-soak: many clients, many cycles, reboots interleaved (issue 5), and
 * with the vault upgrades and kill -9s of the daemon's processes (issue 9).
 *
 *   luo-soak [--exe PATH] [--upgrade] [--kill S]
 *            SOCKET DAEMON_PID SECONDS CLIENTS REBOOT_INTERVAL_S
 *
 * --exe PATH: the daemon's processes are all those running PATH (the vault
 * and the engine, whose pids change as they are killed); --upgrade: every
 * other REBOOT is an UPGRADE (kept sessions stay open across it); --kill
 * S: a kill -9 of one of those processes, picked at random, about every S
 * seconds; a request answered EIO is then expected (its effect unsure).
 *
 * Each client process loops: create a session, preserve 1-3 memfds of
 * known data at a known position, then either close the session (its files
 * are unpreserved) or keep it.  A kept session's fd dies at the next reboot
 * (POLLHUP); the client then retrieves the session from the new image,
 * retrieves every file, checks every byte and the position, and finishes.
 * The driver (this process) reboots the daemon every REBOOT_INTERVAL_S.
 *
 * Errors are sorted: ENODEV (a connection killed by a reboot) and EBUSY
 * (another client holds the device) are expected; a session or file that
 * was preserved in image U and is missing or different in image U + 1 is
 * LOST; anything else is unexpected.  A kept session not retrieved before
 * the reboot after next is not carried forward (SPEC.md 3.7): "expired".
 *
 * At the end the driver retrieves and finishes what is left, and compares
 * the daemon's fd count and VmRSS with the start.  Exit 0 if nothing was
 * lost, nothing unexpected happened and nothing grew.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "soak.h"

static const char *sock_path;
static bool eio_expected;	/* --kill */

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t rnd(struct client *c)
{
	c->rng = mix64(c->rng);
	return c->rng;
}

static void fill(uint64_t *buf, size_t words, uint64_t seed)
{
	size_t i;

	for (i = 0; i < words; i++)
		buf[i] = mix64(seed + i);
}

/*
 * An error from a call: ENODEV is a reboot, EIO a kill of the process that
 * was answering (with --kill); anything else is reported.
 */
static void soak_error(struct client *c, const char *what, int r)
{
	if (r == -ENODEV) {
		c->st.enodev++;
		return;
	}
	if (r == -EIO && eio_expected) {
		c->st.eio++;
		return;
	}
	c->st.unexpected++;
	if (c->st.unexpected <= 10)
		fprintf(stderr, "client %d: %s: %s\n", c->id, what,
			strerror(-r));
}

static void soak_lost(struct client *c, const char *name, const char *why)
{
	c->st.lost++;
	fprintf(stderr, "client %d: LOST %s: %s\n", c->id, name, why);
}

/*
 * The device is exclusive: clients take turns through an flock, and a
 * close the daemon has not seen yet still gets EBUSY (retried).  Returns
 * the device fd, with the lock held, and the image's update number.
 */
static int dev_open(struct client *c, uint64_t *update)
{
	struct luo_status st;
	int fd, r;

	if (flock(c->lock_fd, LOCK_EX) < 0)
		return -errno;
	while ((fd = luo_open_at(sock_path, LUO_OPEN_DEVICE)) == -EBUSY) {
		c->st.ebusy++;
		sched_yield();
	}
	if (fd < 0) {
		flock(c->lock_fd, LOCK_UN);
		return fd;
	}
	r = luo_status(fd, &st);
	if (r) {
		luo_close(fd);
		flock(c->lock_fd, LOCK_UN);
		return r;
	}
	*update = st.update_number;
	return fd;
}

static void dev_close(struct client *c, int fd)
{
	luo_close(fd);
	flock(c->lock_fd, LOCK_UN);
}

static int make_memfd(struct client *c, struct soak_file *f)
{
	size_t size = (size_t)(1 + rnd(c) % 32) * 4096;
	uint64_t *buf = malloc(size);
	int fd = memfd_create("soak", MFD_CLOEXEC);
	bool ok = buf && fd >= 0;

	if (ok) {
		fill(buf, size / 8, f->seed);
		ok = pwrite(fd, buf, size, 0) == (ssize_t)size;
	}
	free(buf);
	if (!ok) {
		if (fd >= 0)
			close(fd);
		return -ENOMEM;
	}
	f->size = size;
	f->pos = (off_t)(rnd(c) % size);
	lseek(fd, f->pos, SEEK_SET);
	return fd;
}

/* Preserves 1-3 files; false if a reboot cut the session short. */
static bool soak_fill(struct client *c, struct soak_sess *s)
{
	int n = 1 + (int)(rnd(c) % SOAK_FILES), fd, r;
	struct soak_file *f;

	for (s->nfiles = 0; s->nfiles < n;) {
		f = &s->f[s->nfiles];
		f->token = rnd(c);
		f->seed = rnd(c);
		f->sure = false;
		fd = make_memfd(c, f);
		if (fd < 0) {
			soak_error(c, "memfd", fd);
			return true;
		}
		s->nfiles++;
		r = luo_session_preserve_fd(s->sfd, fd, f->token);
		close(fd);
		if (r) {
			soak_error(c, "preserve", r);
			return r != -ENODEV;
		}
		f->sure = true;
		c->st.files_preserved++;
	}
	return true;
}

static struct soak_sess *slot_free(struct client *c)
{
	int i;

	for (i = 0; i < SOAK_KEEP; i++)
		if (!c->kept[i].used)
			return &c->kept[i];
	return NULL;
}

static int kept_count(const struct client *c)
{
	int i, n = 0;

	for (i = 0; i < SOAK_KEEP; i++)
		n += c->kept[i].used;
	return n;
}

/* One session: create, fill, then close or keep. */
static void soak_cycle(struct client *c)
{
	struct soak_sess *s = slot_free(c);
	int fd;

	if (!s)
		return;
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "soak-%d-%" PRIu64, c->id,
		 c->seq++);
	fd = dev_open(c, &s->update);
	if (fd < 0) {
		soak_error(c, "open", fd);
		return;
	}
	s->sfd = luo_create_session(fd, s->name);
	dev_close(c, fd);
	if (s->sfd < 0) {
		soak_error(c, "create", s->sfd);
		return;
	}
	c->st.created++;
	s->used = true;
	c->st.cycles++;
	if (!soak_fill(c, s) || (kept_count(c) <= SOAK_KEEP / 2 &&
				 rnd(c) % 2)) {
		c->st.kept++;
		return;
	}
	luo_close(s->sfd);
	s->used = false;
	c->st.closed++;
}

static int soak_verify(int fd, const struct soak_file *f)
{
	uint64_t *want = malloc(f->size), *got = malloc(f->size);
	int ok;

	ok = want && got &&
	     pread(fd, got, f->size, 0) == (ssize_t)f->size &&
	     lseek(fd, 0, SEEK_END) == (off_t)f->size;
	if (ok) {
		fill(want, f->size / 8, f->seed);
		ok = !memcmp(want, got, f->size);
	}
	free(want);
	free(got);
	return ok;
}

/* Retrieves and checks every file; false if a reboot came first. */
static bool soak_files(struct client *c, struct soak_sess *s, int sfd)
{
	int i, fd;

	for (i = 0; i < s->nfiles; i++) {
		fd = luo_session_retrieve_fd(sfd, s->f[i].token);
		while (fd == -EIO && eio_expected) {	/* cut by a kill */
			c->st.eio++;
			fd = luo_session_retrieve_fd(sfd, s->f[i].token);
		}
		if (fd == -ENOENT && !s->f[i].sure)
			continue;
		if (fd == -ENOENT) {
			soak_lost(c, s->name, "a preserved token is missing");
			continue;
		}
		if (fd < 0) {
			soak_error(c, "retrieve fd", fd);
			c->st.expired_files += (uint64_t)(s->nfiles - i);
			return false;
		}
		if (lseek(fd, 0, SEEK_CUR) != s->f[i].pos ||
		    !soak_verify(fd, &s->f[i]))
			soak_lost(c, s->name, "data or position differ");
		else
			c->st.files_verified++;
		close(fd);
	}
	return true;
}

/* A kept session whose fd died: take it back from the new image. */
static void soak_retrieve(struct client *c, struct soak_sess *s)
{
	uint64_t update = 0;
	int fd, sfd, r;

	fd = dev_open(c, &update);
	if (fd < 0) {
		soak_error(c, "open", fd);
		return;
	}
	if (update != s->update + 1) {
		dev_close(c, fd);
		if (update == s->update)
			soak_error(c, "session fd hung up without a reboot",
				   -EPIPE);
		else
			c->st.expired_sessions++;
		s->used = false;
		return;
	}
	sfd = luo_retrieve_session(fd, s->name);
	dev_close(c, fd);
	if (sfd == -ENODEV) {	/* rebooted again: retried, then expired */
		c->st.enodev++;
		return;
	}
	if (sfd == -EIO && eio_expected) {	/* cut by a kill: retried */
		c->st.eio++;
		return;
	}
	s->used = false;
	if (sfd < 0) {
		if (sfd == -ENOENT)
			soak_lost(c, s->name, "session missing after reboot");
		else
			soak_error(c, "retrieve session", sfd);
		return;
	}
	if (soak_files(c, s, sfd)) {
		r = luo_session_finish(sfd);
		while (r == -EIO && eio_expected) {	/* cut by a kill */
			c->st.eio++;
			r = luo_session_finish(sfd);
		}
		if (r)
			soak_error(c, "finish", r);
		else
			c->st.retrieved++;
	} else {
		c->st.expired_sessions++;
	}
	luo_close(sfd);
}

/* Kept sessions: notice the ones a reboot cut, and take them back. */
static void soak_kept(struct client *c)
{
	struct pollfd p;
	int i;

	for (i = 0; i < SOAK_KEEP; i++) {
		struct soak_sess *s = &c->kept[i];

		if (!s->used)
			continue;
		if (s->sfd >= 0) {
			p = (struct pollfd){ .fd = s->sfd, .events = POLLIN };
			if (poll(&p, 1, 0) <= 0 ||
			    !(p.revents & (POLLHUP | POLLERR)))
				continue;
			luo_close(s->sfd);
			s->sfd = -1;
		}
		soak_retrieve(c, s);
	}
}

static bool soak_stopped(int stop_fd)
{
	struct pollfd p = { .fd = stop_fd, .events = POLLIN };

	return poll(&p, 1, 0) > 0;
}

static void client_end(struct client *c)
{
	int i;

	soak_kept(c);	/* the driver's last reboot is over */
	soak_kept(c);	/* a retrieval cut by it is retried */
	for (i = 0; i < SOAK_KEEP; i++) {
		if (c->kept[i].used && c->kept[i].sfd >= 0)
			luo_close(c->kept[i].sfd);
		if (c->kept[i].used && c->kept[i].sfd < 0)
			c->st.expired_sessions++;
	}
}

static void __attribute__((noreturn))
client_main(int id, const char *lock_path, int stop_fd, int out_fd)
{
	struct client c = { .id = id, .rng = mix64((uint64_t)id + 1) };
	ssize_t n;

	c.lock_fd = open(lock_path, O_RDWR | O_CLOEXEC);
	if (c.lock_fd < 0)
		_exit(2);
	while (!soak_stopped(stop_fd)) {
		soak_kept(&c);
		soak_cycle(&c);
	}
	client_end(&c);
	n = write(out_fd, &c.st, sizeof(c.st));
	_exit(n == (ssize_t)sizeof(c.st) ? 0 : 2);
}

/**
 * soak_spawn() - fork the clients
 * @dr:        the driver; @dr->pids and @dr->out are filled in
 * @lock_path: the file the clients flock to take turns at the device
 *
 * Each client gets the read end of @dr->stop (closed here afterwards) and a
 * pipe of its own to send its counts back on when it stops.
 *
 * Return: 0 or -errno.
 */
int soak_spawn(struct driver *dr, const char *lock_path)
{
	int i, p[2];
	pid_t pid;

	for (i = 0; i < dr->nclients; i++) {
		if (pipe2(p, O_CLOEXEC) < 0)
			return -errno;
		pid = fork();
		if (pid < 0)
			return -errno;
		if (pid == 0) {
			close(p[0]);
			close(dr->stop[1]);
			client_main(i, lock_path, dr->stop[0], p[1]);
		}
		close(p[1]);
		dr->pids[i] = pid;
		dr->out[i] = p[0];
	}
	close(dr->stop[0]);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: luo-soak [--exe PATH] [--upgrade] [--kill S] "
		"SOCKET DAEMON_PID SECONDS CLIENTS REBOOT_INTERVAL_S\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "exe", required_argument, NULL, 'e' },
		{ "upgrade", no_argument, NULL, 'u' },
		{ "kill", required_argument, NULL, 'k' },
		{ 0 }
	};
	struct driver dr = { 0 };
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'e':
			dr.exe = optarg;
			break;
		case 'u':
			dr.upgrade = true;
			break;
		case 'k':
			dr.kill_s = atof(optarg);
			break;
		default:
			usage();
			return 2;
		}
	}
	if (argc - optind != 5) {
		usage();
		return 2;
	}
	argv += optind;
	sock_path = argv[0];
	dr.socket = argv[0];
	dr.daemon = (pid_t)atoi(argv[1]);
	dr.seconds = atof(argv[2]);
	dr.nclients = atoi(argv[3]);
	dr.interval = atof(argv[4]);
	if (dr.daemon <= 0 || dr.seconds <= 0 || dr.nclients < 1 ||
	    dr.nclients > SOAK_MAX_CLIENTS || dr.interval <= 0 ||
	    dr.kill_s < 0 || (dr.kill_s > 0 && !dr.exe)) {
		fprintf(stderr, "luo-soak: bad arguments (--kill needs --exe)\n");
		return 2;
	}
	eio_expected = dr.kill_s > 0;
	return driver_run(&dr);
}
