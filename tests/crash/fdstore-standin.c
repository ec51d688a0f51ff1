// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The stand-in for systemd's notify socket, fd store and restarts
 * (fdstore-standin.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/kcmp.h>

#include "daemon-harness.h"
#include "fdstore-standin.h"

struct entry store[MAX_STORED];
int nr_store;
int notify_fd;
bool ready;
pid_t mainpid;
char removed[4096];
unsigned int barriers;
pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
pid_t group;
const char *store_max = STORE_MAX;
const char *fdstore_timeout;

static bool same_file(int a, int b)
{
	pid_t pid = getpid();

	return syscall(SYS_kcmp, pid, pid, KCMP_FILE, a, b) == 0;
}

/**
 * store_add() - FDSTORE=1: keep @fd under @name, as systemd does
 * @fd:   the fd received; the store's now (closed if a duplicate)
 * @name: its FDNAME=
 *
 * A second store of one open file description is ignored.  Called with
 * @lock held.
 */
void store_add(int fd, const char *name)
{
	for (int i = 0; i < nr_store; i++) {
		if (same_file(store[i].fd, fd)) {
			close(fd);	/* systemd: "Suppressing duplicate" */
			return;
		}
	}
	dh_check(nr_store < MAX_STORED);
	store[nr_store].fd = fd;
	snprintf(store[nr_store].name, sizeof(store[0].name), "%s", name);
	nr_store++;
}

static void store_remove(const char *name)
{
	int i = 0;

	strncat(removed, name, sizeof(removed) - strlen(removed) - 2);
	strcat(removed, " ");
	while (i < nr_store) {
		if (strcmp(store[i].name, name)) {
			i++;
			continue;
		}
		close(store[i].fd);
		store[i] = store[--nr_store];
	}
}

static const char *field(const char *msg, const char *key, char *buf,
			 size_t len)
{
	const char *p = strstr(msg, key);
	size_t n;

	if (!p || (p != msg && p[-1] != '\n'))
		return NULL;
	p += strlen(key);
	n = strcspn(p, "\n");
	if (n >= len)
		n = len - 1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return buf;
}

/* One datagram from the daemon, handled as systemd would. */
static void notify_one(void)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 16)];
		struct cmsghdr align;
	} u;
	char msg[4096], name[256];
	struct iovec iov = { .iov_base = msg, .iov_len = sizeof(msg) - 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	int fds[16], nfds = 0;
	struct cmsghdr *cm;
	/* Not blocking: a test holding @lock may have read it itself. */
	ssize_t n = recvmsg(notify_fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);

	if (n < 0 && errno == EAGAIN)
		return;
	dh_check(n >= 0);
	msg[n] = '\0';
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_type != SCM_RIGHTS)
			continue;
		nfds = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		memcpy(fds, CMSG_DATA(cm), (size_t)nfds * sizeof(int));
	}
	if (strstr(msg, "READY=1"))
		ready = true;
	if (field(msg, "MAINPID=", name, sizeof(name)))
		mainpid = (pid_t)atoi(name);
	/*
	 * sd_notify_barrier(): the fd is closed once every earlier message
	 * is processed, which they are, in order, before this one.
	 */
	if (field(msg, "BARRIER=", name, sizeof(name))) {
		dh_check(!strcmp(name, "1"));
		dh_check_eq(nfds, 1);
		close(fds[0]);
		barriers++;
		return;
	}
	if (field(msg, "FDSTORE=", name, sizeof(name))) {
		dh_check(!strcmp(name, "1"));
		/* Connections must stay while the records name them. */
		dh_check(field(msg, "FDPOLL=", name, sizeof(name)) &&
			 !strcmp(name, "0"));
		dh_check(field(msg, "FDNAME=", name, sizeof(name)));
		dh_check(!strchr(name, ':'));
		dh_check_eq(nfds, 1);
		store_add(fds[0], name);
		return;
	}
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	if (field(msg, "FDSTOREREMOVE=", name, sizeof(name))) {
		dh_check(field(msg, "FDNAME=", name, sizeof(name)));
		store_remove(name);
	}
}

/**
 * stored_index() - the entry that holds @fd's open file description
 * @fd: any fd of the test
 *
 * Called with @lock held.
 *
 * Return: its index in @store, or -1.
 */
int stored_index(int fd)
{
	for (int i = 0; i < nr_store; i++)
		if (same_file(store[i].fd, fd))
			return i;
	return -1;
}

/**
 * store_lose() - entry @i is lost, as if the manager had lost it
 * @i: its index in @store
 *
 * Closed and gone, without an FDSTOREREMOVE=1 in @removed.  Called with
 * @lock held.
 */
void store_lose(int i)
{
	dh_check(i >= 0 && i < nr_store);
	close(store[i].fd);
	store[i] = store[--nr_store];
}

/**
 * stored_as() - is an entry named @name in the store?
 * @name: an FDNAME=
 *
 * Called with @lock held.
 *
 * Return: true if it is.
 */
bool stored_as(const char *name)
{
	for (int i = 0; i < nr_store; i++)
		if (!strcmp(store[i].name, name))
			return true;
	return false;
}

/**
 * reader() - the manager's end of the notify socket, on a thread
 * @arg: unused
 *
 * Takes every message in order, as systemd does, and wakes @changed.
 *
 * Return: never.
 */
void *reader(void *arg)
{
	struct pollfd p = { .fd = notify_fd, .events = POLLIN };

	(void)arg;
	for (;;) {
		if (poll(&p, 1, -1) <= 0)
			continue;
		pthread_mutex_lock(&lock);
		notify_one();
		pthread_cond_broadcast(&changed);
		pthread_mutex_unlock(&lock);
	}
	return NULL;
}

/**
 * notify_until() - wait until @done says so (under @lock)
 * @done: the condition, given @ctx
 * @ctx:  for @done
 * @what: what is waited for, for the failure message
 *
 * Fails the test after DEADLINE_MS.
 */
void notify_until(bool (*done)(void *), void *ctx, const char *what)
{
	struct timespec end;
	int r = 0;

	clock_gettime(CLOCK_REALTIME, &end);
	end.tv_sec += DEADLINE_MS / 1000;
	pthread_mutex_lock(&lock);
	while (!done(ctx) && r != ETIMEDOUT)
		r = pthread_cond_timedwait(&changed, &lock, &end);
	if (!done(ctx)) {
		fprintf(stderr, "fdstore stand-in: no %s\n", what);
		dh_fail(__FILE__, __LINE__, what);
	}
	pthread_mutex_unlock(&lock);
}

/**
 * is_ready() - for notify_until(): READY=1 was said
 * @ctx: unused
 *
 * Return: @ready.
 */
bool is_ready(void *ctx)
{
	(void)ctx;
	return ready;
}

/**
 * all_stored() - for notify_until(): every fd of @ctx is in the store
 * @ctx: an array of fds ended by -1
 *
 * Return: true if each one's open file description is stored.
 */
bool all_stored(void *ctx)
{
	const int *fds = ctx;

	for (; *fds >= 0; fds++) {
		int i;

		for (i = 0; i < nr_store; i++)
			if (same_file(store[i].fd, *fds))
				break;
		if (i == nr_store)
			return false;
	}
	return true;
}

/**
 * start_vault() - the vault, as systemd starts it
 * @bin:    liveupdated
 * @notify: NOTIFY_SOCKET
 * @path:   its --socket
 * @fds:    the fds to pass, at 3 and on (LISTEN_FDS)
 * @names:  their names (LISTEN_FDNAMES)
 * @nr:     their number
 *
 * In a process group of its own, so that one kill takes vault and engine.
 *
 * Return: its pid.
 */
pid_t start_vault(const char *bin, const char *notify, const char *path,
		  const int *fds, char names[][256], int nr)
{
	return start_vault_logged(bin, notify, path, fds, names, nr, -1);
}

/**
 * start_vault_logged() - start_vault(), its stderr into a file
 * @bin:    liveupdated
 * @notify: NOTIFY_SOCKET
 * @path:   its --socket
 * @fds:    the fds to pass, at 3 and on (LISTEN_FDS)
 * @names:  their names (LISTEN_FDNAMES)
 * @nr:     their number
 * @log_fd: its stderr and its engines', or -1 for the test's
 *
 * Return: its pid.
 */
pid_t start_vault_logged(const char *bin, const char *notify,
			 const char *path, const int *fds, char names[][256],
			 int nr, int log_fd)
{
	char num[16], joined[4096] = "";
	pid_t pid;
	int i, high[MAX_STORED + 1];

	for (i = 0; i < nr; i++) {
		if (i)
			strcat(joined, ":");
		strcat(joined, names[i]);
	}
	pid = fork();
	dh_check(pid >= 0);
	if (pid)
		return pid;
	setpgid(0, 0);
	if (log_fd >= 0 && dup2(log_fd, 2) < 0)
		_exit(120);
	for (i = 0; i < nr; i++)
		high[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 200);
	for (i = 0; i < nr; i++)
		if (dup2(high[i], 3 + i) < 0)
			_exit(120);
	/* As systemd: no LISTEN_* at all without an fd to pass. */
	if (nr) {
		snprintf(num, sizeof(num), "%d", nr);
		setenv("LISTEN_FDS", num, 1);
		snprintf(num, sizeof(num), "%d", (int)getpid());
		setenv("LISTEN_PID", num, 1);
		setenv("LISTEN_FDNAMES", joined, 1);
	}
	setenv("NOTIFY_SOCKET", notify, 1);
	setenv("FDSTORE", store_max, 1);
	/* --socket: never the machine's own, whatever goes wrong. */
	if (fdstore_timeout)
		execl(bin, bin, "--vault", "--socket", path, "--fdstore-timeout",
		      fdstore_timeout, (char *)NULL);
	execl(bin, bin, "--vault", "--socket", path, (char *)NULL);
	_exit(127);
}

/**
 * memfd_with() - a memfd holding @text
 * @text: its bytes
 *
 * Return: the fd.
 */
int memfd_with(const char *text)
{
	int fd = memfd_create("fdstore-test", MFD_CLOEXEC);

	dh_check(fd >= 0);
	dh_check_eq(pwrite(fd, text, strlen(text), 0), (ssize_t)strlen(text));
	return fd;
}

/**
 * check_text() - @fd holds exactly @text, or the test fails
 * @fd:   a file
 * @text: the bytes expected
 */
void check_text(int fd, const char *text)
{
	char buf[64] = "";

	dh_check(pread(fd, buf, sizeof(buf) - 1, 0) >= 0);
	dh_check(!strcmp(buf, text));
}

/**
 * kill_group() - at exit: kill the vault's process group if it runs
 */
void kill_group(void)
{
	if (group > 0)
		kill(-group, SIGKILL);
}

/**
 * kill_all() - kill every luo process at once (the vault's process group)
 * @vault:  the vault, waited for until gone
 * @engine: its engine, waited for until gone
 * @child:  reaped if it is ours (> 0)
 */
void kill_all(pid_t vault, pid_t engine, pid_t child)
{
	int status;

	dh_check(kill(-group, SIGKILL) == 0);
	if (child > 0) {
		dh_check(waitpid(child, &status, 0) == child);
		dh_check(WIFSIGNALED(status));
	}
	dh_wait_gone(vault, DEADLINE_MS);
	dh_wait_gone(engine, DEADLINE_MS);
	group = 0;
}

/**
 * store_passed() - before a restart: what systemd passes
 * @lsock: the socket unit's listening socket, passed first
 * @fds:   out: the fds, the store's own
 * @names: out: their names
 *
 * Called with @lock held.
 *
 * Return: their number.
 */
int store_passed(int lsock, int *fds, char names[][256])
{
	int nr = 0;

	fds[nr] = lsock;
	snprintf(names[nr++], 256, "liveupdated.socket");
	for (int i = 0; i < nr_store; i++) {
		fds[nr] = store[i].fd;
		snprintf(names[nr++], 256, "%s", store[i].name);
	}
	return nr;
}

static struct standin_unit made;

static void remove_made(void)
{
	if (made.dir[0])
		standin_unit_remove(&made);
}

/**
 * standin_unit_make() - a unit's place, and the manager's notify socket
 * @u:        out: where it is
 * @tag:      part of the directory's name
 * @listener: make the socket unit's listener too (@u->lsock; else -1)
 *
 * A directory under $TMPDIR (if short enough for sun_path) or /tmp, the
 * notify socket there (notify_fd), read by reader() on a thread of its
 * own from now on; SIGPIPE ignored; at exit, every luo process of the
 * test's (group) killed and the place removed, whether the test passed
 * or not.
 */
void standin_unit_make(struct standin_unit *u, const char *tag, bool listener)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *tmp = getenv("TMPDIR");
	pthread_t th;

	signal(SIGPIPE, SIG_IGN);
	snprintf(u->dir, sizeof(u->dir), "%s/luo-%s-XXXXXX",
		 tmp && *tmp && strlen(tmp) < 40 ? tmp : "/tmp", tag);
	dh_check(mkdtemp(u->dir));
	snprintf(u->notify, sizeof(u->notify), "%.63s/notify", u->dir);
	snprintf(u->path, sizeof(u->path), "%.63s/liveupdate.sock", u->dir);
	notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", u->notify);
	dh_check(notify_fd >= 0 &&
		 bind(notify_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	u->lsock = -1;
	if (listener) {
		u->lsock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", u->path);
		dh_check(u->lsock >= 0 &&
			 bind(u->lsock, (struct sockaddr *)&sa,
			      sizeof(sa)) == 0 &&
			 listen(u->lsock, 64) == 0);
	}
	/* At exit, failed or not: the processes first (LIFO), then this. */
	made = *u;
	atexit(remove_made);
	atexit(kill_group);
	dh_check(pthread_create(&th, NULL, reader, NULL) == 0);
}

/**
 * standin_unit_remove() - the unit's place goes: its sockets' files and
 * directory (a test removes what else it put there first)
 * @u: what standin_unit_make() made
 */
void standin_unit_remove(const struct standin_unit *u)
{
	unlink(u->path);
	unlink(u->notify);
	rmdir(u->dir);
}
