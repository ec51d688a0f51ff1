// SPDX-License-Identifier: LGPL-2.1-or-later
/* A private liveupdated for tests; see daemon-harness.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "daemon-harness.h"

#define DH_MAX_ARGS	32
#define DH_MAX_LIVE	8

/* Daemons to kill if a test fails half-way. */
static struct dh_daemon *dh_live[DH_MAX_LIVE];

/**
 * dh_under_valgrind() - does this test run under meson's valgrind setup?
 *
 * The daemons it starts then run under valgrind too (--trace-children),
 * which keeps RLIMIT_NOFILE's hard limit for itself and runs everything
 * far slower.
 *
 * Return: true if valgrind's preload library is in LD_PRELOAD.
 */
bool dh_under_valgrind(void)
{
	const char *pre = getenv("LD_PRELOAD");

	return pre && strstr(pre, "vgpreload");
}

/* RLIMIT_NOFILE for the daemons started next (dh_set_nofile()). */
static struct rlimit dh_nofile;
static bool dh_nofile_set;

/**
 * dh_set_nofile() - start the next daemons under another RLIMIT_NOFILE
 * @soft: its soft limit
 * @hard: its hard limit; 0 and 0 go back to the test's own limits
 *
 * Set in the child before the exec, so the test keeps its own limits
 * (raising a hard limit again needs CAP_SYS_RESOURCE).
 */
void dh_set_nofile(rlim_t soft, rlim_t hard)
{
	dh_nofile.rlim_cur = soft;
	dh_nofile.rlim_max = hard;
	dh_nofile_set = soft || hard;
}

static void dh_kill_all(void);

/*
 * A test ended by a signal (meson's timeout, an alarm() bound, ^C): the
 * daemons run in process groups of their own and would outlive it.
 */
/* The handlers found when ours went in: chained after our cleanup. */
static void (*dh_prev[NSIG])(int);

static void dh_on_signal(int sig)
{
	dh_kill_all();
	if (dh_prev[sig] != SIG_DFL && dh_prev[sig] != SIG_IGN &&
	    dh_prev[sig] != NULL) {
		dh_prev[sig](sig);
		return;
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Once: for the signals a test leaves at their default action. */
static void dh_hook_signals(void)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGALRM };
	static bool hooked;
	struct sigaction sa;

	if (hooked)
		return;
	hooked = true;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (!sigaction(sigs[i], NULL, &sa) && sa.sa_handler != SIG_IGN)
			dh_prev[sigs[i]] = signal(sigs[i], dh_on_signal);
}

static void dh_track(struct dh_daemon *d, bool on)
{
	int i;

	if (on)
		dh_hook_signals();
	for (i = 0; i < DH_MAX_LIVE; i++) {
		if (on && !dh_live[i]) {
			dh_live[i] = d;
			return;
		}
		if (!on && dh_live[i] == d)
			dh_live[i] = NULL;
	}
}

static void dh_kill_all(void)
{
	int i;

	for (i = 0; i < DH_MAX_LIVE; i++) {
		if (!dh_live[i])
			continue;
		/* The group: the vault, its engine, a vault the engine made. */
		kill(-dh_live[i]->pid, SIGKILL);
		kill(dh_live[i]->pid, SIGKILL);
		waitpid(dh_live[i]->pid, NULL, 0);
		dh_live[i]->pid = 0;
		dh_cleanup(dh_live[i]);
	}
}

/** dh_fail() - report a failed check, kill the daemons, exit DH_FAIL */
void dh_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
	dh_kill_all();
	exit(DH_FAIL);
}

/** dh_fail_eq() - report two values that differ, exit DH_FAIL */
void dh_fail_eq(const char *file, int line, const char *a, const char *b,
		long long va, long long vb)
{
	fprintf(stderr, "%s:%d: %s == %s: %lld != %lld\n", file, line, a, b,
		va, vb);
	dh_kill_all();
	exit(DH_FAIL);
}

/** dh_skip() - report why the test cannot run, exit DH_SKIP */
void dh_skip(const char *why)
{
	fprintf(stderr, "skipped: %s\n", why);
	dh_kill_all();
	exit(DH_SKIP);
}

/**
 * dh_binary() - the liveupdated under test
 *
 * Return: $LIVEUPDATED; skips the test if it is not set.
 */
const char *dh_binary(void)
{
	const char *bin = getenv("LIVEUPDATED");

	if (!bin || !*bin)
		dh_skip("LIVEUPDATED is not set");
	return bin;
}

static int dh_timeout_ms(void)
{
	const char *env = getenv("LUO_TEST_TIMEOUT");
	int s = env ? atoi(env) : 0;

	return (s > 0 ? s : 60) * 1000;
}

static void dh_exec(const struct dh_daemon *d, int ready,
		    const char *const *args)
{
	const char *argv[DH_MAX_ARGS + 8];
	char fdarg[16];
	int n = 0;

	snprintf(fdarg, sizeof(fdarg), "%d", ready);
	argv[n++] = dh_binary();
	argv[n++] = "--socket";
	argv[n++] = d->socket;
	argv[n++] = "--ready-fd";
	argv[n++] = fdarg;
	argv[n++] = "--log-level";
	argv[n++] = "debug";
	while (args && *args && n < DH_MAX_ARGS)
		argv[n++] = *args++;
	argv[n] = NULL;
	if (dh_nofile_set && setrlimit(RLIMIT_NOFILE, &dh_nofile) < 0)
		perror("setrlimit");
	else if (fcntl(ready, F_SETFD, 0) == 0)
		execv(argv[0], (char *const *)argv);
	perror(argv[0]);
	_exit(127);
}

/* Reads "READY=1\n"; 0, -ECHILD if the daemon exited, -ETIMEDOUT. */
static int dh_wait_ready(struct dh_daemon *d, int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[16] = "";
	size_t got = 0;
	ssize_t n;
	int r;

	while (got < 8) {
		r = poll(&p, 1, dh_timeout_ms());
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -ETIMEDOUT;
		n = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (n <= 0)
			return -ECHILD;
		got += (size_t)n;
	}
	return strncmp(buf, "READY=1\n", 8) ? -EPROTO : 0;
}

/**
 * dh_start_at() - start a daemon on @socket and wait until it listens
 * @d:      out: the daemon
 * @socket: the socket path
 * @args:   more arguments, NULL-terminated, or NULL
 *
 * Return: 0 once it is ready; -ECHILD if it exited first (reaped,
 * @d->status set); -ETIMEDOUT (killed) or another -errno.
 */
int dh_start_at(struct dh_daemon *d, const char *socket,
		const char *const *args)
{
	int p[2], r;

	d->pid = 0;
	d->status = 0;
	d->no_vault = false;
	for (const char *const *a = args; a && *a; a++)
		if (!strcmp(*a, "--no-vault"))
			d->no_vault = true;
	snprintf(d->socket, sizeof(d->socket), "%s", socket);
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	d->pid = fork();
	if (d->pid == 0) {
		/*
		 * A group of its own: with a vault, the daemon is several
		 * processes (an engine whose vault is killed starts another),
		 * and a failing test must end them all (dh_kill_all()).
		 */
		setpgid(0, 0);
		dh_exec(d, p[1], args);
	}
	if (d->pid > 0)
		setpgid(d->pid, d->pid);
	close(p[1]);
	if (d->pid < 0) {
		d->pid = 0;
		close(p[0]);
		return -errno;
	}
	dh_track(d, true);
	r = dh_wait_ready(d, p[0]);
	close(p[0]);
	if (r == -ETIMEDOUT || r == -EPROTO)
		kill(-d->pid, SIGKILL);
	if (r)
		dh_wait(d);
	return r;
}

/**
 * dh_start() - start a daemon in a new private directory
 * @d:    out: the daemon; @d->socket is where it listens
 * @args: more arguments, NULL-terminated, or NULL
 *
 * Return: as dh_start_at().
 */
int dh_start(struct dh_daemon *d, const char *const *args)
{
	const char *tmp = getenv("TMPDIR");
	char sock[PATH_MAX + 32];

	snprintf(d->dir, sizeof(d->dir), "%s/luo-test-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(d->dir))
		return -errno;
	snprintf(sock, sizeof(sock), "%s/liveupdate.sock", d->dir);
	return dh_start_at(d, sock, args);
}

/**
 * dh_wait() - reap the daemon
 * @d: the daemon
 *
 * Return: its exit code (dh_exit_code()), or -errno.
 */
int dh_wait(struct dh_daemon *d)
{
	pid_t r;

	if (!d->pid)
		return dh_exit_code(d->status);
	do
		r = waitpid(d->pid, &d->status, 0);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	d->pid = 0;
	dh_track(d, false);
	return dh_exit_code(d->status);
}

/**
 * dh_stop() - SIGTERM the daemon and reap it
 * @d: the daemon
 *
 * Return: its exit code (0 for a clean shut-down), or -errno.
 */
int dh_stop(struct dh_daemon *d)
{
	if (d->pid && kill(d->pid, SIGTERM) < 0)
		return -errno;
	return dh_wait(d);
}

/**
 * dh_exit_code() - a wait status as one number
 * @status: from waitpid()
 *
 * Return: the exit code, or 128 + the signal that killed it.
 */
int dh_exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

/**
 * dh_cleanup() - stop the daemon if it runs; remove its directory
 * @d: the daemon
 */
void dh_cleanup(struct dh_daemon *d)
{
	if (d->pid)
		dh_stop(d);
	if (!d->dir[0])
		return;
	unlink(d->socket);
	rmdir(d->dir);
	d->dir[0] = '\0';
}

/**
 * dh_records_read() - the first bytes of an engine's records memfd
 * @engine: the engine (the vault's child)
 * @buf:    where to put them (a struct records_header, vault_proto.h)
 * @len:    how many
 *
 * Found among the engine's fds by its name ("luo-records"); the test
 * fails if there is none or it is shorter.
 */
void dh_records_read(pid_t engine, void *buf, size_t len)
{
	char dir[64], path[320], link[128];
	struct dirent *e;
	bool found = false;
	ssize_t n;
	DIR *d;
	int fd;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)engine);
	d = opendir(dir);
	dh_check(d != NULL);
	while (!found && (e = readdir(d))) {
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 0)
			continue;
		link[n] = '\0';
		if (!strstr(link, "memfd:luo-records"))
			continue;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		dh_check(fd >= 0);
		dh_check_eq(pread(fd, buf, len, 0), (ssize_t)len);
		close(fd);
		found = true;
	}
	closedir(d);
	dh_check(found);
}

/**
 * dh_child_of() - the first child of @pid, a vault's engine
 * @pid: the process
 *
 * Return: its pid, or 0 if it has none.
 */
pid_t dh_child_of(pid_t pid)
{
	char path[64], buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid,
		 (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return (pid_t)atoi(buf);
}

/**
 * dh_engine_pid() - the process that serves: the vault's engine
 * @d: a running daemon
 *
 * Under a vault (the default) the pid the harness started is the vault's
 * and the engine is its child; with --no-vault it is the daemon itself.
 * A recovery or an UPGRADE may change the engine: ask again after one.
 * Right after a crash the vault's list of children may still hold the dead
 * engine, not reaped yet: dh_status_pid() asks the one that answers.
 *
 * Return: the engine's pid, or 0 if the vault has no child (between an
 * engine's death and its successor).
 */
pid_t dh_engine_pid(const struct dh_daemon *d)
{
	return d->no_vault ? d->pid : dh_child_of(d->pid);
}

/**
 * dh_status_pid() - the engine that answers STATUS on @socket
 * @socket: the daemon's socket
 *
 * Return: its pid (a failed open or STATUS fails the test).
 */
pid_t dh_status_pid(const char *socket)
{
	struct luo_status st;
	int ctl = luo_open_at(socket, LUO_OPEN_CONTROL);

	dh_check(ctl >= 0);
	dh_check_eq(luo_status(ctl, &st), 0);
	luo_close(ctl);
	return (pid_t)st.pid;
}

/**
 * dh_wait_gone() - wait until a process, which need not be our child, died
 * @pid:        the process
 * @timeout_ms: how long at most (-1: no limit); longer fails the test
 *
 * Waits on its pidfd: no polling.  A pid already gone returns at once.
 */
void dh_wait_gone(pid_t pid, int timeout_ms)
{
	struct pollfd p = { .events = POLLIN };
	int r;

	p.fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (p.fd < 0) {
		dh_check(errno == ESRCH);	/* already gone */
		return;
	}
	while ((r = poll(&p, 1, timeout_ms)) < 0)
		dh_check(errno == EINTR);
	close(p.fd);
	dh_check(r == 1);
}

/**
 * dh_kill_engine() - kill -9 the engine that answers on @socket
 * @socket: the daemon's socket
 *
 * Asks STATUS which process serves, kills it and waits until it is gone;
 * the vault then starts the next engine, which serves what queued
 * meanwhile.
 *
 * Return: the killed engine's pid.
 */
pid_t dh_kill_engine(const char *socket)
{
	pid_t pid = dh_status_pid(socket);

	dh_check_eq(kill(pid, SIGKILL), 0);
	dh_wait_gone(pid, -1);
	return pid;
}

/**
 * dh_start_killpoint() - a vault daemon whose engine dies once at a step
 * @d:    out: the daemon
 * @step: a kill point of src/daemon/killpoint.c ("reply-sent", ...)
 * @flag: out: the file whose removal arms it (dh_killpoint_arm())
 * @len:  room in @flag
 *
 * Return: the engine's pid (a failure fails the test).
 */
pid_t dh_start_killpoint(struct dh_daemon *d, const char *step, char *flag,
			 size_t len)
{
	static const char *const args[] = {
		"--vault", "--fault-injection", NULL,
	};
	char spec[PATH_MAX + 64];
	int fd;

	snprintf(flag, len, "/tmp/luo-killpoint-%d", (int)getpid());
	fd = open(flag, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	dh_check(fd >= 0);
	close(fd);
	snprintf(spec, sizeof(spec), "%s:%s", step, flag);
	dh_check_eq(setenv("LUO_FAULT_KILL_AT", spec, 1), 0);
	dh_check_eq(dh_start(d, args), 0);
	return dh_status_pid(d->socket);
}

/**
 * dh_killpoint_arm() - the next time the engine reaches the step, it dies
 * @flag: from dh_start_killpoint()
 */
void dh_killpoint_arm(const char *flag)
{
	dh_check_eq(unlink(flag), 0);
}

/**
 * dh_killpoint_fired() - the engine died at the step; a new one serves
 * @d:      the daemon
 * @engine: the engine that was to die
 * @flag:   from dh_start_killpoint(), made again by the dying engine
 *
 * Return: the new engine's pid.
 */
pid_t dh_killpoint_fired(struct dh_daemon *d, pid_t engine, const char *flag)
{
	pid_t now;

	dh_wait_gone(engine, 10000);
	dh_check_eq(access(flag, F_OK), 0);	/* it fired */
	now = dh_status_pid(d->socket);
	dh_check(now != engine);
	return now;
}

/**
 * dh_killpoint_stop() - stop a dh_start_killpoint() daemon, remove its flag
 * @d:    the daemon
 * @flag: its flag
 */
void dh_killpoint_stop(struct dh_daemon *d, const char *flag)
{
	dh_check_eq(dh_stop(d), 0);
	dh_cleanup(d);
	unlink(flag);
}

/**
 * dh_count_fds() - how many fds @pid has open
 * @pid: a process of ours
 *
 * Return: the count, or -errno.
 */
int dh_count_fds(pid_t pid)
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

/**
 * dh_run_output() - run a program and take what it prints
 * @bin:  the program
 * @args: its argv, NULL-terminated
 * @fd3:  an fd it inherits as fd 3, or -1
 * @fd4:  an fd it inherits as fd 4, or -1
 * @out:  receives its standard output and error, NUL-terminated
 * @len:  room at @out
 *
 * Return: its exit status, or -1 if a signal ended it.
 */
int dh_run_output(const char *bin, const char *const *args, int fd3, int fd4,
		  char *out, size_t len)
{
	int p[2], status;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	dh_check_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	dh_check(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		/* Out of the way first: dup2() onto itself keeps CLOEXEC. */
		if ((fd3 >= 0 && dup2(fd3, 100) < 0) ||
		    (fd4 >= 0 && dup2(fd4, 101) < 0) ||
		    (fd3 >= 0 && dup2(100, 3) < 0) ||
		    (fd4 >= 0 && dup2(101, 4) < 0))
			_exit(126);
		execv(bin, (char *const *)args);
		_exit(127);
	}
	close(p[1]);
	while (got < len - 1 &&
	       (n = read(p[0], out + got, len - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(p[0]);
	dh_check_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/**
 * dh_expect_output() - fail the test unless @out contains @what
 * @out:  what a program printed
 * @what: the text it must contain
 */
void dh_expect_output(const char *out, const char *what)
{
	if (!strstr(out, what)) {
		fprintf(stderr, "missing \"%s\" in:\n%s\n", what, out);
		dh_fail(__FILE__, __LINE__, what);
	}
}
