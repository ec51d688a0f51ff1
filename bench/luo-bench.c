// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * luo-bench: what a live update costs.
 *
 *  1. reboot time against the number of preserved files (1, 100, 10,000);
 *  2. reboot time against preserved bytes (1 MiB, 1 GiB, 8 GiB), in real
 *     pages (fallocate), all three held at once (9 GiB of memory);
 *  3. the round trip of a session ioctl against a bare SOCK_SEQPACKET
 *     request and reply carrying one fd, with both ends on one CPU and on
 *     two;
 *  4. UPGRADE's pause (request to answer, as the client sees it) against
 *     REBOOT's, with 1 file, 10,000 files and 10,000 idle connections
 *     (the bench raises its soft RLIMIT_NOFILE for them);
 *  5. with --vault [ROUNDS [BASELINE]] after the path, alone: what
 *     liveupdated --vault costs per request (bench_vault()), and what
 *     CREATE_SESSION and close cost under it while 100, 10,000 and
 *     100,000 sessions are held (bench_vault_sessions()).
 *
 * It starts its own liveupdated (path in $LIVEUPDATED or argv[1]) on a
 * private socket and prints a table headed by the machine's description;
 * with --restarts after the path, part 4 only; with --rtt, part 3 only;
 * with --vault, part 5 only.
 * Figures are medians over repeated runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <luo/libluo.h>

#define REBOOT_RUNS	15
/* Few: the machine may be shared, and each round moves 10,000 fds. */
#define UPGRADE_RUNS	5
#define MANY		10000
#define RTT_ROUNDS	20000

static char sock_path[128];
static char tmpdir[64];

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void fatal(const char *what, int err)
{
	fprintf(stderr, "luo-bench: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static pid_t start_daemon(const char *path, bool vault)
{
	char fdarg[32];
	int p[2];
	pid_t pid;
	char c;

	if (pipe(p))
		fatal("pipe", errno);
	pid = fork();
	if (pid < 0)
		fatal("fork", errno);
	if (pid == 0) {
		close(p[0]);
		snprintf(fdarg, sizeof(fdarg), "--ready-fd=%d", p[1]);
		execl(path, path, "--socket", sock_path, fdarg,
		      "--log-level", "warning", vault ? "--vault" : "--no-vault",
		      (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1)
		fatal("liveupdated did not start", EIO);
	close(p[0]);
	return pid;
}

static void pin(pid_t pid, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(pid, sizeof(set), &set);
}

static void unpin(pid_t pid)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	for (int i = 0; i < CPU_SETSIZE && i < sysconf(_SC_NPROCESSORS_ONLN); i++)
		CPU_SET(i, &set);
	sched_setaffinity(pid, sizeof(set), &set);
}

/* One reboot; returns the client-side time and the daemon's own figure. */
static void reboot_once(double *client_ms, double *daemon_ms)
{
	struct luo_status st = { 0 };
	double t0;
	int ctl, ret;

	ctl = luo_open_at(sock_path, LUO_OPEN_CONTROL);
	if (ctl < 0)
		fatal("control open", ctl);
	t0 = now_us();
	ret = luo_reboot(ctl, -1, NULL);
	*client_ms = (now_us() - t0) / 1e3;
	if (ret)
		fatal("reboot", ret);
	ret = luo_status(ctl, &st);
	if (ret)
		fatal("status", ret);
	*daemon_ms = st.last_reboot_ns / 1e6;
	luo_close(ctl);
}

/* One configuration of the reboot benchmark: its memfds and its figures. */
struct reboot_case {
	const char *label;
	int nfiles;
	size_t bytes;
	int *fds;
	double client[REBOOT_RUNS];
	double daemon[REBOOT_RUNS];
};

static void case_setup(struct reboot_case *rc)
{
	size_t sz = rc->bytes / (size_t)rc->nfiles;

	rc->fds = calloc((size_t)rc->nfiles, sizeof(int));
	if (!rc->fds)
		fatal("calloc", ENOMEM);
	for (int i = 0; i < rc->nfiles; i++) {
		rc->fds[i] = memfd_create("bench", MFD_CLOEXEC);
		if (rc->fds[i] < 0)
			fatal("memfd_create", errno);
		/* Real pages, not a hole: fallocate allocates every one. */
		if (sz && fallocate(rc->fds[i], 0, 0, (off_t)sz))
			fatal("fallocate", errno);
	}
}

/*
 * One round of one case: preserve its memfds in a fresh session, reboot
 * (timed), then retrieve and finish the session so that the same memfds
 * can be preserved again in the next round (untimed).
 */
static void case_round(struct reboot_case *rc, int round, double *c, double *d)
{
	char name[48];
	int dev, sfd, in, ret;

	snprintf(name, sizeof(name), "%s-%d", rc->label, round);
	dev = luo_open_at(sock_path, LUO_OPEN_DEVICE);
	sfd = dev < 0 ? dev : luo_create_session(dev, name);
	if (sfd < 0)
		fatal("create", sfd);
	luo_close(dev);
	for (int i = 0; i < rc->nfiles; i++) {
		ret = luo_session_preserve_fd(sfd, rc->fds[i], (uint64_t)i);
		if (ret)
			fatal("preserve", ret);
	}
	reboot_once(c, d);
	luo_close(sfd);
	dev = luo_open_at(sock_path, LUO_OPEN_DEVICE);
	in = dev < 0 ? dev : luo_retrieve_session(dev, name);
	if (in < 0)
		fatal("retrieve session", in);
	ret = luo_session_finish(in);
	if (ret)
		fatal("finish", ret);
	luo_close(in);
	luo_close(dev);
}

/*
 * Every case once per round, rounds repeated: slow drifts of the machine
 * hit all cases alike, so their medians compare.  Round -1 warms up.
 */
static void bench_reboots(struct reboot_case *cases, int n)
{
	for (int i = 0; i < n; i++)
		case_setup(&cases[i]);
	for (int r = -1; r < REBOOT_RUNS; r++) {
		for (int i = 0; i < n; i++) {
			double cw, dw;

			case_round(&cases[i], r + 1, r < 0 ? &cw : &cases[i].client[r],
				   r < 0 ? &dw : &cases[i].daemon[r]);
		}
	}
	for (int i = 0; i < n; i++) {
		printf("%-34s %14.3f %14.3f\n", cases[i].label,
		       median(cases[i].client, REBOOT_RUNS),
		       median(cases[i].daemon, REBOOT_RUNS));
		for (int f = 0; f < cases[i].nfiles; f++)
			close(cases[i].fds[f]);
		free(cases[i].fds);
	}
}

/* ---- UPGRADE against REBOOT ------------------------------------------- */

/* One UPGRADE or REBOOT over a new control open: its client-side ms. */
static double restart_once(bool upgrade)
{
	int ctl = luo_open_at(sock_path, LUO_OPEN_CONTROL), ret;
	double t0;

	if (ctl < 0)
		fatal("control open", ctl);
	t0 = now_us();
	ret = upgrade ? luo_upgrade(ctl, -1) : luo_reboot(ctl, -1, NULL);
	t0 = (now_us() - t0) / 1e3;
	if (ret)
		fatal(upgrade ? "upgrade" : "reboot", ret);
	luo_close(ctl);
	return t0;
}

/* @n idle control connections (-1 entries after a REBOOT ended them). */
static void conns_open(int *conns, int n)
{
	for (int i = 0; i < n; i++) {
		conns[i] = luo_open_at(sock_path, LUO_OPEN_CONTROL);
		if (conns[i] < 0)
			fatal("control open", conns[i]);
	}
}

static void conns_close(int *conns, int n)
{
	for (int i = 0; i < n; i++)
		luo_close(conns[i]);
}

/*
 * One row: @nfiles preserved memfds in one outgoing session and @nconns
 * idle connections.  UPGRADE keeps them all, so it is repeated as is.
 * REBOOT makes the session incoming and ends the connections: each round
 * preserves and connects again (untimed), and finishes after.
 */
static void bench_restart_row(const char *label, int nfiles, int nconns)
{
	struct reboot_case rc = { .label = "restart", .nfiles = nfiles };
	double up[UPGRADE_RUNS], rb[UPGRADE_RUNS], d;
	int *conns = calloc((size_t)nconns + 1, sizeof(int));
	int dev, sfd, ret;

	if (!conns)
		fatal("calloc", ENOMEM);
	case_setup(&rc);
	for (int r = -1; r < UPGRADE_RUNS; r++) {
		conns_open(conns, nconns);
		case_round(&rc, r + 1, r < 0 ? &d : &rb[r], &d);
		conns_close(conns, nconns);
	}
	dev = luo_open_at(sock_path, LUO_OPEN_DEVICE);
	sfd = dev < 0 ? dev : luo_create_session(dev, "upgrade");
	if (sfd < 0)
		fatal("create", sfd);
	luo_close(dev);
	for (int i = 0; i < nfiles; i++) {
		ret = luo_session_preserve_fd(sfd, rc.fds[i], (uint64_t)i);
		if (ret)
			fatal("preserve", ret);
	}
	conns_open(conns, nconns);
	for (int r = -1; r < UPGRADE_RUNS; r++) {
		d = restart_once(true);
		if (r >= 0)
			up[r] = d;
	}
	conns_close(conns, nconns);
	luo_close(sfd);
	printf("%-34s %14.3f %14.3f\n", label, median(rb, UPGRADE_RUNS),
	       median(up, UPGRADE_RUNS));
	for (int f = 0; f < nfiles; f++)
		close(rc.fds[f]);
	free(rc.fds);
	free(conns);
}

static void bench_restarts(void)
{
	printf("\n%-34s %14s %14s\n", "pause, client ms", "REBOOT", "UPGRADE");
	bench_restart_row("1 file", 1, 0);
	bench_restart_row("10,000 files", MANY, 0);
	bench_restart_row("1 file, 10,000 connections", 1, MANY);
}

/* Room for 10,000 connections or memfds: the soft limit to the hard. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		fatal("getrlimit", errno);
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		fatal("setrlimit RLIMIT_NOFILE", errno);
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < MANY + 100)
		fatal("RLIMIT_NOFILE's hard limit is below 10,100", EMFILE);
}

/* ---- round trips ------------------------------------------------------ */

struct bare_msg {
	uint32_t cmd;
	uint32_t len;
	uint8_t arg[16];
};

static int send_fd(int s, const void *buf, size_t len, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (fd >= 0) {
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	return sendmsg(s, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

static int recv_fd(int s, void *buf, size_t len, int *fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	ssize_t n = recvmsg(s, &mh, MSG_CMSG_CLOEXEC);

	*fd = -1;
	if (n <= 0)
		return n < 0 ? -errno : -EPIPE;
	c = CMSG_FIRSTHDR(&mh);
	if (c && c->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(c), sizeof(int));
	return (int)n;
}

/* The floor: a server that answers each request with one fd. */
static pid_t bare_server(int s, int other, int cpu)
{
	pid_t pid = fork();
	struct bare_msg m;
	int fd, payload;

	if (pid)
		return pid;
	close(other);	/* so that the client's close ends this loop */
	pin(0, cpu);
	payload = memfd_create("bare", MFD_CLOEXEC);
	for (;;) {
		if (recv_fd(s, &m, sizeof(m), &fd) <= 0)
			_exit(0);
		if (fd >= 0)
			close(fd);
		if (send_fd(s, &m, sizeof(m), payload))
			_exit(0);
	}
}

static double bare_rtt(int cpu_client, int cpu_server)
{
	struct bare_msg m = { .cmd = 0xBA41, .len = 16 };
	double t0, total;
	int sv[2], fd;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		fatal("socketpair", errno);
	pid = bare_server(sv[1], sv[0], cpu_server);
	close(sv[1]);
	pin(0, cpu_client);
	t0 = now_us();
	for (int i = 0; i < RTT_ROUNDS; i++) {
		if (send_fd(sv[0], &m, sizeof(m), -1) ||
		    recv_fd(sv[0], &m, sizeof(m), &fd) <= 0)
			fatal("bare round trip", EIO);
		close(fd);
	}
	total = now_us() - t0;
	close(sv[0]);
	waitpid(pid, NULL, 0);
	unpin(0);
	return total / RTT_ROUNDS;
}

/* RETRIEVE_FD of an already retrieved file: a reply carrying one fd. */
static double luo_rtt(pid_t daemon, int cpu_client, int cpu_daemon,
		      int sfd, double *get_name_us)
{
	char name[LIVEUPDATE_SESSION_NAME_LENGTH];
	double t0, total;

	pin(daemon, cpu_daemon);
	pin(0, cpu_client);
	t0 = now_us();
	for (int i = 0; i < RTT_ROUNDS; i++) {
		int fd = luo_session_retrieve_fd(sfd, 1);

		if (fd < 0)
			fatal("retrieve_fd", fd);
		close(fd);
	}
	total = now_us() - t0;
	t0 = now_us();
	for (int i = 0; i < RTT_ROUNDS; i++)
		if (luo_session_get_name(sfd, name, sizeof(name)))
			fatal("get_name", EIO);
	*get_name_us = (now_us() - t0) / RTT_ROUNDS;
	unpin(0);
	unpin(daemon);
	return total / RTT_ROUNDS;
}

/* An incoming session with one retrieved memfd, for the round trips. */
static int rtt_session(void)
{
	int dev, sfd, m, ret;
	double c, d;

	dev = luo_open_at(sock_path, LUO_OPEN_DEVICE);
	if (dev < 0)
		fatal("open", dev);
	sfd = luo_create_session(dev, "rtt");
	m = memfd_create("rtt", MFD_CLOEXEC);
	ret = sfd < 0 ? sfd : luo_session_preserve_fd(sfd, m, 1);
	if (ret)
		fatal("rtt session", ret);
	close(m);
	luo_close(dev);
	reboot_once(&c, &d);
	luo_close(sfd);
	dev = luo_open_at(sock_path, LUO_OPEN_DEVICE);
	sfd = dev < 0 ? dev : luo_retrieve_session(dev, "rtt");
	if (sfd < 0)
		fatal("retrieve rtt", sfd);
	luo_close(dev);
	return sfd;
}

static void describe_machine(void)
{
	char line[256], model[256] = "unknown";
	struct utsname u;
	FILE *f = fopen("/proc/cpuinfo", "r");

	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "model name", 10)) {
			char *p = strchr(line, ':');

			snprintf(model, sizeof(model), "%s", p ? p + 2 : line);
			model[strcspn(model, "\n")] = 0;
			break;
		}
	}
	if (f)
		fclose(f);
	uname(&u);
	printf("machine: %s, %ld CPUs, %.1f GiB RAM, Linux %s %s\n", model,
	       sysconf(_SC_NPROCESSORS_ONLN),
	       sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE) / (1 << 30),
	       u.release, u.machine);
}

/* Files preserved besides the one the bench preserves and unpreserves. */
#define VAULT_BASE_FILES	10

/* What --vault costs per request: mean round trips, in microseconds. */
struct vault_result {
	double get_name, status, preserve;
};

static void vault_measure(const char *path, bool vault, int rounds,
			  int files, struct vault_result *res)
{
	struct luo_session_unpreserve_fd un = { .size = sizeof(un) };
	char name[64];
	struct luo_status st;
	int dev, sfd, mfd, r, status;
	pid_t pid = start_daemon(path, vault);
	double t;

	dev = luo_open_at(sock_path, LUO_OPEN_DEVICE);
	if (dev < 0)
		fatal("open", dev);
	sfd = luo_create_session(dev, "bench");
	if (sfd < 0)
		fatal("create", sfd);
	mfd = memfd_create("bench", MFD_CLOEXEC);
	if (mfd < 0 || ftruncate(mfd, 4096))
		fatal("memfd", errno);
	for (int i = 0; i < files; i++) {
		int f = memfd_create("base", MFD_CLOEXEC);

		r = luo_session_preserve_fd(sfd, f, 1000 + (uint64_t)i);
		close(f);
		if (r)
			fatal("preserve", r);
	}
	t = now_us();
	for (int i = 0; i < rounds; i++)
		if ((r = luo_session_get_name(sfd, name, sizeof(name))))
			fatal("get_name", r);
	res->get_name = (now_us() - t) / rounds;
	t = now_us();
	for (int i = 0; i < rounds; i++)
		if ((r = luo_status(dev, &st)))
			fatal("status", r);
	res->status = (now_us() - t) / rounds;
	t = now_us();
	for (int i = 0; i < rounds; i++) {
		r = luo_session_preserve_fd(sfd, mfd, 1);
		if (r)
			fatal("preserve", r);
		un.token = 1;
		r = luo_ioctl(sfd, LUO_SESSION_UNPRESERVE_FD, &un);
		if (r)
			fatal("unpreserve", r);
	}
	/* Two requests a round: half is one request's. */
	res->preserve = (now_us() - t) / rounds / 2;
	close(mfd);
	luo_close(sfd);
	luo_close(dev);
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
}

/*
 * --vault [ROUNDS [BASELINE [FILES]]]: the daemon without and with --vault
 * (and BASELINE, another liveupdated such as the previous release,
 * without; "-" for none), timing GET_NAME and STATUS (no fd, no commit)
 * and PRESERVE_FD followed by UNPRESERVE_FD (each a commit of the records
 * under a vault) on a session of FILES files (VAULT_BASE_FILES).
 */
static void bench_vault(const char *path, int rounds, const char *base,
			int files)
{
	struct vault_result plain, vault, before = { 0 };

	if (base && strcmp(base, "-"))
		vault_measure(base, false, rounds, files, &before);
	vault_measure(path, false, rounds, files, &plain);
	vault_measure(path, true, rounds, files, &vault);
	printf("%d rounds each, a session of %d files\n", rounds, files);
	printf("%-36s %10s %10s %10s %8s\n", "round trip (us)", "baseline",
	       "plain", "--vault", "ratio");
	printf("%-36s %10.2f %10.2f %10.2f %8.2f\n",
	       "GET_NAME (no fd, no commit)", before.get_name, plain.get_name,
	       vault.get_name, vault.get_name / plain.get_name);
	printf("%-36s %10.2f %10.2f %10.2f %8.2f\n",
	       "STATUS (no fd, no commit)", before.status, plain.status,
	       vault.status, vault.status / plain.status);
	printf("%-36s %10.2f %10.2f %10.2f %8.2f\n",
	       "PRESERVE_FD / UNPRESERVE_FD (commit)", before.preserve,
	       plain.preserve, vault.preserve, vault.preserve / plain.preserve);
}

/* Parked sessions (handed over, closed): they hold no fd, in either process. */
static void park_sessions(int dev, int n)
{
	char name[32];
	int s, r;

	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "parked-%d", i);
		s = luo_create_session(dev, name);
		if (s < 0)
			fatal("create", s);
		r = luo_session_handover(s, 0);
		if (r)
			fatal("handover", r);
		luo_close(s);
	}
}

/*
 * Microseconds a CREATE_SESSION and the close of its fd cost, averaged
 * over @rounds, while @parked parked sessions and @open open ones (a
 * connection each) are held.  The close is the kernel's last close: the
 * daemon releases the session as the next request waits.
 */
static double session_measure(const char *path, bool vault, int parked,
			      int open, int rounds)
{
	int *fds = calloc(open ? (size_t)open : 1, sizeof(*fds));
	pid_t pid = start_daemon(path, vault);
	char name[32];
	int dev, s, status;
	double t;

	if (!fds)
		fatal("calloc", ENOMEM);
	dev = luo_open_at(sock_path, LUO_OPEN_DEVICE);
	if (dev < 0)
		fatal("open", dev);
	park_sessions(dev, parked);
	for (int i = 0; i < open; i++) {
		snprintf(name, sizeof(name), "open-%d", i);
		fds[i] = luo_create_session(dev, name);
		if (fds[i] < 0)
			fatal("create", fds[i]);
	}
	t = now_us();
	for (int i = 0; i < rounds; i++) {
		snprintf(name, sizeof(name), "bench-%d", i);
		s = luo_create_session(dev, name);
		if (s < 0)
			fatal("create", s);
		luo_close(s);
	}
	/* The last close's release is paid by the STATUS. */
	if ((s = luo_status(dev, &(struct luo_status){ 0 })))
		fatal("status", s);
	t = (now_us() - t) / rounds;
	for (int i = 0; i < open; i++)
		luo_close(fds[i]);
	luo_close(dev);
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	free(fds);
	return t;
}

/* Past this, setting up a baseline whose commits are whole is too long. */
#define BASELINE_MAX_HELD	10000

/*
 * CREATE_SESSION and close under --vault while many sessions are held:
 * with this liveupdated (and BASELINE, "-" for none) under the vault, and
 * without it.
 */
static void bench_vault_sessions(const char *path, int rounds,
				 const char *base)
{
	static const struct { const char *label; int parked, open; } rows[] = {
		{ "100 parked sessions", 100, 0 },
		{ "10,000 parked sessions", 10000, 0 },
		{ "100,000 parked sessions", 100000, 0 },
		{ "10,000 open sessions (connections)", 0, 10000 },
	};
	bool with_base = base && strcmp(base, "-");

	printf("\nCREATE_SESSION + close (us), %d rounds each\n", rounds);
	printf("%-36s %10s %10s %10s\n", "held", "baseline", "--vault",
	       "plain");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		double b = 0, v, p;
		char bs[16] = "-";

		if (with_base &&
		    rows[i].parked + rows[i].open <= BASELINE_MAX_HELD) {
			b = session_measure(base, true, rows[i].parked,
					    rows[i].open, rounds);
			snprintf(bs, sizeof(bs), "%.2f", b);
		}
		v = session_measure(path, true, rows[i].parked, rows[i].open,
				    rounds);
		p = session_measure(path, false, rows[i].parked, rows[i].open,
				    rounds);
		printf("%-36s %10s %10.2f %10.2f\n", rows[i].label, bs, v, p);
	}
}

int main(int argc, char **argv)
{
	const char *daemon_path = argc > 1 ? argv[1] : getenv("LIVEUPDATED");
	bool only_restarts = argc > 2 && !strcmp(argv[2], "--restarts");
	bool vault_costs = argc > 2 && !strcmp(argv[2], "--vault");
	bool only_rtt = argc > 2 && !strcmp(argv[2], "--rtt");
	struct reboot_case by_files[] = {
		{ .label = "1 file", .nfiles = 1 },
		{ .label = "100 files", .nfiles = 100 },
		{ .label = "10,000 files", .nfiles = 10000 },
	};
	struct reboot_case by_bytes[] = {
		{ .label = "1 memfd of 1 MiB", .nfiles = 1, .bytes = 1ul << 20 },
		{ .label = "1 memfd of 1 GiB", .nfiles = 1, .bytes = 1ul << 30 },
		{ .label = "1 memfd of 8 GiB", .nfiles = 1, .bytes = 8ul << 30 },
	};
	double bare_same, bare_cross, luo_same, luo_cross, gn_same, gn_cross;
	pid_t daemon;
	int sfd, status;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!daemon_path) {
		fprintf(stderr,
			"usage: luo-bench PATH-TO-LIVEUPDATED [--restarts | --rtt | --vault [ROUNDS [BASELINE [FILES]]]]\n");
		return 2;
	}
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/luo-bench.XXXXXX");
	if (!mkdtemp(tmpdir))
		fatal("mkdtemp", errno);
	snprintf(sock_path, sizeof(sock_path), "%s/sock", tmpdir);
	raise_nofile();		/* the daemon inherits it too */
	if (vault_costs) {
		bench_vault(daemon_path, argc > 3 ? atoi(argv[3]) : 2000,
			    argc > 4 ? argv[4] : NULL,
			    argc > 5 ? atoi(argv[5]) : VAULT_BASE_FILES);
		bench_vault_sessions(daemon_path,
				     argc > 3 ? atoi(argv[3]) : 2000,
				     argc > 4 ? argv[4] : NULL);
		rmdir(tmpdir);
		return 0;
	}
	daemon = start_daemon(daemon_path, false);

	describe_machine();
	printf("medians of %d reboots (%d for REBOOT against UPGRADE); round "
	       "trips averaged over %d calls\n\n", REBOOT_RUNS, UPGRADE_RUNS,
	       RTT_ROUNDS);
	if (only_restarts) {
		bench_restarts();
		goto out;
	}
	if (!only_rtt) {
		printf("%-34s %14s %14s\n", "reboot", "client ms",
		       "daemon ms");
		bench_reboots(by_files, 3);
		bench_reboots(by_bytes, 3);
		bench_restarts();
	}

	sfd = rtt_session();
	bare_same = bare_rtt(0, 0);
	luo_same = luo_rtt(daemon, 0, 0, sfd, &gn_same);
	if (sysconf(_SC_NPROCESSORS_ONLN) > 1) {
		bare_cross = bare_rtt(0, 1);
		luo_cross = luo_rtt(daemon, 0, 1, sfd, &gn_cross);
	} else {
		bare_cross = luo_cross = gn_cross = 0;
	}
	luo_close(sfd);
	printf("\n%-34s %14s %14s\n", "round trip (us)", "same CPU", "two CPUs");
	printf("%-34s %14.2f %14.2f\n", "bare SEQPACKET, reply with 1 fd",
	       bare_same, bare_cross);
	printf("%-34s %14.2f %14.2f\n", "luo RETRIEVE_FD (reply with fd)",
	       luo_same, luo_cross);
	printf("%-34s %14.2f %14.2f\n", "luo GET_NAME (no fd)", gn_same,
	       gn_cross);
	printf("%-34s %14.2f %14.2f\n", "ratio RETRIEVE_FD / bare",
	       luo_same / bare_same, bare_cross ? luo_cross / bare_cross : 0);

out:
	kill(daemon, SIGTERM);
	waitpid(daemon, &status, 0);
	rmdir(tmpdir);
	return 0;
}
