// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * luo-listen: socket activation whose sockets outlive the service
 * (luo-listen(1)).  The first start creates the listening sockets named
 * with --listen and parks them in a liveupdated session of the caller's
 * uid ("listen:NAME", handed over with LUO_HANDOVER_KEEP_ON_CLOSE); every
 * later start retrieves the same sockets from it.  Then it execs the
 * service with LISTEN_FDS, LISTEN_PID (its own pid, which the service
 * keeps) and LISTEN_FDNAMES, the sockets at fds 3 and up, every other fd
 * it used closed.  Between two runs the sockets are the orchestrator's, so
 * a client that connects while the service restarts waits in the backlog
 * instead of being refused.
 *
 * While the service runs, a watcher process (listen-watch.c) holds the
 * session and parks the sockets again if liveupdated restarts (REBOOT).
 *
 * Exit codes (before the exec): 125 for luo-listen's own failures, 126 if
 * the program cannot be executed, 127 if it is not found; 2 for usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "listen-addr.h"
#include "listen-session.h"
#include "listen-watch.h"

#define EXIT_LISTEN	125
#define EXIT_NOEXEC	126
#define EXIT_NOTFOUND	127
#define EXIT_USAGE	2

#define SESSION_PREFIX		"listen:"
#define DEFAULT_TIMEOUT_S	10
/* The most sockets one service gets, as systemd's FileDescriptorStoreMax. */
#define MAX_SOCKETS		64

struct listen_opts {
	const char *name;		/* --name */
	const char *socket;		/* --socket, or NULL */
	int backlog;			/* --backlog */
	int timeout_ms;			/* --timeout */
	bool nonblock;			/* --nonblock */
	struct listen_spec *specs;	/* --listen, in order */
	int nr;
	char session[LIVEUPDATE_SESSION_NAME_LENGTH];
	char label[128];		/* "luo-listen: NAME" */
	char **argv;			/* PROGRAM ARGS... */
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: luo-listen --name NAME --listen SOCKET... [OPTION]...\n"
		"                  [--] PROGRAM [ARG]...\n"
		"Run PROGRAM with listening sockets that liveupdated keeps across\n"
		"its restarts (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES).\n\n"
		"  -n, --name NAME      the service: its session is \"listen:NAME\"\n"
		"  -l, --listen SOCKET  tcp:ADDR:PORT, tcp6:[ADDR]:PORT or unix:/PATH,\n"
		"                       with \",name=FDNAME\" for LISTEN_FDNAMES\n"
		"                       (default: NAME); repeat for more sockets\n"
		"  -b, --backlog N      listen(2) backlog (default: %d)\n"
		"  -t, --timeout SECS   how long to wait for the device and for a\n"
		"                       previous instance to give the sockets back\n"
		"                       (default: %d)\n"
		"      --nonblock       hand the sockets over non-blocking\n"
		"  -s, --socket PATH    liveupdated's socket (default: $LUO_SOCKET,\n"
		"                       /run/liveupdate/liveupdate.sock for root,\n"
		"                       $XDG_RUNTIME_DIR/liveupdate/liveupdate.sock)\n"
		"  -h, --help           this help\n"
		"  -V, --version        the version\n",
		SOMAXCONN, DEFAULT_TIMEOUT_S);
}

static int parse_int(const char *s, long min, long max, long *v)
{
	char *end;

	errno = 0;
	*v = strtol(s, &end, 10);
	return !*s || *end || errno || *v < min || *v > max ? -EINVAL : 0;
}

static int add_spec(struct listen_opts *o, const char *arg)
{
	struct listen_spec *s;

	if (o->nr == MAX_SOCKETS) {
		fprintf(stderr, "luo-listen: at most %d sockets\n",
			MAX_SOCKETS);
		return -E2BIG;
	}
	s = realloc(o->specs, (size_t)(o->nr + 1) * sizeof(*s));
	if (!s)
		return -ENOMEM;
	o->specs = s;
	if (listen_spec_parse(arg, o->name, &s[o->nr]) < 0) {
		fprintf(stderr, "luo-listen: %s: not tcp:ADDR:PORT, "
			"tcp6:[ADDR]:PORT or unix:/PATH with an optional "
			",name=FDNAME\n", arg);
		return -EINVAL;
	}
	o->nr++;
	return 0;
}

/* Exits on a usage error. */
static void parse(int argc, char **argv, struct listen_opts *o)
{
	static const struct option longopts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "listen", required_argument, NULL, 'l' },
		{ "backlog", required_argument, NULL, 'b' },
		{ "timeout", required_argument, NULL, 't' },
		{ "nonblock", no_argument, NULL, 'N' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	const char **listen = calloc((size_t)argc, sizeof(*listen));
	int c, nl = 0;
	long v;

	if (!listen)
		exit(EXIT_LISTEN);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+n:l:b:t:s:hV", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'n':
			o->name = optarg;
			break;
		case 'l':
			listen[nl++] = optarg;
			break;
		case 'b':
			if (parse_int(optarg, 1, INT_MAX, &v))
				goto bad;
			o->backlog = (int)v;
			break;
		case 't':
			if (parse_int(optarg, 0, INT_MAX / 1000, &v))
				goto bad;
			o->timeout_ms = (int)v * 1000;
			break;
		case 'N':
			o->nonblock = true;
			break;
		case 's':
			o->socket = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(EXIT_SUCCESS);
		case 'V':
			printf("luo-listen %s\n", LUO_VERSION);
			exit(EXIT_SUCCESS);
		default:
			if (optopt)
				fprintf(stderr, "luo-listen: option -%c: %s\n",
					optopt, strchr("nlbts", optopt) ?
					"needs an argument" : "unknown");
			else
				fprintf(stderr, "luo-listen: unknown option "
					"%s\n", argv[optind - 1]);
			fprintf(stderr, "Try 'luo-listen --help'.\n");
			exit(EXIT_USAGE);
		}
	}
	if (!o->name || !nl || optind == argc) {
		fprintf(stderr, "luo-listen: %s\nTry 'luo-listen --help'.\n",
			!o->name ? "no --name given" : !nl ?
			"no --listen socket given" : "no PROGRAM given");
		exit(EXIT_USAGE);
	}
	if (!*o->name || strlen(o->name) + sizeof(SESSION_PREFIX) >
	    sizeof(o->session)) {
		fprintf(stderr, "luo-listen: --name: 1 to %zu bytes\n",
			sizeof(o->session) - sizeof(SESSION_PREFIX));
		exit(EXIT_USAGE);
	}
	snprintf(o->session, sizeof(o->session), SESSION_PREFIX "%s",
		 o->name);
	snprintf(o->label, sizeof(o->label), "luo-listen: %s", o->name);
	for (int i = 0; i < nl; i++)
		if (add_spec(o, listen[i]) < 0)
			exit(EXIT_USAGE);
	free(listen);
	o->argv = argv + optind;
	return;
bad:
	fprintf(stderr, "luo-listen: -%c %s: not a valid number\n", c, optarg);
	exit(EXIT_USAGE);
}

static void close_all(int *fds, int nr)
{
	for (int i = 0; i < nr; i++)
		close(fds[i]);
}

/* The sockets a parked session gave back must be those of the command line. */
static int check_kept(const struct listen_opts *o, int *fds, int kept)
{
	char why[160];
	int err;

	if (kept != o->nr) {
		fprintf(stderr, "%s: the session %s keeps %s%d sockets, the "
			"command line names %d\n", o->label, o->session,
			kept > o->nr ? "more than " : "", kept, o->nr);
		return -ESTALE;
	}
	for (int i = 0; i < o->nr; i++) {
		err = listen_spec_check(&o->specs[i], fds[i], why, sizeof(why));
		if (err == -ESTALE)
			fprintf(stderr, "%s: socket %d is %s, not %s\n",
				o->label, i + 1, why, o->specs[i].text);
		else if (err)
			fprintf(stderr, "%s: socket %d: %s\n", o->label, i + 1,
				strerror(-err));
		if (err)
			return err;
		/* A changed --backlog applies to a kept socket too. */
		if (listen(fds[i], o->backlog) < 0)
			return -errno;
	}
	return 0;
}

/* Reports every failure but EADDRINUSE, which is told only if @last. */
static int create_all(const struct listen_opts *o, int *fds, bool last)
{
	for (int i = 0; i < o->nr; i++) {
		fds[i] = listen_spec_create(&o->specs[i], o->backlog);
		if (fds[i] < 0) {
			int err = fds[i];

			if (err != -EADDRINUSE || last)
				fprintf(stderr, "%s: %s: %s\n", o->label,
					o->specs[i].text, strerror(-err));
			close_all(fds, i);
			return err;
		}
	}
	return 0;
}

/*
 * One try with the device held: the sockets of the parked session, or new
 * ones parked.  *@retry is set when a later try may do better: the session
 * is held by another process, or it is missing while an address is in
 * use: a watcher still parking the sockets again after liveupdated
 * restarted holds them until it has.
 */
static int take_once(const struct listen_opts *o, int dev, int *fds,
		     bool last, bool *retry)
{
	int kept = 0, err, sfd;

	sfd = listen_session_retrieve(dev, o->session, fds, o->nr + 1, &kept);
	*retry = sfd == -EINVAL;
	if (sfd >= 0) {
		err = check_kept(o, fds, kept);
		if (err) {
			close_all(fds, kept);
			/* Parked again, intact (KEEP_ON_CLOSE). */
			luo_close(sfd);
			return err;
		}
		return sfd;
	}
	if (sfd != -ENOENT) {
		if (sfd != -EINVAL)
			fprintf(stderr, "%s: session %s: %s\n", o->label,
				o->session, strerror(-sfd));
		return sfd;
	}
	err = create_all(o, fds, last);
	*retry = err == -EADDRINUSE;
	if (err)
		return err;
	sfd = listen_session_park(dev, o->session, fds, o->nr);
	if (sfd < 0) {
		fprintf(stderr, "%s: cannot keep the sockets in session %s: "
			"%s\n", o->label, o->session, strerror(-sfd));
		close_all(fds, o->nr);
	}
	return sfd;
}

/*
 * Takes the sockets from the parked session, or creates them and parks
 * them on the first start.  A session held by another process (a running
 * instance, or the watcher of one that just exited) is waited for, up to
 * --timeout.
 *
 * Return: the session fd, retrieved, with @fds filled; or a negative errno
 * (reported).
 */
static int get_sockets(const struct listen_opts *o, int *fds)
{
	long end = listen_now_ms() + o->timeout_ms;
	int ms = LISTEN_BACKOFF_MIN_MS, dev, sfd;
	bool retry;

	for (;;) {
		long left = end - listen_now_ms();

		dev = listen_open_device(o->socket, left > 0 ? (int)left : 0,
					 -1, false);
		if (dev < 0) {
			fprintf(stderr, "%s: cannot open liveupdated: %s\n",
				o->label, strerror(-dev));
			return dev;
		}
		sfd = take_once(o, dev, fds, left <= 0, &retry);
		luo_close(dev);
		if (!retry || left <= 0)
			break;
		listen_wait_ms(-1, ms);
		if (ms < LISTEN_BACKOFF_MAX_MS)
			ms *= 2;
	}
	if (sfd == -EINVAL)
		fprintf(stderr, "%s: session %s is still held by another "
			"luo-listen (an instance of %s is running)\n",
			o->label, o->session, o->name);
	return sfd;
}

/* Sockets at 3, 4, ... without close-on-exec; every other fd from 3 closed. */
static int place_fds(int *fds, int nr)
{
	for (int i = 0; i < nr; i++) {
		int high = fcntl(fds[i], F_DUPFD_CLOEXEC, 3 + nr);

		if (high < 0)
			return -errno;
		close(fds[i]);
		fds[i] = high;
	}
	for (int i = 0; i < nr; i++) {
		if (dup2(fds[i], 3 + i) < 0)
			return -errno;
		close(fds[i]);
		fds[i] = 3 + i;
	}
	return close_range(3 + (unsigned int)nr, ~0u, 0) < 0 ? -errno : 0;
}

static int set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -errno;
	fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, fl) < 0 ? -errno : 0;
}

static int set_env(const struct listen_opts *o)
{
	char num[32], *names;
	size_t len = 1;
	int err;

	for (int i = 0; i < o->nr; i++)
		len += strlen(o->specs[i].name) + 1;
	names = calloc(1, len);
	if (!names)
		return -ENOMEM;
	for (int i = 0; i < o->nr; i++) {
		if (i)
			strcat(names, ":");
		strcat(names, o->specs[i].name);
	}
	snprintf(num, sizeof(num), "%d", o->nr);
	err = setenv("LISTEN_FDS", num, 1);
	snprintf(num, sizeof(num), "%d", (int)getpid());
	err = err ?: setenv("LISTEN_PID", num, 1);
	err = err ?: setenv("LISTEN_FDNAMES", names, 1);
	free(names);
	return err ? -errno : 0;
}

/*
 * The watcher holds the session from now on (@sfd is closed here); then
 * we become the service.
 */
static int hand_over(const struct listen_opts *o, int *fds, int sfd)
{
	struct listen_watch w = {
		.socket_path = o->socket,
		.session = o->session,
		.label = o->label,
		.fds = fds,
		.nr = o->nr,
		.sfd = sfd,
		.pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0),
	};
	int err;

	if (w.pidfd < 0)
		return -errno;
	err = listen_watch_start(&w);
	close(w.pidfd);
	/* The watcher's now; its number may be one the sockets move to. */
	luo_close(sfd);
	if (err)
		return err;
	for (int i = 0; i < o->nr && !err; i++)
		err = set_nonblock(fds[i], o->nonblock);
	err = err ?: place_fds(fds, o->nr);
	return err ?: set_env(o);
}

/**
 * main() - luo-listen
 * @argc: argument count
 * @argv: see usage()
 *
 * Return: only on failure: EXIT_USAGE, EXIT_LISTEN, EXIT_NOEXEC or
 * EXIT_NOTFOUND.
 */
int main(int argc, char **argv)
{
	struct listen_opts o = {
		.backlog = SOMAXCONN,
		.timeout_ms = DEFAULT_TIMEOUT_S * 1000,
	};
	int fds[MAX_SOCKETS + 1], sfd, err;

	parse(argc, argv, &o);
	sfd = get_sockets(&o, fds);
	if (sfd < 0) {
		free(o.specs);
		return EXIT_LISTEN;
	}
	err = hand_over(&o, fds, sfd);
	free(o.specs);
	if (err) {
		fprintf(stderr, "%s: cannot start the service: %s\n", o.label,
			strerror(-err));
		return EXIT_LISTEN;
	}
	execvp(o.argv[0], o.argv);
	err = errno;
	fprintf(stderr, "%s: %s: %s\n", o.label, o.argv[0], strerror(err));
	return err == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC;
}
