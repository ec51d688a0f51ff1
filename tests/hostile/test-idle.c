// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Thousands of idle connections: 2,000 control opens that never send
 * another request, 3,000 connections that never send their handshake, and
 * 100 that send half of one.  A good client is still answered within
 * HOSTILE_DEADLINE_MS; the connections without a handshake are capped by
 * --max-pending (the oldest are closed), half handshakes are refused with
 * EINVAL and closed; the daemon's fds come back to where they were.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "hostile.h"

#define OPENED		2000
#define SILENT		3000
#define HALF		100
#define MAX_PENDING	1000

static int opened[OPENED], silent[SILENT];

static bool hung_up(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLHUP);
}

/* Half a handshake: EINVAL, then the daemon hangs up. */
static void half_handshake(const char *path)
{
	struct luo_wire_req hdr = {
		.cmd = LUO_WIRE_OPEN, .len = sizeof(struct luo_wire_open),
	};
	char buf[sizeof(hdr) + 4] = { 0 };
	struct luo_wire_rep rep;
	int fd = wc_connect(path);

	dh_check(fd >= 0);
	memcpy(buf, &hdr, sizeof(hdr));
	dh_check_eq(wc_send_raw(fd, buf, sizeof(buf), NULL, 0), 0);
	dh_check_eq(wc_recv(fd, &rep, NULL, 0, NULL), 0);
	dh_check_eq(rep.result, -EINVAL);
	dh_check_eq(wc_recv(fd, &rep, NULL, 0, NULL), -ECONNRESET);
	close(fd);
}

static int count_hung_up(void)
{
	int i, n = 0;

	for (i = 0; i < SILENT; i++)
		n += hung_up(silent[i]);
	return n;
}

static void close_all(void)
{
	int i;

	for (i = 0; i < OPENED; i++)
		close(opened[i]);
	for (i = 0; i < SILENT; i++)
		close(silent[i]);
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
	n = dh_count_fds((pid_t)st.pid);	/* the engine's */
	luo_close(probe);
	return n - 1;
}

static void check_fds_back(struct dh_daemon *d, int base)
{
	dh_check_eq(daemon_fds(d), base);
}

int main(void)
{
	const char *const args[] = {
		"--log-level", "notice", "--max-pending", "1000", NULL,
	};
	struct dh_daemon d;
	uint64_t ns;
	int base, i, gone;

	if (hostile_raise_nofile(OPENED + SILENT + 1000))
		dh_skip("RLIMIT_NOFILE's hard limit is too low");
	dh_check_eq(dh_start(&d, args), 0);
	dh_check_eq(hostile_status_rtt(d.socket, &ns), 0);
	base = daemon_fds(&d);
	for (i = 0; i < OPENED; i++) {
		opened[i] = wc_open(d.socket, LUO_WIRE_MODE_CONTROL);
		dh_check(opened[i] >= 0);
	}
	for (i = 0; i < SILENT; i++) {
		silent[i] = wc_connect(d.socket);
		dh_check(silent[i] >= 0);
	}
	for (i = 0; i < HALF; i++)
		half_handshake(d.socket);
	/* Accepted in order: answered means every earlier one was seen. */
	dh_check_eq(hostile_status_rtt(d.socket, &ns), 0);
	fprintf(stderr, "STATUS with %d idle connections: %.3f ms\n",
		OPENED + SILENT, ns / 1e6);
	/* Each later connection, until its handshake, pushed one out too. */
	gone = count_hung_up();
	dh_check(gone >= SILENT - MAX_PENDING);
	dh_check(gone <= SILENT - MAX_PENDING + HALF + 1);
	dh_check(hung_up(silent[0]) && !hung_up(silent[SILENT - 1]));
	dh_check_eq(daemon_fds(&d), base + OPENED + SILENT - gone);
	/* The idle opens still work. */
	dh_check_eq(luo_status(opened[0], &(struct luo_status){ 0 }), 0);
	dh_check_eq(luo_status(opened[OPENED - 1], &(struct luo_status){ 0 }),
		    0);
	close_all();
	check_fds_back(&d, base);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	return DH_PASS;
}
