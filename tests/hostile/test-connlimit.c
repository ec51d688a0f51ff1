// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * One user cannot take every fd of the daemon (issue 8 item 11a).  A test
 * user in --group opens connections until it is refused, and holds them
 * while root asks for STATUS:
 *  - with --max-connections-per-user 300: its 300th connection is the
 *    last (a device open and 299 control opens), the next handshake and
 *    a CREATE_SESSION on its device fail with EMFILE; root's STATUS
 *    stays under 10 ms and root may still create sessions;
 *  - with no per-user limit and the daemon at 1024 fds (hard limit too):
 *    the user takes what there is, then its connections are closed at
 *    once; root still connects from the daemon's reserve and its STATUS
 *    stays under 10 ms.
 * Every handshake the user sends is answered or its connection closed
 * within HANDSHAKE_MS: nobody waits forever.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "hostile.h"
#include "testusers.h"

#define PER_USER	300
#define MAX_CONNS	5000
#define HANDSHAKE_MS	2000
#define PROBES		11
#define FAST_NS		10000000ull	/* 10 ms */

static struct tu_user user;
static struct tu_group group;
static const char *sock_path;
static int report[2], stop[2];

/*
 * What the user's child found: how many opens it holds, the errno that
 * ended them, and (with a device) what CREATE_SESSION said at the end.
 */
struct attack {
	int opened;
	int err;
	int create;
};

/* A handshake answered within HANDSHAKE_MS: the fd, or -errno. */
static int timed_open(uint32_t mode)
{
	struct luo_wire_open op = {
		.size = sizeof(op), .mode = mode, .version = LUO_WIRE_VERSION,
	};
	struct pollfd p = { .events = POLLIN };
	struct luo_wire_rep rep;
	int fd = wc_connect(sock_path), r;

	if (fd < 0)
		return fd;
	p.fd = fd;
	r = wc_send(fd, LUO_WIRE_OPEN, &op, sizeof(op), NULL, 0);
	if (!r) {
		r = poll(&p, 1, HANDSHAKE_MS);
		r = r < 0 ? -errno : r == 0 ? -ETIMEDOUT : 0;
	}
	if (!r)
		r = wc_recv(fd, &rep, &op, sizeof(op), NULL);
	if (!r)
		r = rep.result;
	if (r == -ECONNRESET || r == -EPIPE)
		r = -ENODEV;	/* closed at once: what libluo says */
	if (r) {
		close(fd);
		return r;
	}
	return fd;
}

/* As the test user: open until refused, report, hold until told. */
static int attacker(void *ctx)
{
	struct attack a = { 0 };
	bool device = *(bool *)ctx;
	int dev = -1, fd;
	char c;

	close(report[0]);
	close(stop[1]);
	if (device) {
		dev = timed_open(LUO_WIRE_MODE_DEVICE);
		if (dev < 0)
			return 10;
		a.opened++;
	}
	while (a.opened < MAX_CONNS) {
		fd = timed_open(LUO_WIRE_MODE_CONTROL);
		if (fd < 0) {
			a.err = -fd;
			break;
		}
		a.opened++;
	}
	if (device) {
		fd = luo_create_session(dev, "attacker");
		a.create = fd < 0 ? -fd : 0;
	}
	if (write(report[1], &a, sizeof(a)) != sizeof(a))
		return 11;
	/* Held until the parent closes its end (or exits). */
	return read(stop[0], &c, 1) == 0 ? 0 : 12;
}

static pid_t attack_start(bool device, struct attack *a)
{
	pid_t pid;

	dh_check_eq(pipe(report), 0);
	dh_check_eq(pipe(stop), 0);
	pid = tu_spawn_as(&user, attacker, &device);
	dh_check(pid > 0);
	close(report[1]);
	close(stop[0]);
	dh_check_eq(read(report[0], a, sizeof(*a)), (ssize_t)sizeof(*a));
	close(report[0]);
	fprintf(stderr, "user held %d connections; refused with %s\n",
		a->opened, strerror(a->err));
	return pid;
}

static void attack_stop(pid_t pid)
{
	int status;

	close(stop[1]);
	dh_check_eq(waitpid(pid, &status, 0), pid);
	dh_check(WIFEXITED(status));
	dh_check_eq(WEXITSTATUS(status), 0);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Root's STATUS, PROBES times: every one answered, the median < 10 ms. */
static void check_root_fast(void)
{
	uint64_t ns[PROBES];
	int i;

	for (i = 0; i < PROBES; i++)
		dh_check_eq(hostile_status_rtt(sock_path, &ns[i]), 0);
	qsort(ns, PROBES, sizeof(ns[0]), cmp_u64);
	fprintf(stderr, "root's STATUS under attack: median %.3f ms, max "
		"%.3f ms\n", ns[PROBES / 2] / 1e6, ns[PROBES - 1] / 1e6);
	dh_check(ns[PROBES / 2] < FAST_NS);
}

static void test_per_user(void)
{
	const char *const args[] = {
		"--log-level", "notice", "--group", group.name,
		"--max-connections-per-user", "300", NULL,
	};
	struct dh_daemon d;
	struct attack a;
	int dev, sess;
	pid_t pid;

	dh_check_eq(dh_start(&d, args), 0);
	sock_path = d.socket;
	pid = attack_start(true, &a);
	dh_check_eq(a.opened, PER_USER);
	dh_check_eq(a.err, EMFILE);
	dh_check_eq(a.create, EMFILE);
	check_root_fast();
	/* Root is not limited. */
	dev = luo_open_at(d.socket, LUO_OPEN_CONTROL);
	dh_check(dev >= 0);
	luo_close(dev);
	attack_stop(pid);
	/* Given back: the user may connect again. */
	pid = attack_start(false, &a);
	dh_check_eq(a.opened, PER_USER);
	attack_stop(pid);
	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	sess = luo_create_session(dev, "root");
	dh_check(sess >= 0);
	luo_close(sess);
	luo_close(dev);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
}

static void test_out_of_fds(void)
{
	const char *const args[] = {
		"--log-level", "notice", "--group", group.name,
		"--max-connections-per-user", "0", NULL,
	};
	struct dh_daemon d;
	struct attack a;
	pid_t pid;

	if (dh_under_valgrind()) {
		fprintf(stderr, "out of fds: skipped under valgrind, which "
			"keeps the hard fd limit for itself\n");
		return;
	}
	dh_set_nofile(1024, 1024);
	dh_check_eq(dh_start(&d, args), 0);
	dh_set_nofile(0, 0);
	sock_path = d.socket;
	pid = attack_start(false, &a);
	dh_check(a.opened > 900 && a.opened < 1024);
	dh_check_eq(a.err, ENODEV);
	check_root_fast();
	attack_stop(pid);
	check_root_fast();
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
}

int main(void)
{
	if (!tu_available())
		dh_skip("needs root and useradd");
	dh_binary();
	if (hostile_raise_nofile(MAX_CONNS + 100))
		dh_skip("RLIMIT_NOFILE's hard limit is too low");
	dh_check_eq(tu_group_create(&group, "connsg"), 0);
	dh_check_eq(tu_user_create(&user, "conns", &group), 0);
	test_per_user();
	test_out_of_fds();
	tu_user_remove(&user);
	tu_group_remove(&group);
	return DH_PASS;
}
