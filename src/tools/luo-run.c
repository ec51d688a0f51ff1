// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * luo-run: run a program written for the kernel's /dev/liveupdate against
 * liveupdated (DESIGN.md section 2).  It puts libluo-preload in front of
 * LD_PRELOAD, sets LUO_SOCKET, and execs the program; with --private it
 * first starts a liveupdated of its own, runs the program as a child and
 * stops the daemon when the program is done.  That daemon has the kernel's
 * file handlers only (memfd-v2), so that what the kernel refuses fails
 * here too; --luo-handlers gives it all of luo's.  See luo-run(1).
 *
 * Exit codes: the program's; 125 for luo-run's own failures, 126 if the
 * program cannot be executed, 127 if it or the preload library is not
 * found.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <luo/libluo.h>

#define EXIT_LUO_RUN	125
#define EXIT_NOEXEC	126
#define EXIT_NOTFOUND	127

struct run {
	bool private;
	bool luo_handlers;		/* --luo-handlers */
	const char *socket;		/* --socket, or NULL */
	char sock[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char tmpdir[PATH_MAX];		/* --private without --socket */
	char preload[PATH_MAX];		/* libluo-preload.so */
	pid_t daemon;
	char **argv;			/* PROGRAM ARGS... */
};

/* The program's pid while it runs, for forwarded signals. */
static volatile sig_atomic_t child_pid;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: luo-run [--private [--luo-handlers]] [--socket PATH] [--]\n"
		"               PROGRAM [ARG]...\n"
		"Run PROGRAM with /dev/liveupdate served by liveupdated.\n\n"
		"  -p, --private       start a liveupdated of our own for the run,\n"
		"                      preserving only what the kernel preserves\n"
		"                      (memfds)\n"
		"  -l, --luo-handlers  (with --private) luo's file handlers too:\n"
		"                      sockets, pipes, eventfds, regular files\n"
		"  -s, --socket PATH   the daemon's socket (default: $LUO_SOCKET,\n"
		"                      /run/liveupdate/liveupdate.sock for root,\n"
		"                      $XDG_RUNTIME_DIR/liveupdate/liveupdate.sock)\n"
		"  -h, --help          this text\n"
		"  -V, --version       print the version\n");
}

static int parse(struct run *r, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "private", no_argument, NULL, 'p' },
		{ "luo-handlers", no_argument, NULL, 'l' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	int c;

	/* "+": the first word that is no option is PROGRAM. */
	while ((c = getopt_long(argc, argv, "+pls:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			r->private = true;
			break;
		case 'l':
			r->luo_handlers = true;
			break;
		case 's':
			r->socket = optarg;
			break;
		case 'h':
			usage(stdout);
			return 1;
		case 'V':
			printf("luo-run %s\n", LUO_VERSION);
			return 1;
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (r->luo_handlers && !r->private) {
		fprintf(stderr, "luo-run: --luo-handlers needs --private "
			"(a running daemon has its own handlers)\n");
		usage(stderr);
		return -EINVAL;
	}
	if (optind >= argc) {
		fprintf(stderr, "luo-run: no PROGRAM given\n");
		usage(stderr);
		return -EINVAL;
	}
	r->argv = argv + optind;
	return 0;
}

/*
 * Where the installed parts are: <prefix>/<dir>/<name>.  The prefix is the
 * one luo-run runs from when it is installed as <prefix>/<bindir>/luo-run
 * (so a relocated or DESTDIR tree finds its own parts), else the configured
 * one.  A configured directory outside the prefix is absolute and taken as
 * it is.  No build path is compiled in: the test suite names the build
 * tree's parts with $LUO_PRELOAD and $LIVEUPDATED.
 */
static int installed_path(char *buf, size_t len, const char *dir,
			  const char *name)
{
	const char *prefix = LUO_RUN_PREFIX;
	size_t blen = strlen(LUO_RUN_BINDIR), slen;
	char self[PATH_MAX], *slash;
	int n;

	if (dir[0] == '/') {
		n = snprintf(buf, len, "%s/%s", dir, name);
		return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
	}
	if (LUO_RUN_BINDIR[0] != '/' && realpath("/proc/self/exe", self)) {
		slash = strrchr(self, '/');
		if (slash)
			*slash = '\0';
		slen = strlen(self);
		if (slen > blen && self[slen - blen - 1] == '/' &&
		    !strcmp(self + slen - blen, LUO_RUN_BINDIR)) {
			self[slen - blen - 1] = '\0';
			prefix = self;
		}
	}
	n = snprintf(buf, len, "%s/%s/%s", prefix, dir, name);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/*
 * The preload library: $LUO_PRELOAD, else the installed one.  It must
 * exist: without it the program would run against the real (or no)
 * /dev/liveupdate, silently.  Resolved to an absolute path without ':' or
 * blanks, which LD_PRELOAD would split on.
 */
static int find_preload(char buf[static PATH_MAX])
{
	const char *env = getenv("LUO_PRELOAD");
	char path[PATH_MAX];
	int ret;

	if (env && *env) {
		ret = snprintf(path, sizeof(path), "%s", env);
		ret = ret < 0 || (size_t)ret >= sizeof(path) ? -ENAMETOOLONG : 0;
	} else {
		ret = installed_path(path, sizeof(path), LUO_RUN_LIBDIR,
				     "luo/libluo-preload.so");
	}
	if (ret) {
		fprintf(stderr, "luo-run: no path for the preload library: %s\n",
			strerror(-ret));
		return ret;
	}
	if (!realpath(path, buf)) {
		ret = -errno;
		fprintf(stderr, "luo-run: preload library %s: %s%s\n", path,
			strerror(-ret), env && *env ? "" :
			" (is luo installed completely? $LUO_PRELOAD names "
			"another)");
		return ret;
	}
	if (strpbrk(buf, ": \t\n")) {
		fprintf(stderr, "luo-run: preload library %s: LD_PRELOAD cannot "
			"name a path with ':' or blanks\n", buf);
		return -EINVAL;
	}
	return 0;
}

/* $LIVEUPDATED, the one installed beside us, or PATH's. */
static const char *daemon_path(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("LIVEUPDATED");

	if (env && *env)
		return env;
	if (!installed_path(path, sizeof(path), LUO_RUN_SBINDIR,
			    "liveupdated") && !access(path, X_OK))
		return path;
	return "liveupdated";
}

static int socket_path(struct run *r)
{
	int n;

	if (r->socket) {
		n = snprintf(r->sock, sizeof(r->sock), "%s", r->socket);
	} else if (r->private) {
		const char *tmp = getenv("TMPDIR");

		n = snprintf(r->tmpdir, sizeof(r->tmpdir), "%s/luo-run.XXXXXX",
			     tmp && *tmp ? tmp : "/tmp");
		if (n < 0 || (size_t)n >= sizeof(r->tmpdir))
			return -ENAMETOOLONG;
		if (!mkdtemp(r->tmpdir)) {
			n = -errno;
			r->tmpdir[0] = '\0';
			return n;
		}
		n = snprintf(r->sock, sizeof(r->sock), "%s/liveupdate.sock",
			     r->tmpdir);
	} else {
		return luo_default_socket_path(r->sock, sizeof(r->sock));
	}
	return n < 0 || (size_t)n >= sizeof(r->sock) ? -ENAMETOOLONG : 0;
}

/* LD_PRELOAD=ours[:theirs], LUO_SOCKET=the socket. */
static int set_env(const struct run *r)
{
	const char *old = getenv("LD_PRELOAD");
	char *val;
	int ret;

	if (old && *old)
		ret = asprintf(&val, "%s:%s", r->preload, old);
	else
		ret = asprintf(&val, "%s", r->preload);
	if (ret < 0)
		return -ENOMEM;
	ret = setenv("LD_PRELOAD", val, 1) || setenv("LUO_SOCKET", r->sock, 1);
	free(val);
	return ret ? -errno : 0;
}

static int exec_status(int err)
{
	return err == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC;
}

static void exec_program(char **argv)
{
	int err;

	execvp(argv[0], argv);
	err = errno;
	fprintf(stderr, "luo-run: %s: %s\n", argv[0], strerror(err));
	_exit(exec_status(err));
}

static void exec_daemon(const struct run *r, int ready)
{
	char fdarg[16];
	const char *bin = daemon_path();
	char *argv[] = {
		(char *)bin, "--socket", (char *)r->sock, "--ready-fd", fdarg,
		"--log-level", "warning",
		r->luo_handlers ? "--handlers=luo" : "--handlers=kernel", NULL,
	};

	snprintf(fdarg, sizeof(fdarg), "%d", ready);
	if (fcntl(ready, F_SETFD, 0) == 0)
		execvp(bin, argv);
	fprintf(stderr, "luo-run: cannot run %s: %s\n", bin, strerror(errno));
	_exit(EXIT_LUO_RUN);
}

/* Reads "READY=1\n"; 0, or -ECHILD if the daemon exited first. */
static int wait_ready(int fd)
{
	char buf[16];
	size_t got = 0;
	ssize_t n;

	while (got < 8) {
		n = read(fd, buf + got, sizeof(buf) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -ECHILD;
		got += (size_t)n;
	}
	return strncmp(buf, "READY=1\n", 8) ? -EPROTO : 0;
}

static int start_daemon(struct run *r)
{
	int p[2], ret;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		close(p[0]);
		close(p[1]);
		return ret;
	}
	if (pid == 0) {
		close(p[0]);
		exec_daemon(r, p[1]);
	}
	close(p[1]);
	r->daemon = pid;
	ret = wait_ready(p[0]);
	close(p[0]);
	if (ret)
		fprintf(stderr, "luo-run: %s did not start\n", daemon_path());
	return ret;
}

/* SIGTERM and wait; 0 if it stopped cleanly. */
static int stop_daemon(struct run *r)
{
	int status;

	if (r->daemon <= 0)
		return 0;
	kill(r->daemon, SIGTERM);
	while (waitpid(r->daemon, &status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	r->daemon = 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFSIGNALED(status))
		fprintf(stderr, "luo-run: liveupdated killed by signal %d\n",
			WTERMSIG(status));
	else
		fprintf(stderr, "luo-run: liveupdated exited with status %d\n",
			WEXITSTATUS(status));
	return -ECHILD;
}

static void cleanup(struct run *r)
{
	if (!r->tmpdir[0])
		return;
	/* The daemon unlinks its socket; not if it crashed. */
	if (unlink(r->sock) < 0 && errno != ENOENT)
		fprintf(stderr, "luo-run: %s: %m\n", r->sock);
	if (rmdir(r->tmpdir) < 0)
		fprintf(stderr, "luo-run: %s: %m\n", r->tmpdir);
}

static void forward(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

static void forward_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct sigaction sa = { .sa_handler = forward };
	size_t i;

	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

/* Run the program as a child; its exit status, shell style for a signal. */
static int run_program(char **argv)
{
	int status;
	pid_t pid = fork();

	if (pid < 0) {
		fprintf(stderr, "luo-run: fork: %m\n");
		return EXIT_LUO_RUN;
	}
	if (pid == 0)
		exec_program(argv);
	child_pid = pid;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "luo-run: waitpid: %m\n");
			return EXIT_LUO_RUN;
		}
	}
	child_pid = 0;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static int run_private(struct run *r)
{
	int status;

	if (start_daemon(r)) {
		stop_daemon(r);
		return EXIT_LUO_RUN;
	}
	if (set_env(r)) {
		fprintf(stderr, "luo-run: cannot set the environment\n");
		stop_daemon(r);
		return EXIT_LUO_RUN;
	}
	forward_signals();
	status = run_program(r->argv);
	/* A daemon that did not stop cleanly fails a run that passed. */
	if (stop_daemon(r) && status == 0)
		status = 1;
	return status;
}

int main(int argc, char **argv)
{
	struct run r = { 0 };
	int ret;

	ret = parse(&r, argc, argv);
	if (ret)
		return ret > 0 ? 0 : EXIT_LUO_RUN;
	/* Never run the program without the library (as if not found). */
	if (find_preload(r.preload))
		return EXIT_NOTFOUND;
	ret = socket_path(&r);
	if (ret) {
		fprintf(stderr, "luo-run: no socket path: %s\n", strerror(-ret));
		return EXIT_LUO_RUN;
	}
	if (r.private) {
		ret = run_private(&r);
		cleanup(&r);
		return ret;
	}
	if (set_env(&r)) {
		fprintf(stderr, "luo-run: cannot set the environment\n");
		return EXIT_LUO_RUN;
	}
	exec_program(r.argv);
	return EXIT_LUO_RUN;
}
