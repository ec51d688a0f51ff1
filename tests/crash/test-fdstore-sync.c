// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What a client was told is in the service manager's fd store before the
 * reply (liveupdated(8), "The vault and the fd store"), against the
 * stand-in for systemd (fdstore-standin.c).
 *
 * 1. A file preserved, and every luo process killed the moment the call
 *    returns: the unit restarted from the store has it.
 * 2. The manager is slow (the test holds the stand-in's lock and reads the
 *    notify socket itself): the call must not return before the vault's
 *    BARRIER=1 is answered.  Every luo process is killed then, and the
 *    manager drops what the dead vault sent (systemd does so with a
 *    message whose sender is gone): the restart serves everything before,
 *    the call fails (EIO, the request the engine died in), and nothing is
 *    half there.
 * 3. The same, but the manager took the fds and not the barrier: the
 *    restart removes the entry no commit names.
 * 4. The vault alone dies: the engine ends too, starting no vault of its
 *    own (which could not keep the store), and the restart from the store
 *    serves everything; a change after it survives the next kill at once.
 * 5. The manager hangs: the first preserve waits --fdstore-timeout, the
 *    next ones go on at once; when the manager reads again, the store
 *    has everything.
 * 6. SIGTERM (systemctl restart): the engine leaves everything to the
 *    store, discarding nothing, and the next start serves it all.
 * 7. The store switched off (FDSTORE=0) with entries in it: the restart
 *    recovers from them all the same, and removes them; from then on a
 *    vault that dies alone is replaced by its engine, as without a store.
 * First of all, --fdstore-timeout outside 1..20000 ms is refused at start.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "daemon-harness.h"
#include "fdstore-standin.h"

/* A message of the vault's, read but not handled (the manager is slow). */
struct raw {
	char msg[1024];
	int fds[4];
	int nfds;
};

static struct raw raws[256];
static int nr_raw;

/* Under @lock: read messages until a BARRIER=1 (at most DEADLINE_MS). */
static void take_until_barrier(void)
{
	struct pollfd p = { .fd = notify_fd, .events = POLLIN };
	union {
		char buf[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} u;

	for (;;) {
		struct raw *m = &raws[nr_raw];
		struct iovec iov = {
			.iov_base = m->msg, .iov_len = sizeof(m->msg) - 1,
		};
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
		};
		struct cmsghdr *cm;
		ssize_t n;

		dh_check(nr_raw < (int)(sizeof(raws) / sizeof(raws[0])));
		if (poll(&p, 1, DEADLINE_MS) != 1) {
			fprintf(stderr, "test-fdstore-sync: no BARRIER=1\n");
			dh_fail(__FILE__, __LINE__, "BARRIER=1");
		}
		n = recvmsg(notify_fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n < 0 && errno == EAGAIN)
			continue;
		dh_check(n >= 0);
		m->msg[n] = '\0';
		m->nfds = 0;
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			if (cm->cmsg_type != SCM_RIGHTS)
				continue;
			m->nfds = (int)((cm->cmsg_len - CMSG_LEN(0)) /
					sizeof(int));
			memcpy(m->fds, CMSG_DATA(cm),
			       (size_t)m->nfds * sizeof(int));
		}
		nr_raw++;
		if (strstr(m->msg, "BARRIER=1"))
			return;
	}
}

/* The messages read: dropped, or (@keep) their FDSTORE=1 fds kept. */
static void settle_raws(bool keep)
{
	for (int i = 0; i < nr_raw; i++) {
		struct raw *m = &raws[i];
		char *name = strstr(m->msg, "FDNAME=");

		if (keep && strstr(m->msg, "FDSTORE=1") && name &&
		    m->nfds == 1) {
			name += strlen("FDNAME=");
			name[strcspn(name, "\n")] = '\0';
			store_add(m->fds[0], name);
			continue;
		}
		for (int k = 0; k < m->nfds; k++)
			close(m->fds[k]);
	}
	nr_raw = 0;
}

/* A preserve on a thread of its own: it may wait for the manager. */
struct call {
	pthread_t th;
	int session;
	int fd;
	uint64_t token;
	int r;
	atomic_bool done;
};

static void *call_main(void *arg)
{
	struct call *c = arg;

	c->r = luo_session_preserve_fd(c->session, c->fd, c->token);
	atomic_store(&c->done, true);
	return NULL;
}

static void call_start(struct call *c, int session, int fd, uint64_t token)
{
	c->session = session;
	c->fd = fd;
	c->token = token;
	atomic_store(&c->done, false);
	dh_check(pthread_create(&c->th, NULL, call_main, c) == 0);
}

struct unit {
	const char *bin;
	const char *notify;
	const char *path;
	int lsock;
	pid_t vault;
};

/* systemd restarts the unit with its store; under @lock if @locked. */
static void restart(struct unit *u, bool locked)
{
	static char names[MAX_STORED + 2][256];
	int fds[MAX_STORED + 2], nr;

	if (!locked)
		pthread_mutex_lock(&lock);
	nr = store_passed(u->lsock, fds, names);
	ready = false;
	u->vault = group = start_vault(u->bin, u->notify, u->path, fds, names,
				       nr);
	pthread_mutex_unlock(&lock);
	notify_until(is_ready, NULL, "READY=1 after a restart");
}

static pid_t engine_of(int dev, uint32_t files)
{
	struct luo_status st = { .size = sizeof(st) };

	dh_check_eq(luo_status(dev, &st), 0);
	dh_check_eq(st.nr_outgoing, 1);
	dh_check_eq(st.nr_files, files);
	return (pid_t)st.pid;
}

/*
 * The manager is slow: a preserve waits for BARRIER=1, every luo process
 * dies before it is answered, and the manager takes the fds (@keep) or
 * drops them.  The call fails; the restart serves the @files before.
 */
static void slow_manager(struct unit *u, int dev, int s, uint64_t token,
			 uint32_t files, bool keep)
{
	struct call c;
	int fd = memfd_with("never acknowledged");
	pid_t engine = engine_of(dev, files);

	pthread_mutex_lock(&lock);
	removed[0] = '\0';
	call_start(&c, s, fd, token);
	take_until_barrier();
	/* The barrier's fd is open here: no reply may have gone. */
	dh_check(!atomic_load(&c.done));
	dh_check(kill(-group, SIGKILL) == 0);
	dh_check(waitpid(u->vault, NULL, 0) == u->vault);
	dh_wait_gone(engine, DEADLINE_MS);
	settle_raws(keep);
	restart(u, true);
	dh_check(pthread_join(c.th, NULL) == 0);
	dh_check_eq(c.r, -EIO);
	engine_of(dev, files);
	if (keep) {
		pthread_mutex_lock(&lock);
		dh_check(strstr(removed, "luovault-"));
		pthread_mutex_unlock(&lock);
	}
	/* Not half there: the token is free. */
	dh_check_eq(luo_session_preserve_fd(s, fd, token), 0);
	close(fd);
}

/*
 * The manager hangs (the test holds the stand-in's lock): the first
 * preserve waits --fdstore-timeout, the next ones not at all; once the
 * manager reads again, everything is in the store.
 */
static void hung_manager(struct unit *u, int dev, int s, uint64_t token)
{
	static char names[MAX_STORED + 2][256];
	int fds[MAX_STORED + 2], want[5], nr, logfd, i;
	char log[65536];
	const char *p;
	ssize_t n;

	kill_all(u->vault, engine_of(dev, (uint32_t)token - 1), u->vault);
	logfd = memfd_create("fdstore-sync-log", MFD_CLOEXEC);
	dh_check(logfd >= 0);
	fdstore_timeout = "200";
	pthread_mutex_lock(&lock);
	nr = store_passed(u->lsock, fds, names);
	ready = false;
	u->vault = group = start_vault_logged(u->bin, u->notify, u->path, fds,
					      names, nr, logfd);
	pthread_mutex_unlock(&lock);
	notify_until(is_ready, NULL, "READY=1 with --fdstore-timeout");
	pthread_mutex_lock(&lock);
	for (i = 0; i < 4; i++) {
		want[i] = memfd_with("never acknowledged");
		dh_check_eq(luo_session_preserve_fd(s, want[i], token + i), 0);
	}
	want[4] = -1;
	pthread_mutex_unlock(&lock);
	notify_until(all_stored, want, "the fds the manager took late");
	for (i = 0; i < 4; i++)
		close(want[i]);
	engine_of(dev, (uint32_t)token + 3);
	n = pread(logfd, log, sizeof(log) - 1, 0);
	dh_check(n > 0);
	log[n] = '\0';
	p = strstr(log, "did not take the fds");
	dh_check(p && !strstr(p + 1, "did not take the fds"));
	close(logfd);
	fdstore_timeout = NULL;
}

/* A --fdstore-timeout out of its range is refused, saying which. */
static void bad_timeouts(const char *bin)
{
	static const char *const bad[] = { "0", "20001", "10s", "-5" };
	char out[4096];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *const args[] = {
			bin, "--socket", "/nonexistent/luo.sock",
			"--fdstore-timeout", bad[i], NULL,
		};

		dh_check_eq(dh_run_output(bin, args, -1, -1, out, sizeof(out)),
			    1);
		dh_expect_output(out, "bad --fdstore-timeout");
	}
}

/* A MAINPID= other than *@ctx's (a late one of the vault killed). */
static bool new_mainpid(void *ctx)
{
	return mainpid > 0 && mainpid != *(pid_t *)ctx;
}

int main(void)
{
	static char names[1][256];
	struct standin_unit place;
	struct unit u = { .bin = dh_binary() };
	const char *notify = place.notify, *path = place.path;
	int dev, s, fd, r;
	uint64_t update;
	pid_t engine;

	bad_timeouts(u.bin);
	standin_unit_make(&place, "fdsync", true);
	u.notify = notify;
	u.path = path;
	u.lsock = place.lsock;
	snprintf(names[0], sizeof(names[0]), "liveupdated.socket");
	u.vault = group = start_vault(u.bin, notify, path, &u.lsock, names, 1);
	notify_until(is_ready, NULL, "READY=1 at the first start");

	/* 1. Acknowledged, then every luo process at once: kept. */
	dev = luo_open_at(path, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	s = luo_create_session(dev, "fdstore-sync");
	dh_check(s >= 0);
	fd = memfd_with("acknowledged");
	dh_check_eq(luo_session_preserve_fd(s, fd, 1), 0);
	close(fd);
	kill_all(u.vault, engine_of(dev, 1), u.vault);
	restart(&u, false);
	engine_of(dev, 1);

	/* 2. The manager drops what a dead vault sent. */
	slow_manager(&u, dev, s, 2, 1, false);
	/* 3. The manager took the fds, not the barrier. */
	slow_manager(&u, dev, s, 3, 2, true);

	/* 4. The vault alone: the engine ends, and starts no vault. */
	engine = engine_of(dev, 3);
	pthread_mutex_lock(&lock);
	mainpid = 0;
	ready = false;
	pthread_mutex_unlock(&lock);
	dh_check(kill(u.vault, SIGKILL) == 0);
	dh_check(waitpid(u.vault, NULL, 0) == u.vault);
	dh_wait_gone(engine, DEADLINE_MS);
	group = 0;
	pthread_mutex_lock(&lock);
	dh_check(!ready && !mainpid);
	pthread_mutex_unlock(&lock);
	restart(&u, false);
	engine_of(dev, 3);
	fd = memfd_with("after the restart");
	dh_check_eq(luo_session_preserve_fd(s, fd, 4), 0);
	close(fd);
	kill_all(u.vault, engine_of(dev, 4), u.vault);
	restart(&u, false);
	engine_of(dev, 4);

	/* 5. The manager hangs: one wait, not one per request. */
	hung_manager(&u, dev, s, 5);

	/*
	 * 6. SIGTERM to the vault, as systemctl restart sends: the engine
	 * leaves everything to the store, and the next start serves it, the
	 * client's connection too.
	 */
	dh_check(kill(u.vault, SIGTERM) == 0);
	dh_check(waitpid(u.vault, &r, 0) == u.vault);
	dh_check(WIFEXITED(r) && WEXITSTATUS(r) == 0);
	restart(&u, false);
	engine_of(dev, 8);

	/*
	 * 7. The store switched off (FDSTORE=0) while it holds entries: the
	 * vault still recovers from them, and takes them out of it.
	 */
	kill_all(u.vault, engine_of(dev, 8), u.vault);
	store_max = "0";
	restart(&u, false);
	engine_of(dev, 8);
	pthread_mutex_lock(&lock);
	for (int i = 0; i < nr_store; i++)
		dh_check(strncmp(store[i].name, "luovault-", 9));
	mainpid = 0;
	pthread_mutex_unlock(&lock);
	/* Off now: a vault that dies alone is replaced by its engine. */
	engine = engine_of(dev, 8);
	dh_check(kill(u.vault, SIGKILL) == 0);
	dh_check(waitpid(u.vault, NULL, 0) == u.vault);
	notify_until(new_mainpid, &u.vault,
		     "MAINPID= of the vault the engine started");
	dh_check_eq(engine_of(dev, 8), engine);
	u.vault = mainpid;

	/* A REBOOT: every file back, byte for byte. */
	dh_check_eq(luo_reboot(dev, -1, &update), 0);
	luo_close(s);
	luo_close(dev);
	dev = luo_open_at(path, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	s = luo_retrieve_session(dev, "fdstore-sync");
	dh_check(s >= 0);
	for (uint64_t t = 1; t <= 8; t++) {
		r = luo_session_retrieve_fd(s, t);
		dh_check(r >= 0);
		check_text(r, t == 1 ? "acknowledged" :
			   t == 4 ? "after the restart" : "never acknowledged");
		close(r);
	}
	dh_check_eq(luo_session_finish(s), 0);
	luo_close(s);
	luo_close(dev);

	/* The vault the engine started is no child of ours. */
	dh_check(kill(u.vault, SIGTERM) == 0);
	dh_wait_gone(u.vault, DEADLINE_MS);
	dh_wait_gone(engine, DEADLINE_MS);
	group = 0;
	standin_unit_remove(&place);
	printf("test-fdstore-sync: PASS\n");
	return DH_PASS;
}
