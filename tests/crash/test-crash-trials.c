// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * kill -9 of liveupdated's engine at random moments (the vault, the default;
 * liveupdated(8), "Crash recovery").
 *
 * A client runs every request in a random mix (create, preserve,
 * unpreserve, handover, close, REBOOT, UPGRADE, retrieve, retrieve_fd,
 * finish) and keeps a model of what it was told: a request answered 0 happened, one
 * answered EIO (the request a crash interrupted) may or may not have, any
 * other answer fails the test unless the model allows it.  Meanwhile the
 * test kills the engine with SIGKILL at random moments; the vault starts
 * a new one.  After every REBOOT the client retrieves every session it
 * was told survives, checks every acknowledged file byte for byte, checks
 * that nothing unpreserved, closed or finished comes back, and finishes
 * the sessions.  Nothing may hang: the client's requests are bounded by
 * the test's alarm.
 *
 * Every tenth kill (LUO_CRASH_VAULT_EVERY; 0 for none) is the vault's:
 * the engine starts a new vault with everything and serves on.
 *
 * LUO_CRASH_TRIALS sets the number of kills (default 50);
 * scripts/crash-trials.sh runs the long variant.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <luo/libluo.h>
#include <luo/luo-ext.h>

#include "daemon-harness.h"

#define MAX_SESS	6
#define MAX_TOK		8
#define FILE_SIZE	8192

enum tok_state { T_NONE, T_ACKED, T_GONE, T_UNKNOWN };
/*
 * S_OUT: outgoing, its fd open; S_PARKED: handed over (incoming in this
 * image, discarded by a REBOOT); S_IN: incoming after a REBOOT; S_CLOSED:
 * must not exist; S_UNKNOWN: an EIO left it parked or gone.
 */
enum sess_state { S_NONE, S_OUT, S_PARKED, S_IN, S_CLOSED, S_UNKNOWN };

struct tok {
	enum tok_state state;
	uint32_t seed;
};

struct sess {
	enum sess_state state;
	char name[64];
	int sfd;
	struct tok tok[MAX_TOK];
};

struct client {
	const char *socket;
	int dev;
	uint64_t upd;
	unsigned long names;
	struct sess s[MAX_SESS];
	unsigned long ops, eio, verified, reboots, upgrades, retried_retrieves;
};

static unsigned int rnd(unsigned int n)
{
	return (unsigned int)random() % n;
}

static void fill(char *buf, uint32_t seed)
{
	for (size_t i = 0; i < FILE_SIZE; i++)
		buf[i] = (char)((seed * 2654435761u + i * 40503u) >> 7);
}

static int make_file(uint32_t seed)
{
	char buf[FILE_SIZE];
	int fd = memfd_create("crash", MFD_CLOEXEC);

	dh_check(fd >= 0);
	fill(buf, seed);
	dh_check_eq(pwrite(fd, buf, sizeof(buf), 0), (long)sizeof(buf));
	return fd;
}

static void check_file(int fd, uint32_t seed)
{
	char want[FILE_SIZE], got[FILE_SIZE];

	fill(want, seed);
	dh_check_eq(pread(fd, got, sizeof(got), 0), (long)sizeof(got));
	dh_check(!memcmp(want, got, sizeof(got)));
}

/* The answer must be 0, or EIO from a crash; anything else fails. */
static bool ok_or_eio(struct client *c, int r, const char *what)
{
	c->ops++;
	if (r >= 0)
		return true;
	if (r == -EIO) {
		c->eio++;
		return false;
	}
	fprintf(stderr, "%s: %s\n", what, strerror(-r));
	dh_check(!"unexpected errno");
	return false;
}

static void open_device(struct client *c)
{
	for (int i = 0; i < 1000; i++) {
		c->dev = luo_open_at(c->socket, LUO_OPEN_DEVICE);
		if (c->dev >= 0)
			return;
		/*
		 * EIO: the handshake a crash cut off; ENODEV: a connection
		 * accepted in the instant before a crash, not yet recorded;
		 * EBUSY: the old holder's close is not processed yet.
		 */
		if (c->dev != -EIO && c->dev != -EBUSY && c->dev != -ENODEV)
			fprintf(stderr, "device open: %s\n", strerror(-c->dev));
		dh_check(c->dev == -EIO || c->dev == -EBUSY ||
			 c->dev == -ENODEV);
		usleep(1000);
	}
	dh_check(!"no device open");
}

static void op_create(struct client *c)
{
	struct sess *s = NULL;
	int r;

	for (int i = 0; i < MAX_SESS; i++)
		if (c->s[i].state == S_NONE)
			s = &c->s[i];
	if (!s)
		return;
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "crash-%lu", c->names++);
	r = luo_create_session(c->dev, s->name);
	if (ok_or_eio(c, r, "create")) {
		s->state = S_OUT;
		s->sfd = r;
	} else {
		s->state = S_UNKNOWN;	/* maybe made, its fd lost */
		s->sfd = -1;
	}
}

static struct sess *pick_out(struct client *c)
{
	int i = (int)rnd(MAX_SESS);

	for (int k = 0; k < MAX_SESS; k++, i = (i + 1) % MAX_SESS)
		if (c->s[i].state == S_OUT)
			return &c->s[i];
	return NULL;
}

static void op_preserve(struct client *c)
{
	struct sess *s = pick_out(c);
	uint32_t seed = (uint32_t)random();
	int t, fd, r;

	if (!s)
		return;
	t = (int)rnd(MAX_TOK);
	if (s->tok[t].state == T_ACKED || s->tok[t].state == T_UNKNOWN)
		return;
	fd = make_file(seed);
	r = luo_session_preserve_fd(s->sfd, fd, (uint64_t)t + 1);
	close(fd);
	s->tok[t].seed = seed;
	s->tok[t].state = ok_or_eio(c, r, "preserve") ? T_ACKED : T_UNKNOWN;
}

static void op_unpreserve(struct client *c)
{
	struct sess *s = pick_out(c);
	struct luo_session_unpreserve_fd arg = { .size = sizeof(arg) };
	int t, r;

	if (!s)
		return;
	t = (int)rnd(MAX_TOK);
	if (s->tok[t].state != T_ACKED)
		return;
	arg.token = (uint64_t)t + 1;
	r = luo_ioctl(s->sfd, LUO_SESSION_UNPRESERVE_FD, &arg);
	s->tok[t].state = ok_or_eio(c, r, "unpreserve") ? T_GONE : T_UNKNOWN;
}

static void op_close(struct client *c)
{
	struct sess *s = pick_out(c);

	if (!s)
		return;
	close(s->sfd);
	s->sfd = -1;
	s->state = S_CLOSED;
}

static void op_handover(struct client *c)
{
	struct sess *s = pick_out(c);
	int r;

	if (!s)
		return;
	r = luo_session_handover(s->sfd, 0);
	close(s->sfd);
	s->sfd = -1;
	/* Parked, or after EIO maybe released by the close: either. */
	s->state = ok_or_eio(c, r, "handover") ? S_PARKED : S_UNKNOWN;
}

/* A session as the model says, then finished. */
static void verify_session(struct client *c, struct sess *s)
{
	bool interrupted = false;
	int sfd, fd, r;

	if (s->state == S_NONE)
		return;
	while ((sfd = luo_retrieve_session(c->dev, s->name)) == -EIO)
		interrupted = true;
	/*
	 * A RETRIEVE_SESSION that a crash interrupted is undone if its reply
	 * was not sent: the session is retrievable again, never lost
	 * (liveupdated(8), "Crash recovery").
	 */
	c->retried_retrieves += interrupted;
	if (s->state == S_CLOSED) {
		dh_check_eq(sfd, -ENOENT);
		s->state = S_NONE;
		return;
	}
	if (s->state == S_UNKNOWN && sfd == -ENOENT) {
		s->state = S_NONE;
		return;
	}
	if (sfd < 0)
		fprintf(stderr, "session %s (state %d): %s%s\n", s->name,
			s->state, strerror(-sfd),
			interrupted ? " after an interrupted RETRIEVE_SESSION" :
			"");
	dh_check(sfd >= 0);
	for (int t = 0; t < MAX_TOK; t++) {
		do
			fd = luo_session_retrieve_fd(sfd, (uint64_t)t + 1);
		while (fd == -EIO);
		switch (s->tok[t].state) {
		case T_ACKED:
			if (fd < 0)
				fprintf(stderr, "%s token %d: %s\n", s->name,
					t + 1, strerror(-fd));
			dh_check(fd >= 0);
			check_file(fd, s->tok[t].seed);
			c->verified++;
			break;
		case T_UNKNOWN:
			if (fd >= 0)
				check_file(fd, s->tok[t].seed);
			else
				dh_check_eq(fd, -ENOENT);
			break;
		default:
			dh_check_eq(fd, -ENOENT);
		}
		if (fd >= 0)
			close(fd);
	}
	r = luo_session_finish(sfd);
	/* EIO: maybe finished; EINVAL: finished by the interrupted try. */
	while (r == -EIO)
		r = luo_session_finish(sfd);
	dh_check(r == 0 || r == -EINVAL || r == -ENOENT);
	close(sfd);
	/* A finished session must not come back: checked at the next REBOOT. */
	memset(s->tok, 0, sizeof(s->tok));
	s->state = S_CLOSED;
}

/* UPGRADE changes nothing a client sees, whether it happened or not. */
static void op_upgrade(struct client *c)
{
	int r = luo_upgrade(c->dev, -1);

	/* ENOEXEC: a kill hit the new image before it served (the vault). */
	if (r == -EBUSY || r == -ENOEXEC)
		return;
	ok_or_eio(c, r, "upgrade");
	c->upgrades += !r;
}

/* The next process takes a parked session: RETRIEVE, RETRIEVE_FD, FINISH. */
static void op_retrieve(struct client *c)
{
	int i = (int)rnd(MAX_SESS);

	for (int k = 0; k < MAX_SESS; k++, i = (i + 1) % MAX_SESS) {
		if (c->s[i].state == S_PARKED) {
			verify_session(c, &c->s[i]);
			return;
		}
	}
}

static void op_reboot(struct client *c)
{
	struct luo_status st;
	uint64_t upd = 0;
	int r;

	r = luo_reboot(c->dev, -1, &upd);
	c->ops++;
	/*
	 * ENOEXEC: a kill hit the new image before it served; the vault
	 * recovered the state of before the REBOOT, as a keeper would.
	 */
	if (r == -ENOEXEC)
		return;
	if (r == -EIO) {
		c->eio++;
		do
			r = luo_status(c->dev, &st);
		while (r == -EIO);
		dh_check_eq(r, 0);
		if (st.update_number == c->upd)
			return;		/* it did not happen */
		r = 0;
	}
	if (r == -EBUSY)
		return;
	if (r)
		fprintf(stderr, "reboot: %s\n", strerror(-r));
	dh_check_eq(r, 0);
	c->upd++;
	c->reboots++;
	/* Only the connection that asked survives, as a control one. */
	close(c->dev);
	for (int i = 0; i < MAX_SESS; i++) {
		if (c->s[i].sfd >= 0)
			close(c->s[i].sfd);
		c->s[i].sfd = -1;
		/* Outgoing ones come in; parked ones are discarded. */
		if (c->s[i].state == S_OUT)
			c->s[i].state = S_IN;
		else if (c->s[i].state == S_PARKED)
			c->s[i].state = S_CLOSED;
	}
	open_device(c);
	for (int i = 0; i < MAX_SESS; i++)
		verify_session(c, &c->s[i]);
}

static int client_main(const char *socket, unsigned long ops, int stop_fd)
{
	struct client c = { .socket = socket };
	struct luo_status st;
	char b;

	srandom((unsigned int)getpid());
	fcntl(stop_fd, F_SETFL, O_NONBLOCK);
	for (int i = 0; i < MAX_SESS; i++)
		c.s[i].sfd = -1;
	open_device(&c);
	dh_check_eq(luo_status(c.dev, &st), 0);
	c.upd = st.update_number;
	for (unsigned long n = 0;; n++) {
		unsigned int k = rnd(100);

		if (n >= ops && read(stop_fd, &b, 1) == 0)
			break;
		if (k < 15)
			op_create(&c);
		else if (k < 55)
			op_preserve(&c);
		else if (k < 70)
			op_unpreserve(&c);
		else if (k < 78)
			op_close(&c);
		else if (k < 84)
			op_handover(&c);
		else if (k < 88)
			op_retrieve(&c);
		else if (k < 91)
			op_reboot(&c);
		else if (k < 94)
			op_upgrade(&c);
		else
			ok_or_eio(&c, luo_status(c.dev, &st), "status");
	}
	op_reboot(&c);
	while (!c.reboots)
		op_reboot(&c);
	fflush(stdout);
	printf("client: %lu requests, %lu EIO, %lu REBOOTs, %lu UPGRADEs, %lu files verified, %lu RETRIEVE_SESSIONs answered EIO and retried, none lost\n",
	       c.ops, c.eio, c.reboots, c.upgrades, c.verified,
	       c.retried_retrieves);
	fflush(stdout);
	return 0;
}

static long rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* fds and memory of every luo process: the vault and its engine. */
static void report(const char *when, pid_t vault, pid_t engine)
{
	printf("%s: vault pid %d: %d fds, VmRSS %ld kB; engine pid %d: %d fds, VmRSS %ld kB\n",
	       when, (int)vault, dh_count_fds(vault), rss_kb(vault),
	       (int)engine, dh_count_fds(engine), rss_kb(engine));
	fflush(stdout);
}

/* The vault an engine started after its vault died (--vault-adopt). */
static pid_t vault_of(pid_t engine)
{
	char want[64], path[64], buf[4096];
	pid_t found = 0;
	ssize_t n;
	int fd;

	snprintf(want, sizeof(want), "--vault-adopt=%d", (int)engine);
	for (pid_t p = engine + 1; p < engine + 4096 && !found; p++) {
		snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)p);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		for (ssize_t i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1) {
			buf[n] = '\0';
			if (!strcmp(buf + i, want))
				found = p;
		}
	}
	return found;
}

/*
 * The engine @old was killed: once it is dead, a control open waits in
 * the listening socket's backlog, which the vault holds, until the new
 * engine serves it.  An open or STATUS that the recovery cut off (EIO,
 * ENODEV) is asked again.
 */
static pid_t wait_recovered(const char *socket, pid_t old)
{
	struct luo_status st;
	int ctl, r;

	dh_wait_gone(old, -1);
	for (int i = 0; i < 1000; i++) {
		ctl = luo_open_at(socket, LUO_OPEN_CONTROL);
		if (ctl < 0) {
			if (ctl != -EIO && ctl != -ENODEV)
				fprintf(stderr, "control open: %s\n",
					strerror(-ctl));
			dh_check(ctl == -EIO || ctl == -ENODEV);
			continue;
		}
		r = luo_status(ctl, &st);
		close(ctl);
		if (!r) {
			dh_check((pid_t)st.pid != old);
			return (pid_t)st.pid;
		}
		dh_check(r == -EIO || r == -ENODEV);
	}
	dh_check(!"no engine came back");
	return 0;
}

int main(void)
{
	static const char *const args[] = { "--vault", NULL };
	const char *env = getenv("LUO_CRASH_TRIALS");
	const char *ienv = getenv("LUO_CRASH_INTERVAL_MS");
	const char *venv = getenv("LUO_CRASH_VAULT_EVERY");
	/* Every this many kills, the vault dies instead (0: never). */
	unsigned long vault_every = venv ? strtoul(venv, NULL, 10) : 10;
	unsigned long vault_kills = 0;
	pid_t vault, engine = 0;
	unsigned long trials = env ? strtoul(env, NULL, 10) : 50;
	/* Between kills: random up to 20 ms, or about this many ms. */
	unsigned long interval = ienv ? strtoul(ienv, NULL, 10) : 0;
	struct dh_daemon d;
	int status, stop[2];
	pid_t client;
	struct timespec ts;

	alarm((unsigned int)(60 + trials / 2 + trials * interval / 1000 * 2));
	dh_check_eq(dh_start(&d, args), 0);
	dh_check_eq(pipe(stop), 0);
	client = fork();
	dh_check(client >= 0);
	if (client == 0) {
		close(stop[1]);
		_exit(client_main(d.socket, 200, stop[0]));
	}
	close(stop[0]);
	srandom((unsigned int)time(NULL));
	vault = d.pid;
	engine = dh_child_of(vault);
	report("start", vault, engine);
	for (unsigned long i = 0; i < trials; i++) {
		unsigned long us = interval ?
			interval * 500 + rnd((unsigned int)interval * 1000) :
			rnd(20000);

		ts.tv_sec = (time_t)(us / 1000000);
		ts.tv_nsec = (long)(us % 1000000) * 1000;
		nanosleep(&ts, NULL);
		dh_check(engine > 0);
		if (vault_every && i % vault_every == vault_every - 1) {
			/* The engine starts a new vault and serves on. */
			dh_check_eq(kill(vault, SIGKILL), 0);
			dh_wait_gone(vault, -1);
			/* No event says the new one exists: look for it. */
			for (int k = 0; k < 5000 && !(vault = vault_of(engine));
			     k++)
				usleep(1000);
			dh_check(vault > 0);
			vault_kills++;
		} else {
			dh_check_eq(kill(engine, SIGKILL), 0);
			engine = wait_recovered(d.socket, engine);
		}
		dh_check_eq(waitpid(client, &status, WNOHANG), 0);
	}
	report("end", vault, engine);
	close(stop[1]);
	dh_check_eq(waitpid(client, &status, 0), client);
	dh_check(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	printf("%lu kills, %lu of them of the vault: nothing acknowledged was lost\n",
	       trials, vault_kills);
	if (vault == d.pid) {
		dh_check_eq(dh_stop(&d), 0);
	} else {
		/* A vault the engine started: no child of ours. */
		dh_check_eq(kill(vault, SIGTERM), 0);
		dh_wait_gone(vault, -1);
		dh_wait(&d);
		d.pid = 0;
	}
	dh_cleanup(&d);
	return DH_PASS;
}
