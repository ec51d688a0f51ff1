// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The vault's copies in a service manager's fd store (liveupdated(8),
 * "SYSTEMD", "The vault and the fd store"), against a small stand-in for
 * systemd: the test is the notify socket (FDSTORE=1 kept by open file
 * description as systemd does, a second store of one ignored,
 * FDSTOREREMOVE=1 by name) and the socket unit (the listening socket,
 * passed as LISTEN_FDS with the name "liveupdated.socket").
 *
 * liveupdated --vault runs with NOTIFY_SOCKET and FDSTORE; a client keeps
 * two sessions with a memfd each, and its device connection.  Once the
 * store holds every description the client gave, vault and engine are
 * killed together (SIGKILL to their process group), and a new vault is
 * started as systemd restarts a unit: the listening socket first, then
 * every stored fd with its name, and one stale entry no map names.  It
 * must say READY=1, remove the stale entry, leave the socket's entry
 * alone, and serve the same client connection with both sessions; after
 * a REBOOT the files come back byte for byte.
 *
 * Then the vault alone is killed: the vault its engine starts cannot know
 * the store's IDs; it must leave the store alone and say READY=1 with
 * its pid.  When every luo process dies after that with nothing changed
 * in between (systemd's kill of a cgroup, one process after the other,
 * can look like this), the store as the first vault left it still
 * recovers everything.
 *
 * The stand-in reads its notify socket all the time on a thread of its
 * own, as systemd does: the vault waits for the manager to take each
 * message.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/kcmp.h>

#include <luo/libluo.h>
#include <luo/luo-ext.h>

#include "daemon-harness.h"

#define MAX_STORED	64
#define STORE_MAX	"64"
#define DEADLINE_MS	20000

struct entry {
	int fd;
	char name[256];
};

static struct entry store[MAX_STORED];
static int nr_store;
static int notify_fd;
static bool ready;
static pid_t mainpid;
static char removed[4096];
/* The store and the flags above, between the reader and the test. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;

static bool same_file(int a, int b)
{
	pid_t pid = getpid();

	return syscall(SYS_kcmp, pid, pid, KCMP_FILE, a, b) == 0;
}

static void store_add(int fd, const char *name)
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
	ssize_t n = recvmsg(notify_fd, &mh, MSG_CMSG_CLOEXEC);

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

static bool stored_as(const char *name)
{
	for (int i = 0; i < nr_store; i++)
		if (!strcmp(store[i].name, name))
			return true;
	return false;
}

static void *reader(void *arg)
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

/* Until @done says so (under the lock), for at most DEADLINE_MS. */
static void notify_until(bool (*done)(void *), void *ctx, const char *what)
{
	struct timespec end;
	int r = 0;

	clock_gettime(CLOCK_REALTIME, &end);
	end.tv_sec += DEADLINE_MS / 1000;
	pthread_mutex_lock(&lock);
	while (!done(ctx) && r != ETIMEDOUT)
		r = pthread_cond_timedwait(&changed, &lock, &end);
	if (!done(ctx)) {
		fprintf(stderr, "test-fdstore: no %s\n", what);
		dh_fail(__FILE__, __LINE__, what);
	}
	pthread_mutex_unlock(&lock);
}

static bool is_ready(void *ctx)
{
	(void)ctx;
	return ready;
}

/* Every fd of @ctx (-1 ended) is in the store. */
static bool all_stored(void *ctx)
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

/*
 * The vault, as systemd starts it: @nr fds at 3.. named @names, its own
 * process group (so that one kill takes vault and engine).
 */
static pid_t start_vault(const char *bin, const char *notify,
			 const char *path, const int *fds, char names[][256],
			 int nr)
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
	for (i = 0; i < nr; i++)
		high[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 200);
	for (i = 0; i < nr; i++)
		if (dup2(high[i], 3 + i) < 0)
			_exit(120);
	snprintf(num, sizeof(num), "%d", nr);
	setenv("LISTEN_FDS", num, 1);
	snprintf(num, sizeof(num), "%d", (int)getpid());
	setenv("LISTEN_PID", num, 1);
	setenv("LISTEN_FDNAMES", joined, 1);
	setenv("NOTIFY_SOCKET", notify, 1);
	setenv("FDSTORE", STORE_MAX, 1);
	/* --socket: never the machine's own, whatever goes wrong. */
	execl(bin, bin, "--vault", "--socket", path, (char *)NULL);
	_exit(127);
}

static int memfd_with(const char *text)
{
	int fd = memfd_create("fdstore-test", MFD_CLOEXEC);

	dh_check(fd >= 0);
	dh_check_eq(pwrite(fd, text, strlen(text), 0), (ssize_t)strlen(text));
	return fd;
}

static void check_text(int fd, const char *text)
{
	char buf[64] = "";

	dh_check(pread(fd, buf, sizeof(buf) - 1, 0) >= 0);
	dh_check(!strcmp(buf, text));
}

/* The vault's process group, while it runs: killed if the test fails. */
static pid_t group;

static void kill_group(void)
{
	if (group > 0)
		kill(-group, SIGKILL);
}

/*
 * Kill every luo process at once (the vault's process group); wait for
 * the engine and for @vault, and reap @child if it is ours.
 */
static void kill_all(pid_t vault, pid_t engine, pid_t child)
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

/* Before a restart: what the store holds now, as systemd passes it. */
static int store_passed(int lsock, int *fds, char names[][256])
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

int main(void)
{
	const char *bin = dh_binary(), *tmp = getenv("TMPDIR");
	static char names[MAX_STORED + 2][256];
	int fds[MAX_STORED + 2], want[8], dev, s[2], m[2], lsock, stale, r;
	char dir[64], notify[96], path[96];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct luo_status st = { .size = sizeof(st) };
	uint64_t update;
	pid_t vault;
	int nr;

	signal(SIGPIPE, SIG_IGN);
	/* A socket path must fit sun_path: a short $TMPDIR or /tmp. */
	snprintf(dir, sizeof(dir), "%s/luo-fdstore-XXXXXX",
		 tmp && *tmp && strlen(tmp) < 40 ? tmp : "/tmp");
	dh_check(mkdtemp(dir));
	snprintf(notify, sizeof(notify), "%.63s/notify", dir);
	snprintf(path, sizeof(path), "%.63s/liveupdate.sock", dir);

	/* systemd's notify socket and liveupdated.socket. */
	notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", notify);
	dh_check(notify_fd >= 0 &&
		 bind(notify_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	lsock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	dh_check(lsock >= 0 &&
		 bind(lsock, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		 listen(lsock, 64) == 0);

	pthread_t th;

	atexit(kill_group);
	dh_check(pthread_create(&th, NULL, reader, NULL) == 0);

	/* 1. The first start: the socket alone. */
	fds[0] = lsock;
	snprintf(names[0], sizeof(names[0]), "liveupdated.socket");
	vault = group = start_vault(bin, notify, path, fds, names, 1);
	notify_until(is_ready, NULL, "READY=1 at the first start");
	pthread_mutex_lock(&lock);
	dh_check(stored_as("luovault-records") && stored_as("luovault-map"));
	pthread_mutex_unlock(&lock);

	/* 2. A client: its connection, two sessions with a memfd each. */
	dev = luo_open_at(path, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	s[0] = luo_create_session(dev, "fdstore-a");
	s[1] = luo_create_session(dev, "fdstore-b");
	dh_check(s[0] >= 0 && s[1] >= 0);
	m[0] = memfd_with("the first file");
	m[1] = memfd_with("the second file");
	dh_check_eq(luo_session_preserve_fd(s[0], m[0], 1), 0);
	dh_check_eq(luo_session_preserve_fd(s[1], m[1], 2), 0);
	dh_check_eq(luo_status(dev, &st), 0);
	want[0] = m[0];
	want[1] = m[1];
	want[2] = lsock;
	want[3] = -1;
	notify_until(all_stored, want, "copy of every file in the store");

	/* 3. Every luo process dies at once. */
	kill_all(vault, (pid_t)st.pid, vault);

	/* 4. systemd restarts the unit with its store, and a stale entry. */
	pthread_mutex_lock(&lock);
	nr = store_passed(lsock, fds, names);
	stale = eventfd(0, EFD_CLOEXEC);
	fds[nr] = stale;
	snprintf(names[nr++], sizeof(names[0]), "luovault-999999");
	store_add(stale, "luovault-999999");
	ready = false;
	vault = group = start_vault(bin, notify, path, fds, names, nr);
	pthread_mutex_unlock(&lock);
	notify_until(is_ready, NULL, "READY=1 after the restart");
	pthread_mutex_lock(&lock);
	dh_check(strstr(removed, "luovault-999999 "));
	dh_check(!strstr(removed, "liveupdated.socket"));
	dh_check(!strstr(removed, "luovault-records "));
	dh_check(!strstr(removed, "luovault-map "));
	pthread_mutex_unlock(&lock);

	/* 5. The same connection, both sessions, the same files. */
	dh_check_eq(luo_status(dev, &st), 0);
	dh_check_eq(st.nr_outgoing, 2);
	dh_check_eq(st.nr_files, 2);
	r = luo_reboot(dev, -1, &update);
	dh_check_eq(r, 0);
	luo_close(s[0]);
	luo_close(s[1]);
	luo_close(dev);
	dev = luo_open_at(path, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	s[0] = luo_retrieve_session(dev, "fdstore-a");
	s[1] = luo_retrieve_session(dev, "fdstore-b");
	dh_check(s[0] >= 0 && s[1] >= 0);
	r = luo_session_retrieve_fd(s[0], 1);
	dh_check(r >= 0);
	check_text(r, "the first file");
	close(r);
	r = luo_session_retrieve_fd(s[1], 2);
	dh_check(r >= 0);
	check_text(r, "the second file");
	close(r);
	dh_check_eq(luo_session_finish(s[0]), 0);
	dh_check_eq(luo_session_finish(s[1]), 0);
	luo_close(s[0]);
	luo_close(s[1]);
	luo_close(dev);

	/* 6. The vault alone dies; the engine starts a new one. */
	close(m[0]);
	dev = luo_open_at(path, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	s[0] = luo_create_session(dev, "fdstore-c");
	dh_check(s[0] >= 0);
	m[0] = memfd_with("the third file");
	dh_check_eq(luo_session_preserve_fd(s[0], m[0], 3), 0);
	dh_check_eq(luo_status(dev, &st), 0);
	want[0] = m[0];
	want[1] = -1;
	notify_until(all_stored, want, "copy of the third file in the store");
	pthread_mutex_lock(&lock);
	ready = false;
	mainpid = 0;
	removed[0] = '\0';
	pthread_mutex_unlock(&lock);
	dh_check(kill(vault, SIGKILL) == 0);
	dh_check(waitpid(vault, &r, 0) == vault);
	notify_until(is_ready, NULL, "READY=1 from the vault the engine started");
	pthread_mutex_lock(&lock);
	dh_check(!removed[0]);
	dh_check(mainpid > 0 && mainpid != vault);
	pthread_mutex_unlock(&lock);
	dh_check_eq(luo_status(dev, &st), 0);
	dh_check_eq(st.nr_outgoing, 1);

	/* 7. Then every luo process at once: the store still serves. */
	kill_all(mainpid, (pid_t)st.pid, 0);
	pthread_mutex_lock(&lock);
	nr = store_passed(lsock, fds, names);
	ready = false;
	removed[0] = '\0';
	vault = group = start_vault(bin, notify, path, fds, names, nr);
	pthread_mutex_unlock(&lock);
	notify_until(is_ready, NULL, "READY=1 after the second restart");
	dh_check_eq(luo_status(dev, &st), 0);
	dh_check_eq(st.nr_outgoing, 1);
	dh_check_eq(st.nr_files, 1);
	luo_close(s[0]);
	luo_close(dev);

	/* 8. A clean stop. */
	dh_check(kill(vault, SIGTERM) == 0);
	dh_check(waitpid(vault, &r, 0) == vault);
	group = 0;
	dh_check(WIFEXITED(r) && WEXITSTATUS(r) == 0);
	unlink(path);
	unlink(notify);
	rmdir(dir);
	printf("test-fdstore: PASS\n");
	return DH_PASS;
}
