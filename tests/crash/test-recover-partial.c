// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A recovery recovers what it has (liveupdated(8), "Crash recovery"):
 * when the service manager's fd store gives back all but some of the
 * vault's fds, the new engine drops what is missing, says so in its log,
 * and serves the rest, where it used to refuse to recover at all (and
 * every session of every user was lost because one fd was).
 *
 * Against the systemd stand-in (fdstore-standin.c): a client with two
 * sessions (two memfds in "partial-a", one in "partial-b") and its device
 * connection, everything in the store.  Every luo process is killed and
 * the unit restarted from its store with one memfd's entry lost: READY=1,
 * the client's connection and both sessions are served, "partial-a" has
 * exactly its other file, "partial-b" is whole, and the log says what was
 * dropped.  Then a control connection and a third session are made, and
 * the unit restarted without the daemon's end of either: both are
 * dropped, the session as its client's close would end it (outgoing: it
 * goes), the rest is served.  A REBOOT then hands over exactly what is
 * left, byte for byte.
 *
 * Last, a vault that made its own listening socket (no socket unit) is
 * restarted without that socket's entry: the engine makes a new one at
 * the same path, as a fresh start would, and serves the old connection
 * and new ones.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <luo/libluo.h>
#include <luo/luo-ext.h>

#include "daemon-harness.h"
#include "fdstore-standin.h"

static const char *bin;
static char notify[96], path[96], logpath[96];
/* liveupdated.socket's, or -1 when the test runs without a socket unit. */
static int lsock = -1;

/* The store's entries before something was made, to tell what is new. */
struct before {
	char names[MAX_STORED][256];
	int n;
	char found[256];
};

static void snapshot(struct before *b)
{
	pthread_mutex_lock(&lock);
	b->n = nr_store;
	for (int i = 0; i < nr_store; i++)
		snprintf(b->names[i], sizeof(b->names[i]), "%s", store[i].name);
	b->found[0] = '\0';
	pthread_mutex_unlock(&lock);
}

/* A socket in the store that was not there before: a connection's end. */
static bool new_socket(void *ctx)
{
	struct before *b = ctx;
	struct stat st;

	for (int i = 0; i < nr_store; i++) {
		bool old = false;

		for (int k = 0; k < b->n && !old; k++)
			old = !strcmp(b->names[k], store[i].name);
		if (old || fstat(store[i].fd, &st) || !S_ISSOCK(st.st_mode))
			continue;
		snprintf(b->found, sizeof(b->found), "%s", store[i].name);
		return true;
	}
	return false;
}

/*
 * Kill every luo process; restart from the store without @lost's entries
 * (and without the socket unit's socket if @lsock is -1).
 */
static pid_t restart_without(pid_t vault, pid_t engine, char lost[][256],
			     int nr_lost)
{
	static char names[MAX_STORED + 2][256];
	int fds[MAX_STORED + 2], nr, log;

	kill_all(vault, engine, vault);
	log = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	dh_check(log >= 0);
	pthread_mutex_lock(&lock);
	for (int k = 0; k < nr_lost; k++) {
		int i;

		for (i = 0; i < nr_store; i++)
			if (!strcmp(store[i].name, lost[k]))
				break;
		store_lose(i);
	}
	if (lsock >= 0) {
		nr = store_passed(lsock, fds, names);
	} else {
		for (nr = 0; nr < nr_store; nr++) {
			fds[nr] = store[nr].fd;
			snprintf(names[nr], sizeof(names[nr]), "%s",
				 store[nr].name);
		}
	}
	ready = false;
	vault = group = start_vault_logged(bin, notify, path, fds, names, nr,
					   log);
	pthread_mutex_unlock(&lock);
	close(log);
	notify_until(is_ready, NULL, "READY=1 after the restart");
	return vault;
}

/* The daemons' log since the last restart. */
static void read_log(char *buf, size_t len)
{
	int fd = open(logpath, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	dh_check(fd >= 0);
	n = read(fd, buf, len - 1);
	dh_check(n >= 0);
	buf[n] = '\0';
	close(fd);
}

static void expect_log(const char *log, const char *what)
{
	if (!strstr(log, what)) {
		fprintf(stderr, "test-recover-partial: no \"%s\" in the log:\n%s\n",
			what, log);
		dh_fail(__FILE__, __LINE__, what);
	}
}

static void check_status(int fd, uint32_t out, uint64_t files)
{
	struct luo_status st = { .size = sizeof(st) };

	dh_check_eq(luo_status(fd, &st), 0);
	dh_check_eq(st.nr_outgoing, out);
	dh_check_eq(st.nr_files, files);
}

/* A listening socket in the store: the daemon's own. */
static bool listener_stored(void *ctx)
{
	char *found = ctx;
	socklen_t len;
	int on;

	for (int i = 0; i < nr_store; i++) {
		len = sizeof(on);
		if (getsockopt(store[i].fd, SOL_SOCKET, SO_ACCEPTCONN, &on,
			       &len) || !on)
			continue;
		snprintf(found, 256, "%s", store[i].name);
		return true;
	}
	return false;
}

/* The unit stopped: systemd empties its store, and it is not ready. */
static void store_empty(void)
{
	pthread_mutex_lock(&lock);
	while (nr_store)
		store_lose(0);
	removed[0] = '\0';
	ready = false;
	pthread_mutex_unlock(&lock);
}

static void stop(pid_t vault)
{
	int r;

	dh_check(kill(vault, SIGTERM) == 0);
	dh_check(waitpid(vault, &r, 0) == vault);
	group = 0;
	dh_check(WIFEXITED(r) && WEXITSTATUS(r) == 0);
	store_empty();
}

static pid_t engine_of(int fd)
{
	struct luo_status st = { .size = sizeof(st) };

	dh_check_eq(luo_status(fd, &st), 0);
	return (pid_t)st.pid;
}

/* Files and connections lost, under a socket unit. */
static void files_and_connections(void)
{
	static char names[1][256], lost[2][256], log[65536];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int dev, ctl, sa_fd, sb_fd, sc_fd, m[4], want[5], r;
	struct before before;
	char name[64];
	uint64_t update;
	pid_t vault;

	/* liveupdated.socket. */
	lsock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	dh_check(lsock >= 0 &&
		 bind(lsock, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		 listen(lsock, 64) == 0);

	/* 1. The first start, and a client with everything in the store. */
	snprintf(names[0], sizeof(names[0]), "liveupdated.socket");
	vault = group = start_vault(bin, notify, path, &lsock, names, 1);
	notify_until(is_ready, NULL, "READY=1 at the first start");
	dev = luo_open_at(path, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	sa_fd = luo_create_session(dev, "partial-a");
	sb_fd = luo_create_session(dev, "partial-b");
	dh_check(sa_fd >= 0 && sb_fd >= 0);
	m[0] = memfd_with("the first file of a");
	m[1] = memfd_with("the second file of a");
	m[2] = memfd_with("the file of b");
	dh_check_eq(luo_session_preserve_fd(sa_fd, m[0], 1), 0);
	dh_check_eq(luo_session_preserve_fd(sa_fd, m[1], 2), 0);
	dh_check_eq(luo_session_preserve_fd(sb_fd, m[2], 3), 0);
	check_status(dev, 2, 3);
	want[0] = m[0];
	want[1] = m[1];
	want[2] = m[2];
	want[3] = lsock;
	want[4] = -1;
	notify_until(all_stored, want, "copy of every file in the store");

	/* 2. Every luo process dies; the store comes back without a:2. */
	pthread_mutex_lock(&lock);
	r = stored_index(m[1]);
	dh_check(r >= 0);
	snprintf(lost[0], sizeof(lost[0]), "%s", store[r].name);
	pthread_mutex_unlock(&lock);
	vault = restart_without(vault, engine_of(dev), lost, 1);

	/* The same connection, both sessions, a:1 and b:3 still held. */
	check_status(dev, 2, 2);
	dh_check_eq(luo_session_get_name(sa_fd, name, sizeof(name)), 0);
	dh_check(!strcmp(name, "partial-a"));
	dh_check_eq(luo_session_get_name(sb_fd, name, sizeof(name)), 0);
	dh_check(!strcmp(name, "partial-b"));
	dh_check_eq(luo_session_preserve_fd(sb_fd, m[0], 9), -EBUSY);
	read_log(log, sizeof(log));
	expect_log(log, "is not back");
	expect_log(log, "recovery: dropped file: session 'partial-a': token 2: fd ");
	expect_log(log, "; dropped 1 file and 0 connections whose fds were missing");

	/* 3. A control connection and a session "partial-c", then both lost. */
	snapshot(&before);
	ctl = luo_open_at(path, LUO_OPEN_CONTROL);
	dh_check(ctl >= 0);
	check_status(ctl, 2, 2);
	notify_until(new_socket, &before, "the control connection in the store");
	snprintf(lost[0], sizeof(lost[0]), "%s", before.found);
	snapshot(&before);
	sc_fd = luo_create_session(dev, "partial-c");
	dh_check(sc_fd >= 0);
	m[3] = memfd_with("the file of c");
	dh_check_eq(luo_session_preserve_fd(sc_fd, m[3], 4), 0);
	check_status(dev, 3, 3);
	notify_until(new_socket, &before, "the session connection in the store");
	snprintf(lost[1], sizeof(lost[1]), "%s", before.found);
	want[0] = m[3];
	want[1] = -1;
	notify_until(all_stored, want, "copy of c's file in the store");
	vault = restart_without(vault, engine_of(dev), lost, 2);

	/*
	 * Both connections are closed; "partial-c" went as its client's
	 * close would end it, its file unpreserved; the rest is served.
	 */
	check_status(dev, 2, 2);
	dh_check(luo_status(ctl, &(struct luo_status){
		.size = sizeof(struct luo_status) }) < 0);
	dh_check(luo_session_get_name(sc_fd, name, sizeof(name)) < 0);
	dh_check_eq(luo_session_get_name(sa_fd, name, sizeof(name)), 0);
	read_log(log, sizeof(log));
	expect_log(log, "recovery: dropped control connection ");
	expect_log(log, "recovery: dropped session connection ");
	expect_log(log, "session 'partial-c'");
	expect_log(log, "; dropped 0 files and 2 connections whose fds were missing");
	luo_close(ctl);
	luo_close(sc_fd);

	/* 4. A REBOOT hands over what is left, byte for byte. */
	dh_check_eq(luo_reboot(dev, -1, &update), 0);
	luo_close(sa_fd);
	luo_close(sb_fd);
	luo_close(dev);
	dev = luo_open_at(path, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	sa_fd = luo_retrieve_session(dev, "partial-a");
	sb_fd = luo_retrieve_session(dev, "partial-b");
	dh_check(sa_fd >= 0 && sb_fd >= 0);
	dh_check_eq(luo_retrieve_session(dev, "partial-c"), -ENOENT);
	r = luo_session_retrieve_fd(sa_fd, 1);
	dh_check(r >= 0);
	check_text(r, "the first file of a");
	close(r);
	dh_check_eq(luo_session_retrieve_fd(sa_fd, 2), -ENOENT);
	r = luo_session_retrieve_fd(sb_fd, 3);
	dh_check(r >= 0);
	check_text(r, "the file of b");
	close(r);
	dh_check_eq(luo_session_finish(sa_fd), 0);
	dh_check_eq(luo_session_finish(sb_fd), 0);
	luo_close(sa_fd);
	luo_close(sb_fd);
	luo_close(dev);
	for (int i = 0; i < 4; i++)
		close(m[i]);

	/* 5. A clean stop. */
	stop(vault);
	close(lsock);
	lsock = -1;
	unlink(path);
}

/* The daemon's own listening socket lost: a new one, as at a fresh start. */
static void listener(void)
{
	static char names[1][256], lost[1][256], log[65536];
	int dev, dev2, s, m, want[2];
	pid_t vault;

	vault = group = start_vault(bin, notify, path, NULL, names, 0);
	notify_until(is_ready, NULL, "READY=1 without a socket unit");
	dev = luo_open_at(path, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	s = luo_create_session(dev, "partial-l");
	dh_check(s >= 0);
	m = memfd_with("the file of l");
	dh_check_eq(luo_session_preserve_fd(s, m, 1), 0);
	check_status(dev, 1, 1);
	want[0] = m;
	want[1] = -1;
	notify_until(all_stored, want, "copy of l's file in the store");
	notify_until(listener_stored, lost[0], "the listening socket in the store");
	vault = restart_without(vault, engine_of(dev), lost, 1);

	check_status(dev, 1, 1);
	dev2 = luo_open_at(path, LUO_OPEN_CONTROL);
	dh_check(dev2 >= 0);
	check_status(dev2, 1, 1);
	read_log(log, sizeof(log));
	expect_log(log, "recovery: dropped listening socket: listen-fd: fd ");
	expect_log(log, "recovery: making a new listening socket");
	expect_log(log, "recovered update 1 after a crash in ");
	luo_close(dev2);
	luo_close(s);
	luo_close(dev);
	close(m);
	stop(vault);
	unlink(path);
}

int main(void)
{
	struct standin_unit u;

	bin = dh_binary();
	/* systemd's notify socket; the daemon makes its own listener. */
	standin_unit_make(&u, "partial", false);
	snprintf(notify, sizeof(notify), "%s", u.notify);
	snprintf(path, sizeof(path), "%s", u.path);
	snprintf(logpath, sizeof(logpath), "%.63s/log", u.dir);

	files_and_connections();
	listener();

	unlink(logpath);
	standin_unit_remove(&u);
	printf("test-recover-partial: PASS\n");
	return DH_PASS;
}
