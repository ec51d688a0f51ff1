// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Sessions and connections in the engine's records cost what changed
 * (liveupdated(8), "Crash recovery"), and a crash at any step of a commit
 * that creates, changes or closes them leaves one committed state.
 *
 * Each commit used to write every session and every connection again: a
 * user holding many sessions made every request slower, and 100,000 of
 * them took quadratic time.  Each session and connection is now a slot of
 * its own, written copy-on-write.  Here:
 *
 *   - with SESSIONS parked sessions and CONNS open ones (a connection
 *     each), the committed handover is as small as with none, and
 *     creating and closing a session many times reuses slots;
 *   - at every step of a commit ("records-conns": the connection slots
 *     written; "records-files": every slot written; "records-handover":
 *     the handover written, not flipped; "reply-committed": flipped), the
 *     engine is killed while a CREATE_SESSION, a HANDOVER, a
 *     RETRIEVE_SESSION, a FINISH and the closes of a finished and of an
 *     open session run; after each recovery LIST shows exactly what the
 *     clients were told: a request answered EIO took no effect (and can
 *     be done again), one answered 0 did, a close did;
 *   - a reply the records held and that was sent is not sent again by a
 *     new engine once a commit for another connection came after it;
 *   - a reply parked for a client that does not read, too big for a
 *     connection's slot, is recorded in the handover and sent by a new
 *     engine;
 *   - a connection closed as its reply fails is not recorded again.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "daemon-harness.h"
#include "vault_proto.h"
#include "wire-client.h"

#define SESSIONS	3000	/* parked: no fd */
#define CONNS		500	/* open: a connection each */
#define CHURN		2000	/* CREATE_SESSION + close rounds */
#define MAX_MODEL	8

static char flag[64];

/* The engine's records header, read through its memfd. */
static void read_header(pid_t engine, struct records_header *h)
{
	dh_records_read(engine, h, sizeof(*h));
}

static void test_small_commits(void)
{
	static int open_fds[CONNS];
	struct dh_daemon d;
	struct records_header h;
	pid_t engine = dh_start_killpoint(&d, "none", flag, sizeof(flag));
	int dev = luo_open_at(d.socket, LUO_OPEN_DEVICE), s;
	uint64_t empty, sessions, conns;
	char name[LIVEUPDATE_SESSION_NAME_LENGTH];

	dh_check(dev >= 0);
	s = luo_create_session(dev, "first");
	dh_check(s >= 0);
	read_header(engine, &h);
	empty = h.slot[h.active & 1].len;
	for (int i = 0; i < SESSIONS; i++) {
		snprintf(name, sizeof(name), "parked-%d", i);
		s = luo_create_session(dev, name);
		dh_check(s >= 0);
		dh_check_eq(luo_session_handover(s, 0), 0);
		close(s);
	}
	for (int i = 0; i < CONNS; i++) {
		snprintf(name, sizeof(name), "open-%d", i);
		open_fds[i] = luo_create_session(dev, name);
		dh_check(open_fds[i] >= 0);
	}
	dh_check_eq(luo_status(dev, &(struct luo_status){ 0 }), 0);
	read_header(engine, &h);
	/* Neither sessions nor connections are in the handover. */
	dh_check_eq(h.slot[h.active & 1].len, empty);
	dh_check(h.session_slots >= SESSIONS + CONNS);
	dh_check(h.conn_slots >= CONNS);
	sessions = h.session_slots;
	conns = h.conn_slots;
	for (int i = 0; i < CHURN; i++) {
		snprintf(name, sizeof(name), "churn-%d", i);
		s = luo_create_session(dev, name);
		dh_check(s >= 0);
		close(s);
	}
	dh_check_eq(luo_status(dev, &(struct luo_status){ 0 }), 0);
	read_header(engine, &h);
	/* Slots are reused once their end is committed. */
	dh_check_eq(h.session_slots, sessions);
	dh_check_eq(h.conn_slots, conns);
	/* Everything survives a crash at an arbitrary moment. */
	dh_check_eq(kill(engine, SIGKILL), 0);
	dh_wait_gone(engine, 10000);
	for (int i = 0; i < CONNS; i++) {
		dh_check_eq(luo_session_get_name(open_fds[i], name,
						 sizeof(name)), 0);
		dh_check(!strncmp(name, "open-", 5));
		close(open_fds[i]);
	}
	for (int i = 0; i < SESSIONS; i += SESSIONS / 10) {
		snprintf(name, sizeof(name), "parked-%d", i);
		s = luo_retrieve_session(dev, name);
		dh_check(s >= 0);
		dh_check_eq(luo_session_finish(s), 0);
		close(s);
	}
	close(dev);
	dh_killpoint_stop(&d, flag);
	printf("ok: %d parked and %d open sessions, committed handover %llu "
	       "bytes, %llu session and %llu connection slots\n", SESSIONS,
	       CONNS, (unsigned long long)empty,
	       (unsigned long long)sessions, (unsigned long long)conns);
}

/* What the clients were told: a session by name, and its listed state. */
struct model {
	struct {
		char name[16];
		int direction;
		int state;
	} s[MAX_MODEL];
	int n;
};

static void model_set(struct model *m, const char *name, int direction,
		      int state)
{
	for (int i = 0; i < m->n; i++) {
		if (strcmp(m->s[i].name, name))
			continue;
		m->s[i].direction = direction;
		m->s[i].state = state;
		return;
	}
	dh_check(m->n < MAX_MODEL);
	snprintf(m->s[m->n].name, sizeof(m->s[0].name), "%s", name);
	m->s[m->n].direction = direction;
	m->s[m->n++].state = state;
}

static void model_del(struct model *m, const char *name)
{
	for (int i = 0; i < m->n; i++)
		if (!strcmp(m->s[i].name, name))
			m->s[i] = m->s[--m->n];
}

struct listed {
	const struct model *m;
	int seen;
	int bad;
};

static int list_one(const struct luo_list_record *r, void *ctx)
{
	struct listed *l = ctx;

	if (r->type != LUO_LIST_SESSION)
		return 0;
	l->seen++;
	for (int i = 0; i < l->m->n; i++)
		if (!strcmp(l->m->s[i].name, r->name))
			l->bad += l->m->s[i].direction != r->direction ||
				  l->m->s[i].state != r->state;
	return 0;
}

/* LIST says what the model says, no more, no less. */
static void check_model(int ctl, const struct model *m, const char *step,
			const char *what)
{
	struct listed l = { .m = m };

	dh_check_eq(luo_list(ctl, list_one, &l), 0);
	if (l.seen != m->n || l.bad)
		fprintf(stderr, "%s, %s: listed %d sessions (%d unlike what "
			"the clients were told), told %d\n", step, what,
			l.seen, l.bad, m->n);
	dh_check_eq(l.seen, m->n);
	dh_check_eq(l.bad, 0);
}

/* The engine dies at the step armed: the next one serves. */
static pid_t fired(struct dh_daemon *d, pid_t engine)
{
	return dh_killpoint_fired(d, engine, flag);
}

/*
 * One daemon whose engine is killed at @step during each operation; the
 * state recovered each time is what the clients were told.
 */
static void test_killed_at(const char *step)
{
	bool flipped = !strcmp(step, "reply-committed");
	struct dh_daemon d;
	struct model m = { .n = 0 };
	pid_t engine = dh_start_killpoint(&d, step, flag, sizeof(flag));
	int dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	int ctl = luo_open_at(d.socket, LUO_OPEN_CONTROL), keep, a, p, fd;

	dh_check(dev >= 0);
	dh_check(ctl >= 0);
	keep = luo_create_session(dev, "keep");
	dh_check(keep >= 0);
	fd = memfd_create("records-sessions", MFD_CLOEXEC);
	dh_check(fd >= 0);
	dh_check_eq(luo_session_preserve_fd(keep, fd, 1), 0);
	close(fd);
	model_set(&m, "keep", LUO_OUTGOING, LUO_SESSION_OPEN);
	p = luo_create_session(dev, "park");
	dh_check(p >= 0);
	dh_check_eq(luo_session_handover(p, 0), 0);
	close(p);
	model_set(&m, "park", LUO_INCOMING, LUO_SESSION_OPEN);
	check_model(ctl, &m, step, "set up");

	/* CREATE_SESSION: its fd never reached the caller, so undone. */
	dh_killpoint_arm(flag);
	dh_check_eq(luo_create_session(dev, "a"), -EIO);
	engine = fired(&d, engine);
	check_model(ctl, &m, step, "create");
	a = luo_create_session(dev, "a");
	dh_check(a >= 0);
	model_set(&m, "a", LUO_OUTGOING, LUO_SESSION_OPEN);

	/* HANDOVER: its reply is what took effect. */
	dh_killpoint_arm(flag);
	if (flipped) {
		dh_check_eq(luo_session_handover(a, 0), 0);
	} else {
		dh_check_eq(luo_session_handover(a, 0), -EIO);
		engine = fired(&d, engine);
		check_model(ctl, &m, step, "handover");
		dh_check_eq(luo_session_handover(a, 0), 0);
	}
	if (flipped)
		engine = fired(&d, engine);
	model_set(&m, "a", LUO_INCOMING, LUO_SESSION_OPEN);
	check_model(ctl, &m, step, "handover");
	close(a);
	/*
	 * Its hangup is seen, and committed, before the STATUS that comes
	 * after it is answered: nothing is left to commit when armed.
	 */
	dh_check_eq(luo_status(ctl, &(struct luo_status){ 0 }), 0);

	/* RETRIEVE_SESSION: an fd again, so undone. */
	dh_killpoint_arm(flag);
	dh_check_eq(luo_retrieve_session(dev, "park"), -EIO);
	engine = fired(&d, engine);
	check_model(ctl, &m, step, "retrieve");
	p = luo_retrieve_session(dev, "park");
	dh_check(p >= 0);
	model_set(&m, "park", LUO_INCOMING, LUO_SESSION_RETRIEVED);

	/* FINISH. */
	dh_killpoint_arm(flag);
	if (flipped) {
		dh_check_eq(luo_session_finish(p), 0);
	} else {
		dh_check_eq(luo_session_finish(p), -EIO);
		engine = fired(&d, engine);
		check_model(ctl, &m, step, "finish");
		dh_check_eq(luo_session_finish(p), 0);
	}
	if (flipped)
		engine = fired(&d, engine);
	model_set(&m, "park", LUO_INCOMING, LUO_SESSION_FINISHED);
	check_model(ctl, &m, step, "finish");

	/*
	 * Closes: no reply, a commit after the loop's turn (no reply is
	 * committed: "reply-committed" is not reached).  Either the close
	 * is committed, or the records hold the connection, whose hangup a
	 * new engine sees: gone either way.
	 */
	if (!flipped)
		dh_killpoint_arm(flag);
	close(p);
	if (!flipped)
		engine = fired(&d, engine);
	model_del(&m, "park");
	check_model(ctl, &m, step, "close of a finished session");
	if (!flipped)
		dh_killpoint_arm(flag);
	close(keep);
	if (!flipped)
		engine = fired(&d, engine);
	model_del(&m, "keep");
	check_model(ctl, &m, step, "close of an open session");

	/* And a crash anywhere after: the same. */
	dh_check_eq(kill(engine, SIGKILL), 0);
	dh_wait_gone(engine, 10000);
	check_model(ctl, &m, step, "after a kill");
	close(ctl);
	close(dev);
	dh_killpoint_stop(&d, flag);
	printf("ok: killed at %s during create, handover, retrieve, finish "
	       "and closes\n", step);
}

/*
 * A reply the records hold and that was sent is sent once: the next
 * commit, made for another connection, records its connection without it.
 */
static void test_sent_once(void)
{
	struct dh_daemon d;
	pid_t engine = dh_start_killpoint(&d, "none", flag, sizeof(flag));
	int dev = luo_open_at(d.socket, LUO_OPEN_DEVICE), one, two, fd[3];
	char name[LIVEUPDATE_SESSION_NAME_LENGTH];

	dh_check(dev >= 0);
	one = luo_create_session(dev, "one");
	two = luo_create_session(dev, "two");
	dh_check(one >= 0 && two >= 0);
	for (int i = 0; i < 3; i++) {
		fd[i] = memfd_create("records-sessions", MFD_CLOEXEC);
		dh_check(fd[i] >= 0);
	}
	/* Each reply committed with its change, marked, sent. */
	dh_check_eq(luo_session_preserve_fd(one, fd[0], 1), 0);
	dh_check_eq(luo_session_preserve_fd(two, fd[1], 2), 0);
	dh_check_eq(kill(engine, SIGKILL), 0);
	dh_wait_gone(engine, 10000);
	/* No second answer to the first PRESERVE_FD comes first. */
	dh_check_eq(luo_session_get_name(one, name, sizeof(name)), 0);
	dh_check(!strcmp(name, "one"));
	dh_check_eq(luo_session_preserve_fd(one, fd[2], 3), 0);
	dh_check_eq(luo_session_get_name(two, name, sizeof(name)), 0);
	dh_check(!strcmp(name, "two"));
	for (int i = 0; i < 3; i++)
		close(fd[i]);
	close(one);
	close(two);
	close(dev);
	dh_killpoint_stop(&d, flag);
	printf("ok: a reply sent is not sent again after a commit for "
	       "another connection\n");
}

/* Sends LIST requests (big replies) until the socket is full. */
static int flood(int fd)
{
	char buf[sizeof(struct luo_wire_req) + sizeof(struct luo_list)];
	struct luo_wire_req hdr = {
		.cmd = LUO_IOCTL_LIST, .len = sizeof(struct luo_list),
	};
	struct luo_list l = { .size = sizeof(l) };
	int n = 0;

	memcpy(buf, &hdr, sizeof(hdr));
	memcpy(buf + sizeof(hdr), &l, sizeof(l));
	while (send(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
		n++;
	dh_check(errno == EAGAIN);
	return n;
}

/*
 * A reply too big for a connection's slot (a LIST page parked for a
 * client that does not read) is recorded in the handover instead: a new
 * engine sends it, and then answers the rest.
 */
static void test_big_reply(void)
{
	struct dh_daemon d;
	struct records_header h;
	struct luo_wire_rep rep;
	pid_t engine = dh_start_killpoint(&d, "none", flag, sizeof(flag));
	int dev = luo_open_at(d.socket, LUO_OPEN_DEVICE), slow, s, n, i;
	uint64_t empty;
	char name[32];

	dh_check(dev >= 0);
	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "listed-%d", i);
		s = luo_create_session(dev, name);
		dh_check(s >= 0);
		dh_check_eq(luo_session_handover(s, 0), 0);
		close(s);
	}
	read_header(engine, &h);
	empty = h.slot[h.active & 1].len;
	slow = wc_open(d.socket, LUO_WIRE_MODE_CONTROL);
	dh_check(slow >= 0);
	n = flood(slow);
	dh_check(n > 0);
	/* Until the engine parks a reply, and commits it. */
	for (i = 0; i < 100000; i++) {
		dh_check_eq(luo_status(dev, &(struct luo_status){ 0 }), 0);
		read_header(engine, &h);
		if (h.slot[h.active & 1].len > empty)
			break;
	}
	dh_check(h.slot[h.active & 1].len > empty);
	dh_check_eq(kill(engine, SIGKILL), 0);
	dh_wait_gone(engine, 10000);
	for (i = 0; i < n; i++) {
		dh_check_eq(wc_recv(slow, &rep, NULL, 0, NULL), 0);
		dh_check_eq(rep.result, 0);
		dh_check(rep.extra_len > 0);
	}
	close(slow);
	close(dev);
	dh_killpoint_stop(&d, flag);
	printf("ok: a parked reply too big for a slot, %d LIST replies in "
	       "all, survives a crash\n", n);
}

/*
 * A CREATE_SESSION whose caller stopped reading: the reply that carries
 * the session fd fails (EPIPE), the connection closes, and nothing it
 * leaves is recorded again (the closed connection is freed after the
 * loop's batch: recording it would use freed memory).  The engine goes on
 * serving: no crash, so no recovery.
 */
static void test_reply_lost(void)
{
	struct liveupdate_ioctl_create_session arg = { .size = sizeof(arg) };
	struct dh_daemon d;
	pid_t engine = dh_start_killpoint(&d, "none", flag, sizeof(flag));
	int ctl = luo_open_at(d.socket, LUO_OPEN_CONTROL), dev, s, raw;

	dh_check(ctl >= 0);
	for (int i = 0; i < 20; i++) {
		raw = wc_open(d.socket, LUO_WIRE_MODE_DEVICE);
		dh_check(raw >= 0);
		snprintf((char *)arg.name, sizeof(arg.name), "lost-%d", i);
		dh_check_eq(wc_send(raw, LIVEUPDATE_IOCTL_CREATE_SESSION, &arg,
				    sizeof(arg), NULL, 0), 0);
		dh_check_eq(shutdown(raw, SHUT_RD), 0);
		/* Answered after the CREATE_SESSION was: its reply failed. */
		dh_check_eq(luo_status(ctl, &(struct luo_status){ 0 }), 0);
		close(raw);
		dh_check_eq(luo_status(ctl, &(struct luo_status){ 0 }), 0);
	}
	/* Commits that walk what is to be recorded. */
	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	for (int i = 0; i < 20; i++) {
		s = luo_create_session(dev, "after");
		dh_check(s >= 0);
		close(s);
		dh_check_eq(luo_status(ctl, &(struct luo_status){ 0 }), 0);
	}
	dh_check_eq(dh_status_pid(d.socket), engine);
	close(dev);
	close(ctl);
	dh_killpoint_stop(&d, flag);
	printf("ok: CREATE_SESSION replies lost to callers that stopped "
	       "reading\n");
}

int main(void)
{
	static const char *const steps[] = {
		"records-conns", "records-files", "records-handover",
		"reply-committed",
	};

	alarm(100);
	test_small_commits();
	test_sent_once();
	test_big_reply();
	test_reply_lost();
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		test_killed_at(steps[i]);
	return DH_PASS;
}
