// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Broken and hostile clients all at once, each in its own process, while a
 * good client keeps asking for STATUS: every answer must come within
 * HOSTILE_DEADLINE_MS, and once the hostile clients are gone the daemon
 * holds exactly the fds it held before.
 *
 *  - garbage: random bytes of random sizes (empty, truncated headers,
 *    lengths that lie, bigger than the protocol allows), with 0 to 6 fds
 *    attached, before and after the handshake, on device and control opens;
 *  - flood: requests sent as fast as the socket takes them, replies never
 *    read;
 *  - half: connections that send half a handshake, or none, and wait.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "hostile.h"

#define ROUNDS		2000
#define HALF_CONNS	200

static uint64_t rng = 0x1234567887654321ull;
static int ready_fd = -1;	/* a child writes a byte once under way */

static void ready(void)
{
	if (write(ready_fd, "", 1) != 1)
		_exit(1);
}

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

static void drain(int fd)
{
	char buf[LUO_WIRE_MAX_REP];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

/* One random message with 0 to 6 random fds; the fds are closed after. */
static int send_garbage(int sock, int *fds)
{
	static char buf[LUO_WIRE_MAX_REQ + 4096];
	struct luo_wire_req hdr;
	size_t len = rnd() % sizeof(buf), i;
	int nfds = rnd() % 7, r;

	for (i = 0; i < len; i++)
		buf[i] = (char)rnd();
	if (len >= sizeof(hdr) && rnd() % 2) {	/* a plausible header */
		hdr.cmd = rnd() % 2 ? LUO_IOCTL_STATUS : rnd();
		hdr.len = rnd() % 2 ? (uint32_t)(len - sizeof(hdr)) : rnd();
		memcpy(buf, &hdr, sizeof(hdr));
	}
	for (i = 0; i < (size_t)nfds; i++)
		fds[i] = memfd_create("garbage", MFD_CLOEXEC);
	r = wc_send_raw(sock, buf, len, fds, nfds);
	for (i = 0; i < (size_t)nfds; i++)
		close(fds[i]);
	drain(sock);
	return r;
}

static int __attribute__((noreturn)) garbage(const char *path)
{
	int fds[8], sock = -1, n = 0;

	for (;; n == 256 ? ready() : (void)0) {
		if (sock < 0 || n++ % 64 == 0) {
			if (sock >= 0)
				close(sock);
			sock = rnd() % 3 ? wc_open(path, rnd() % 2 ?
					LUO_WIRE_MODE_DEVICE :
					LUO_WIRE_MODE_CONTROL) :
				wc_connect(path);
			if (sock < 0)	/* EBUSY: the device is held */
				sock = wc_connect(path);
			if (sock >= 0)
				fcntl(sock, F_SETFL, O_NONBLOCK);
		}
		if (sock >= 0 && send_garbage(sock, fds) == -EPIPE) {	/* closed */
			close(sock);
			sock = -1;
		}
	}
}

static int __attribute__((noreturn)) flood(const char *path)
{
	struct luo_list l = { .size = sizeof(l) };
	struct pollfd p = { .events = POLLOUT };

	p.fd = wc_open(path, LUO_WIRE_MODE_CONTROL);
	if (p.fd < 0)
		_exit(1);
	fcntl(p.fd, F_SETFL, O_NONBLOCK);
	while (!wc_send(p.fd, LUO_IOCTL_LIST, &l, sizeof(l), NULL, 0))
		;
	ready();	/* full: the daemon has stopped reading us */
	for (;;) {
		poll(&p, 1, -1);	/* never comes: we do not read */
		while (!wc_send(p.fd, LUO_IOCTL_LIST, &l, sizeof(l), NULL, 0))
			;
	}
}

static int __attribute__((noreturn)) half(const char *path)
{
	struct luo_wire_open op = {
		.size = sizeof(op), .mode = LUO_WIRE_MODE_DEVICE,
	};
	char buf[sizeof(struct luo_wire_req) + sizeof(op)];
	struct luo_wire_req hdr = { .cmd = LUO_WIRE_OPEN, .len = sizeof(op) };
	int i, fd;

	memcpy(buf, &hdr, sizeof(hdr));
	memcpy(buf + sizeof(hdr), &op, sizeof(op));
	for (i = 0; i < HALF_CONNS; i++) {
		fd = wc_connect(path);
		if (fd >= 0 && i % 2)	/* the first half of a handshake */
			wc_send_raw(fd, buf, sizeof(buf) / 2, NULL, 0);
	}
	ready();
	pause();
	_exit(0);
}

/* Starts @fn in a child and waits until it is under way. */
static pid_t spawn(int (*fn)(const char *), const char *path)
{
	struct pollfd p = { .events = POLLIN };
	int fds[2];
	pid_t pid;
	char c;

	dh_check(pipe2(fds, O_CLOEXEC) == 0);
	pid = fork();
	dh_check(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		ready_fd = fds[1];
		_exit(fn(path));
	}
	close(fds[1]);
	p.fd = fds[0];
	dh_check(poll(&p, 1, HOSTILE_DEADLINE_MS) == 1);
	dh_check(read(fds[0], &c, 1) == 1);
	close(fds[0]);
	return pid;
}

/*
 * The daemon's fds, less the probe's: counted while a connection whose
 * request has just been answered is open, so every earlier close is seen.
 */
static int daemon_fds(const struct dh_daemon *d)
{
	int probe = luo_open_at(d->socket, LUO_OPEN_CONTROL), n;
	struct luo_status st;

	dh_check(probe >= 0);
	dh_check_eq(luo_status(probe, &st), 0);
	n = dh_count_fds(dh_engine_pid(d));
	luo_close(probe);
	return n - 1;
}

static void good_client(const char *path)
{
	uint64_t ns, max = 0, sum = 0;
	int i;

	for (i = 0; i < ROUNDS; i++) {
		dh_check_eq(hostile_status_rtt(path, &ns), 0);
		max = ns > max ? ns : max;
		sum += ns;
	}
	fprintf(stderr, "good client under attack: %d STATUS round trips, "
		"mean %.3f ms, max %.3f ms\n", ROUNDS, sum / 1e6 / ROUNDS,
		max / 1e6);
}

int main(void)
{
	const char *const args[] = { "--log-level", "notice", NULL };
	struct dh_daemon d;
	pid_t kids[4];
	uint64_t ns;
	int base, i;

	signal(SIGPIPE, SIG_IGN);
	dh_check_eq(dh_start(&d, args), 0);
	dh_check_eq(hostile_status_rtt(d.socket, &ns), 0);
	base = daemon_fds(&d);
	kids[0] = spawn(garbage, d.socket);
	kids[1] = spawn(garbage, d.socket);
	kids[2] = spawn(flood, d.socket);
	kids[3] = spawn(half, d.socket);
	good_client(d.socket);
	for (i = 0; i < 4; i++) {
		kill(kids[i], SIGKILL);
		dh_check(waitpid(kids[i], NULL, 0) == kids[i]);
	}
	for (i = 0; i < 100 && daemon_fds(&d) != base; i++)
		;	/* hang-ups beyond one epoll batch: a round more */
	dh_check_eq(daemon_fds(&d), base);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	return DH_PASS;
}
