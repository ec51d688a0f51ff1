// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * luo-listen against a private liveupdated, with listen-svc (a tiny
 * socket-activated HTTP server) as the service and http-load as clients:
 *
 *  - the service gets LISTEN_FDS, LISTEN_PID (its own pid), LISTEN_FDNAMES
 *    and its sockets at fds 3 and up without close-on-exec, nothing else;
 *  - ten restarts under load: the same sockets every time, no connection
 *    refused, reset or failed;
 *  - the service and the watcher killed together: a client connecting
 *    while nothing runs waits in the backlog and is answered by the next
 *    start;
 *  - a REBOOT of liveupdated while the service runs, then a restart under
 *    load: the same sockets, nothing refused; the same with the restart
 *    at once, before the watcher has parked the sockets again;
 *  - an UPGRADE of liveupdated while the service runs: the session stays
 *    held, and the next start finds the same sockets;
 *  - a crash of liveupdated's engine (kill -9; its vault recovers it)
 *    while the service runs under load and between two starts: the same;
 *  - a changed command line fails and leaves the session intact;
 *  - a second instance waits for the first to exit, or fails after
 *    --timeout;
 *  - a user's service: the session is that user's, the sockets outlive a
 *    restart, another user's luo-listen of the same name cannot reach
 *    them.
 *
 * $LUO_LISTEN, $LISTEN_SVC and $HTTP_LOAD name the programs.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "daemon-harness.h"
#include "testusers.h"

#define LINE_TIMEOUT_MS	20000
#define RESTARTS	10
#define CLIENTS		8

static struct dh_daemon d;
static const char *listen_bin, *svc_bin, *load_bin;
/* The daemon luo-listen talks to, and the user it runs as (NULL: root). */
static const char *sock;
static const struct tu_user *run_as;

/* A luo-listen run: its pid (the service's once it execs), its output. */
struct svc {
	pid_t pid;
	int out;	/* the service's stdout */
	int err;	/* stderr of luo-listen, the service and the watcher */
};

/*
 * The process groups of the runs not stopped yet: a failing check exits
 * the test, and the services and watchers must not outlive it.
 */
#define MAX_RUNS	8
static pid_t runs[MAX_RUNS];

static void runs_kill(void)
{
	for (int i = 0; i < MAX_RUNS; i++)
		if (runs[i] > 0)
			kill(-runs[i], SIGKILL);
}

static void runs_track(pid_t group, bool on)
{
	for (int i = 0; i < MAX_RUNS; i++) {
		if (on ? runs[i] == 0 : runs[i] == group) {
			runs[i] = on ? group : 0;
			return;
		}
	}
}

/* Starts luo-listen NAME with @opts (NULL-terminated) then the service. */
static void svc_start(struct svc *s, const char *name,
		      const char *const *opts)
{
	const char *argv[32];
	int out[2], err[2], n = 0;

	argv[n++] = listen_bin;
	argv[n++] = "--socket";
	argv[n++] = sock;
	argv[n++] = "--name";
	argv[n++] = name;
	while (*opts)
		argv[n++] = *opts++;
	argv[n++] = "--";
	argv[n++] = svc_bin;
	argv[n] = NULL;
	dh_check_eq(pipe2(out, O_CLOEXEC), 0);
	dh_check_eq(pipe2(err, O_CLOEXEC), 0);
	s->pid = fork();
	dh_check(s->pid >= 0);
	if (!s->pid) {
		/* Its own group: the service and its watcher, killable. */
		setpgid(0, 0);
		if (dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
			_exit(126);
		if (run_as && (initgroups(run_as->name, run_as->gid) < 0 ||
			       setgid(run_as->gid) < 0 ||
			       setuid(run_as->uid) < 0))
			_exit(126);
		execv(listen_bin, (char *const *)argv);
		_exit(127);
	}
	setpgid(s->pid, s->pid);
	runs_track(s->pid, true);
	close(out[1]);
	close(err[1]);
	s->out = out[0];
	s->err = err[0];
}

/* One line from @fd, or -1 at its end or after LINE_TIMEOUT_MS. */
static int read_line(int fd, char *buf, size_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t n = 0;

	while (n < len - 1) {
		if (poll(&p, 1, LINE_TIMEOUT_MS) != 1 ||
		    read(fd, buf + n, 1) != 1)
			return -1;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	return (int)n;
}

/* The watcher: the process of @pgid's group that is not @pgid. */
static pid_t find_watcher(pid_t pgid)
{
	DIR *proc = opendir("/proc");
	struct dirent *e;
	pid_t found = 0;

	dh_check(proc != NULL);
	while (!found && (e = readdir(proc))) {
		char path[64], buf[512], *p;
		int pgrp = 0;
		FILE *f;

		if (e->d_name[0] < '0' || e->d_name[0] > '9' ||
		    atoi(e->d_name) == pgid)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", atoi(e->d_name));
		f = fopen(path, "re");
		if (!f)
			continue;
		p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
		fclose(f);
		if (p && sscanf(p, ") %*c %*d %d", &pgrp) == 1 && pgrp == pgid)
			found = atoi(e->d_name);
	}
	closedir(proc);
	return found;
}

/* Waits for the service's "ready" line; checks LISTEN_PID was its pid. */
static void svc_ready(struct svc *s, int nfds, const char *names)
{
	char line[256], want[256];

	if (read_line(s->out, line, sizeof(line)) < 0) {
		fprintf(stderr, "the service did not start\n");
		dh_check(0);
	}
	snprintf(want, sizeof(want), "ready %d %d %s", (int)s->pid, nfds,
		 names);
	if (strcmp(line, want))
		fprintf(stderr, "got \"%s\", want \"%s\"\n", line, want);
	dh_check(!strcmp(line, want));
	/* Started before the exec, the watcher runs by now. */
	dh_check(find_watcher(s->pid) > 0);
}

/* Reads stderr until a line has @needle; every line is echoed. */
static void svc_expect(struct svc *s, const char *needle)
{
	char line[512];

	for (;;) {
		dh_check(read_line(s->err, line, sizeof(line)) >= 0);
		fprintf(stderr, "  | %s\n", line);
		if (strstr(line, needle))
			return;
	}
}

/*
 * Sends @sig (SIGKILL to the whole group: the service and its watcher),
 * reaps, closes the pipes; after a SIGTERM, waits for the watcher to
 * exit too, as it must once the service has.  Returns the wait status.
 */
static int svc_stop(struct svc *s, int sig)
{
	pid_t watcher = sig == SIGTERM ? find_watcher(s->pid) : 0;
	int pidfd = -1, status;

	if (watcher) {
		pidfd = (int)syscall(SYS_pidfd_open, watcher, 0);
		dh_check(pidfd >= 0);
	}
	if (sig)
		dh_check_eq(kill(sig == SIGKILL ? -s->pid : s->pid, sig), 0);
	dh_check_eq(waitpid(s->pid, &status, 0), s->pid);
	runs_track(s->pid, false);
	if (pidfd >= 0) {
		struct pollfd p = { .fd = pidfd, .events = POLLIN };

		dh_check_eq(poll(&p, 1, LINE_TIMEOUT_MS), 1);
		close(pidfd);
	}
	close(s->out);
	close(s->err);
	return status;
}

/* A run that must fail with exit code @code; stderr must have @needle. */
static void svc_fails(const char *name, const char *const *opts,
		      const char *needle, int code)
{
	struct svc s;
	int status;

	svc_start(&s, name, opts);
	svc_expect(&s, needle);
	status = svc_stop(&s, 0);
	dh_check(WIFEXITED(status));
	dh_check_eq(WEXITSTATUS(status), code);
}

/* A run that luo-listen itself refuses (exit code 125). */
static void svc_refused(const char *name, const char *const *opts,
			const char *needle)
{
	svc_fails(name, opts, needle, 125);
}

static unsigned long socket_inode(pid_t pid, int fd)
{
	char path[64], link[64];
	unsigned long ino = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
	n = readlink(path, link, sizeof(link) - 1);
	dh_check(n > 0);
	link[n] = '\0';
	dh_check_eq(sscanf(link, "socket:[%lu]", &ino), 1);
	return ino;
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	dh_check(fd >= 0);
	dh_check_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	dh_check_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* Connects to 127.0.0.1:@port and sends a request; returns the socket. */
static int http_send(int port)
{
	static const char req[] = "GET / HTTP/1.0\r\n\r\n";
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	dh_check(fd >= 0);
	dh_check_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	dh_check_eq(write(fd, req, sizeof(req) - 1), sizeof(req) - 1);
	return fd;
}

/* Reads the answer to http_send(): must be the service's 200. */
static void http_answered(int fd)
{
	char buf[256];
	size_t have = 0;
	ssize_t n;

	while ((n = read(fd, buf + have, sizeof(buf) - 1 - have)) > 0)
		have += (size_t)n;
	buf[have] = '\0';
	close(fd);
	dh_check(!strncmp(buf, "HTTP/1.0 200 OK", 15));
	dh_check(strstr(buf, "\r\n\r\nok\n") != NULL);
}

struct load {
	pid_t pid;
	int out;
};

static void load_start(struct load *l, int port)
{
	char sport[16], sclients[16];
	int p[2];

	snprintf(sport, sizeof(sport), "%d", port);
	snprintf(sclients, sizeof(sclients), "%d", CLIENTS);
	dh_check_eq(pipe2(p, O_CLOEXEC), 0);
	l->pid = fork();
	dh_check(l->pid >= 0);
	if (!l->pid) {
		dup2(p[1], 1);
		execl(load_bin, load_bin, "127.0.0.1", sport, sclients,
		      (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	l->out = p[0];
}

/* Stops the clients: every request answered, none refused or failed. */
static void load_stop_clean(struct load *l)
{
	unsigned long req, refused, reset, failed;
	char line[256];
	int status;

	dh_check_eq(kill(l->pid, SIGTERM), 0);
	dh_check(read_line(l->out, line, sizeof(line)) > 0);
	dh_check_eq(waitpid(l->pid, &status, 0), l->pid);
	close(l->out);
	fprintf(stderr, "  load: %s\n", line);
	dh_check_eq(sscanf(line, "requests=%lu refused=%lu reset=%lu "
			   "failed=%lu", &req, &refused, &reset, &failed), 4);
	dh_check(req > 0);
	dh_check_eq(refused, 0);
	dh_check_eq(reset, 0);
	dh_check_eq(failed, 0);
}

static const char *spec(char *buf, size_t len, int port, const char *name)
{
	snprintf(buf, len, "tcp:127.0.0.1:%d%s%s", port, name ? ",name=" : "",
		 name ? name : "");
	return buf;
}

static int fdinfo_flags(pid_t pid, int fd)
{
	char path[64], line[128];
	unsigned int flags = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)pid, fd);
	f = fopen(path, "re");
	dh_check(f != NULL);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "flags: %o", &flags) == 1)
			break;
	fclose(f);
	return (int)flags;
}

/* LISTEN_* and the fds the service gets, and nothing more. */
static void test_env(void)
{
	char tcp[64], unx[PATH_MAX + 16], sun_path[PATH_MAX];
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	const char *opts[] = { "-l", tcp, "-l", unx, NULL };
	int port = free_port(), nfd = 0, c;
	char path[64];
	struct dirent *e;
	struct svc s;
	DIR *dir;

	dh_check(strlen(d.dir) + sizeof("/env.sock") <= sizeof(a.sun_path));
	strcpy(sun_path, d.dir);
	strcat(sun_path, "/env.sock");
	snprintf(unx, sizeof(unx), "unix:%s,name=ctl", sun_path);
	spec(tcp, sizeof(tcp), port, "web");
	svc_start(&s, "env", opts);
	svc_ready(&s, 2, "web:ctl");
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)s.pid);
	dir = opendir(path);
	dh_check(dir != NULL);
	while ((e = readdir(dir))) {
		if (e->d_name[0] == '.')
			continue;
		dh_check(atoi(e->d_name) <= 4);
		nfd++;
	}
	closedir(dir);
	dh_check_eq(nfd, 5);
	dh_check_eq(fdinfo_flags(s.pid, 3) & O_CLOEXEC, 0);
	dh_check_eq(fdinfo_flags(s.pid, 4) & O_CLOEXEC, 0);
	dh_check_eq(fdinfo_flags(s.pid, 3) & O_NONBLOCK, 0);
	http_answered(http_send(port));
	strcpy(a.sun_path, sun_path);
	c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	dh_check_eq(connect(c, (struct sockaddr *)&a, sizeof(a)), 0);
	dh_check_eq(write(c, "GET / HTTP/1.0\r\n\r\n", 18), 18);
	http_answered(c);
	dh_check_eq(svc_stop(&s, SIGTERM), 0);
	/* The socket's file outlives the service, as a socket unit's. */
	unlink(sun_path);
}

/* RESTARTS restarts under load: the same socket, nothing refused. */
static void test_restarts(void)
{
	char tcp[64];
	const char *opts[] = { "-l", tcp, NULL };
	int port = free_port();
	unsigned long ino;
	struct load l;
	struct svc s;

	spec(tcp, sizeof(tcp), port, NULL);
	svc_start(&s, "restarts", opts);
	svc_ready(&s, 1, "restarts");
	ino = socket_inode(s.pid, 3);
	load_start(&l, port);
	for (int i = 0; i < RESTARTS; i++) {
		/* Served by this instance before it stops. */
		http_answered(http_send(port));
		dh_check_eq(svc_stop(&s, SIGTERM), 0);
		svc_start(&s, "restarts", opts);
		svc_ready(&s, 1, "restarts");
		dh_check_eq(socket_inode(s.pid, 3), ino);
	}
	http_answered(http_send(port));
	load_stop_clean(&l);
	dh_check_eq(svc_stop(&s, SIGTERM), 0);
}

/* The service and its watcher killed: a client waits for the next start. */
static void test_crash(void)
{
	char tcp[64];
	const char *opts[] = { "-l", tcp, NULL };
	int port = free_port(), c, status;
	unsigned long ino;
	struct svc s;

	spec(tcp, sizeof(tcp), port, NULL);
	svc_start(&s, "crash", opts);
	svc_ready(&s, 1, "crash");
	ino = socket_inode(s.pid, 3);
	status = svc_stop(&s, SIGKILL);
	dh_check(WIFSIGNALED(status));
	/* Nothing runs: liveupdated holds the socket, the client waits. */
	c = http_send(port);
	svc_start(&s, "crash", opts);
	svc_ready(&s, 1, "crash");
	dh_check_eq(socket_inode(s.pid, 3), ino);
	http_answered(c);
	dh_check_eq(svc_stop(&s, SIGTERM), 0);
}

static void reboot_daemon(void)
{
	uint64_t update = 0;
	int ctl = luo_open_at(d.socket, LUO_OPEN_CONTROL);

	dh_check(ctl >= 0);
	dh_check_eq(luo_reboot(ctl, -1, &update), 0);
	luo_close(ctl);
}

/* A REBOOT between two starts: the watcher parks the sockets again. */
static void test_reboot(void)
{
	char tcp[64];
	const char *opts[] = { "-l", tcp, NULL };
	int port = free_port(), c;
	unsigned long ino;
	struct load l;
	struct svc s;

	spec(tcp, sizeof(tcp), port, NULL);
	svc_start(&s, "reboot", opts);
	svc_ready(&s, 1, "reboot");
	ino = socket_inode(s.pid, 3);
	load_start(&l, port);
	reboot_daemon();
	svc_expect(&s, "the sockets are parked again");
	http_answered(http_send(port));
	dh_check_eq(svc_stop(&s, SIGTERM), 0);
	c = http_send(port);
	svc_start(&s, "reboot", opts);
	svc_ready(&s, 1, "reboot");
	dh_check_eq(socket_inode(s.pid, 3), ino);
	http_answered(c);
	load_stop_clean(&l);
	dh_check_eq(svc_stop(&s, SIGTERM), 0);
}

/*
 * A restart right after a REBOOT, before the watcher has parked the sockets
 * again: the next start waits for it instead of creating other sockets.
 */
static void test_reboot_at_once(void)
{
	char tcp[64], unx[PATH_MAX + 16];
	const char *opts[] = { "-l", tcp, "-l", unx, NULL };
	int port = free_port(), c;
	unsigned long ino, uino;
	struct load l;
	struct svc s;

	dh_check(strlen(d.dir) + sizeof("unix:/at-once.sock") <= 108);
	snprintf(unx, sizeof(unx), "unix:%s/at-once.sock", d.dir);
	spec(tcp, sizeof(tcp), port, NULL);
	svc_start(&s, "at-once", opts);
	svc_ready(&s, 2, "at-once:at-once");
	ino = socket_inode(s.pid, 3);
	uino = socket_inode(s.pid, 4);
	load_start(&l, port);
	reboot_daemon();
	dh_check_eq(svc_stop(&s, SIGTERM), 0);
	c = http_send(port);
	svc_start(&s, "at-once", opts);
	svc_ready(&s, 2, "at-once:at-once");
	dh_check_eq(socket_inode(s.pid, 3), ino);
	dh_check_eq(socket_inode(s.pid, 4), uino);
	http_answered(c);
	load_stop_clean(&l);
	dh_check_eq(svc_stop(&s, SIGTERM), 0);
	unlink(unx + strlen("unix:"));
}

/* The state of the session named @name, found by state_of(). */
struct state_query {
	const char *name;
	int state;
};

static int state_of(const struct luo_list_record *r, void *ctx)
{
	struct state_query *q = ctx;

	if (r->type == LUO_LIST_SESSION && !strcmp(r->name, q->name))
		q->state = r->state;
	return 0;
}

/* luo-listen's session as LIST shows it: enum luo_session_state, or -1. */
static int session_state(const char *name)
{
	struct state_query q = { .name = name, .state = -1 };
	int ctl = luo_open_at(sock, LUO_OPEN_CONTROL);

	dh_check(ctl >= 0);
	dh_check_eq(luo_list(ctl, state_of, &q), 0);
	luo_close(ctl);
	return q.state;
}

/*
 * An UPGRADE of liveupdated between two starts: the watcher's session fd
 * keeps working (the session stays held, nothing is parked again), and
 * the next start finds the same sockets.
 */
static void test_upgrade(void)
{
	char tcp[64];
	const char *opts[] = { "-l", tcp, NULL };
	int port = free_port(), c, ctl;
	unsigned long ino;
	struct load l;
	struct svc s;

	spec(tcp, sizeof(tcp), port, NULL);
	svc_start(&s, "upgrade", opts);
	svc_ready(&s, 1, "upgrade");
	ino = socket_inode(s.pid, 3);
	load_start(&l, port);
	ctl = luo_open_at(sock, LUO_OPEN_CONTROL);
	dh_check(ctl >= 0);
	dh_check_eq(luo_upgrade(ctl, -1), 0);
	luo_close(ctl);
	dh_check_eq(session_state("listen:upgrade"), LUO_SESSION_RETRIEVED);
	http_answered(http_send(port));
	dh_check_eq(svc_stop(&s, SIGTERM), 0);
	c = http_send(port);
	svc_start(&s, "upgrade", opts);
	svc_ready(&s, 1, "upgrade");
	dh_check_eq(socket_inode(s.pid, 3), ino);
	http_answered(c);
	load_stop_clean(&l);
	dh_check_eq(svc_stop(&s, SIGTERM), 0);
}

/*
 * The orchestrator crashes (its engine killed; the vault recovers it)
 * while the service runs under load, and again between two starts: the
 * sockets stay the same, a client that connects meanwhile waits in the
 * backlog and is answered, nothing is refused.
 */
static void test_orchestrator_crash(void)
{
	static const char *const args[] = { "--vault", NULL };
	char tcp[64];
	const char *opts[] = { "-l", tcp, NULL };
	int port = free_port(), c;
	struct dh_daemon dv;
	unsigned long ino;
	struct load l;
	struct svc s;

	dh_check_eq(dh_start(&dv, args), 0);
	sock = dv.socket;
	spec(tcp, sizeof(tcp), port, NULL);
	svc_start(&s, "crash-luo", opts);
	svc_ready(&s, 1, "crash-luo");
	ino = socket_inode(s.pid, 3);
	load_start(&l, port);
	dh_kill_engine(dv.socket);
	dh_check_eq(session_state("listen:crash-luo"), LUO_SESSION_RETRIEVED);
	http_answered(http_send(port));
	dh_check_eq(svc_stop(&s, SIGTERM), 0);
	dh_kill_engine(dv.socket);		/* nothing runs: liveupdated holds it */
	c = http_send(port);
	svc_start(&s, "crash-luo", opts);
	svc_ready(&s, 1, "crash-luo");
	dh_check_eq(socket_inode(s.pid, 3), ino);
	http_answered(c);
	load_stop_clean(&l);
	dh_check_eq(svc_stop(&s, SIGTERM), 0);
	dh_check_eq(dh_stop(&dv), 0);
	dh_cleanup(&dv);
	sock = d.socket;
}

/* Another command line fails; the session stays as it was. */
static void test_changed(void)
{
	char tcp[64], other[64], want[256];
	const char *opts[] = { "-l", tcp, NULL };
	const char *moved[] = { "-l", other, NULL };
	const char *more[] = { "-l", tcp, "-l", other, NULL };
	int port = free_port(), port2 = free_port();
	unsigned long ino;
	struct svc s;

	spec(tcp, sizeof(tcp), port, NULL);
	spec(other, sizeof(other), port2, NULL);
	svc_start(&s, "changed", opts);
	svc_ready(&s, 1, "changed");
	ino = socket_inode(s.pid, 3);
	dh_check_eq(svc_stop(&s, SIGTERM), 0);
	snprintf(want, sizeof(want), "socket 1 is the socket of %s, not %s",
		 tcp, other);
	svc_refused("changed", moved, want);
	svc_refused("changed", more,
		    "keeps 1 sockets, the command line names 2");
	svc_start(&s, "changed", opts);
	svc_ready(&s, 1, "changed");
	dh_check_eq(socket_inode(s.pid, 3), ino);
	dh_check_eq(svc_stop(&s, SIGTERM), 0);
}

/* Usage errors: exit code 2 and what is wrong. */
static void test_usage(void)
{
	const char *bogus[] = { "-l", "tcp:localhost:80", NULL };
	const char *badname[] = { "-l", "tcp:127.0.0.1:80,name=a:b", NULL };
	const char *none[] = { NULL };
	const char *port[] = { "-l", "tcp:127.0.0.1:65536", NULL };
	const char *backlog[] = { "-l", "unix:/x", "-b", "0", NULL };

	svc_fails("usage", bogus, "tcp:localhost:80: not tcp:ADDR:PORT", 2);
	svc_fails("usage", badname, "a:b: not tcp:ADDR:PORT", 2);
	svc_fails("usage", port, "65536: not tcp:ADDR:PORT", 2);
	svc_fails("usage", none, "no --listen socket given", 2);
	svc_fails("usage", backlog, "-b 0: not a valid number", 2);
}

/* An IPv6 loopback to test tcp6: on, or 0 if the machine has none. */
static int free_port6(void)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6,
				  .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), port = 0;

	if (fd < 0)
		return 0;
	if (!bind(fd, (struct sockaddr *)&a, sizeof(a)) &&
	    !getsockname(fd, (struct sockaddr *)&a, &len))
		port = ntohs(a.sin6_port);
	close(fd);
	return port;
}

/* tcp6: kept across a restart, refused when it names another port. */
static void test_tcp6(void)
{
	char tcp6[64], other[64];
	const char *opts[] = { "-l", tcp6, NULL };
	const char *moved[] = { "-l", other, NULL };
	int port = free_port6();
	unsigned long ino;
	struct svc s;

	if (!port) {
		fprintf(stderr, "  skipped: no IPv6 loopback\n");
		return;
	}
	snprintf(tcp6, sizeof(tcp6), "tcp6:[::1]:%d,name=v6", port);
	snprintf(other, sizeof(other), "tcp6:[::1]:%d", free_port6());
	svc_start(&s, "tcp6", opts);
	svc_ready(&s, 1, "v6");
	ino = socket_inode(s.pid, 3);
	dh_check_eq(svc_stop(&s, SIGTERM), 0);
	svc_refused("tcp6", moved, "is the socket of tcp6:[::1]:");
	svc_start(&s, "tcp6", opts);
	svc_ready(&s, 1, "v6");
	dh_check_eq(socket_inode(s.pid, 3), ino);
	dh_check_eq(svc_stop(&s, SIGTERM), 0);
}

/* One instance per name: a second waits for the first, or gives up. */
static void test_second(void)
{
	char tcp[64];
	const char *opts[] = { "-l", tcp, NULL };
	const char *now[] = { "-l", tcp, "--timeout", "0", NULL };
	int port = free_port();
	unsigned long ino;
	struct svc a, b;

	spec(tcp, sizeof(tcp), port, NULL);
	svc_start(&a, "second", opts);
	svc_ready(&a, 1, "second");
	ino = socket_inode(a.pid, 3);
	svc_refused("second", now, "is still held by another luo-listen");
	svc_start(&b, "second", opts);
	http_answered(http_send(port));
	dh_check_eq(svc_stop(&a, SIGTERM), 0);
	svc_ready(&b, 1, "second");
	dh_check_eq(socket_inode(b.pid, 3), ino);
	http_answered(http_send(port));
	dh_check_eq(svc_stop(&b, SIGTERM), 0);
}

static int owner_of(const struct luo_list_record *r, void *ctx)
{
	if (r->type == LUO_LIST_SESSION && !strcmp(r->name, "listen:web"))
		*(int64_t *)ctx = r->owner;
	return 0;
}

/*
 * A user's service: its session is its own (owner, names), it keeps its
 * sockets across a restart, and another user's luo-listen of the same
 * name cannot reach them.
 */
static void test_users(void)
{
	const char *const args[] = { "--group", NULL, "--log-level", "notice",
				     NULL };
	char tcp[64];
	const char *opts[] = { "-l", tcp, NULL };
	const char *now[] = { "-l", tcp, "--timeout", "0", NULL };
	struct tu_user ua, ub;
	struct dh_daemon d2;
	struct tu_group g;
	int64_t owner = -1;
	unsigned long ino;
	struct svc s;
	int ctl;

	if (!tu_available()) {
		fprintf(stderr, "  skipped: needs useradd and groupadd\n");
		return;
	}
	dh_check_eq(tu_group_create(&g, "lsn"), 0);
	dh_check_eq(tu_user_create(&ua, "la", &g), 0);
	dh_check_eq(tu_user_create(&ub, "lb", &g), 0);
	((const char **)args)[1] = g.name;
	dh_check_eq(dh_start(&d2, args), 0);
	sock = d2.socket;
	spec(tcp, sizeof(tcp), free_port(), NULL);

	run_as = &ua;
	svc_start(&s, "web", opts);
	svc_ready(&s, 1, "web");
	ino = socket_inode(s.pid, 3);
	ctl = luo_open_at(d2.socket, LUO_OPEN_CONTROL);
	dh_check(ctl >= 0);
	dh_check_eq(luo_list(ctl, owner_of, &owner), 0);
	luo_close(ctl);
	dh_check_eq(owner, ua.uid);
	dh_check_eq(svc_stop(&s, SIGTERM), 0);
	svc_start(&s, "web", opts);
	svc_ready(&s, 1, "web");
	dh_check_eq(socket_inode(s.pid, 3), ino);
	dh_check_eq(svc_stop(&s, SIGTERM), 0);

	/* B's "web" is another session: A's parked socket holds the port. */
	run_as = &ub;
	svc_refused("web", now, "Address already in use");
	run_as = NULL;

	dh_check_eq(dh_stop(&d2), 0);
	dh_cleanup(&d2);
	sock = d.socket;
	tu_user_remove(&ub);
	tu_user_remove(&ua);
	tu_group_remove(&g);
}

int main(void)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} cases[] = {
		{ "env", test_env },
		{ "usage", test_usage },
		{ "restarts", test_restarts },
		{ "crash", test_crash },
		{ "reboot", test_reboot },
		{ "reboot-at-once", test_reboot_at_once },
		{ "upgrade", test_upgrade },
		{ "orchestrator-crash", test_orchestrator_crash },
		{ "changed", test_changed },
		{ "tcp6", test_tcp6 },
		{ "second", test_second },
		{ "users", test_users },
	};

	listen_bin = getenv("LUO_LISTEN");
	svc_bin = getenv("LISTEN_SVC");
	load_bin = getenv("HTTP_LOAD");
	if (!listen_bin || !svc_bin || !load_bin)
		dh_skip("LUO_LISTEN, LISTEN_SVC or HTTP_LOAD not set");
	signal(SIGPIPE, SIG_IGN);
	atexit(runs_kill);
	if (dh_start(&d, NULL))
		dh_fail(__FILE__, __LINE__, "daemon start");
	sock = d.socket;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fprintf(stderr, "%s\n", cases[i].name);
		cases[i].fn();
	}
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	return DH_PASS;
}
