// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * blackout-probe probe PORT: the client that measures the blackout.
 *
 * It asks "get probe" back to back on one connection and stamps every reply
 * with CLOCK_MONOTONIC; the blackout is the longest gap between two
 * consecutive replies.  After WARMUP replies it prints "ready" on stdout
 * and the driver starts the update; the driver then writes to stdin:
 *   t  the update is being started
 *   d  the new server serves (it took over)
 * A connection that ends after "t" is reopened at once (the restarts); the
 * probe stops AFTER replies after "d" or after such a reconnection,
 * prints one line: blackout_us, replies, reconnects, misses (replies
 * without the probe's value), and the reply count before the worst gap,
 * and exits on "q" or the end of stdin (so the driver never writes to a
 * dead pipe).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bo.h"

#define WARMUP		2000
#define AFTER		2000
#define LIMIT_S		600.0

static const char hit[] = "VALUE " BO_PROBE_KEY " 0 8\r\n" BO_PROBE_VALUE
			  "\r\nEND\r\n";

/**
 * struct probe - the measurement
 * @port:       the server's port
 * @fd:         the connection
 * @last:       time of the last reply
 * @worst:      the longest gap
 * @worst_at:   replies before it
 * @replies:    replies so far
 * @reconnects: connections reopened
 * @misses:     replies that were not the probe's value
 * @started:    "t" read
 * @done:       the new server serves: count AFTER more replies
 * @after:      replies since @done
 */
struct probe {
	int port;
	int fd;
	double last;
	double worst;
	unsigned long worst_at;
	unsigned long replies;
	unsigned int reconnects;
	unsigned long misses;
	bool started;
	bool done;
	unsigned long after;
};

/* Read what the driver wrote (stdin is non-blocking). */
static void read_control(struct probe *p)
{
	char c[16];
	ssize_t n = read(0, c, sizeof(c));

	for (ssize_t i = 0; i < n; i++) {
		if (c[i] == 't')
			p->started = true;
		else if (c[i] == 'd')
			p->done = true;
	}
}

static void stamp(struct probe *p, bool miss)
{
	double t = bo_now();

	if (p->replies >= WARMUP && t - p->last > p->worst) {
		p->worst = t - p->last;
		p->worst_at = p->replies;
	}
	p->last = t;
	p->replies++;
	p->misses += miss;
	if (p->done)
		p->after++;
	if (p->replies == WARMUP) {
		printf("ready\n");
		fflush(stdout);
	}
}

/* One get and its reply; -errno when the connection broke. */
static int ask(struct probe *p)
{
	char buf[256];
	ssize_t n;
	int ret = bo_send_str(p->fd, "get " BO_PROBE_KEY "\r\n");

	if (ret)
		return ret;
	n = bo_read_reply(p->fd, buf, sizeof(buf), "END\r\n");
	if (n < 0)
		return (int)n;
	stamp(p, (size_t)n != sizeof(hit) - 1 || memcmp(buf, hit, (size_t)n));
	return 0;
}

static int reconnect(struct probe *p, int why)
{
	close(p->fd);
	p->fd = -1;
	if (!p->started) {
		fprintf(stderr, "probe: connection lost before the update: %s\n",
			strerror(-why));
		return why;
	}
	p->fd = bo_connect_retry(p->port, LIMIT_S);
	if (p->fd < 0) {
		fprintf(stderr, "probe: reconnect: %s\n", strerror(-p->fd));
		return p->fd;
	}
	p->reconnects++;
	p->done = true;
	return 0;
}

static int run(struct probe *p)
{
	double end = bo_now() + LIMIT_S;
	int ret;

	p->last = bo_now();
	while (p->after < AFTER) {
		read_control(p);
		ret = ask(p);
		if (ret == -EPIPE || ret == -ECONNRESET)
			ret = reconnect(p, ret);
		if (ret)
			return ret;
		if (bo_now() > end) {
			fprintf(stderr, "probe: no end after %.0f s\n", LIMIT_S);
			return -ETIMEDOUT;
		}
	}
	return 0;
}

/* Wait for the driver's "q", or for it to close stdin. */
static void drain(void)
{
	char c[16];
	ssize_t n;

	if (fcntl(0, F_SETFL, 0))
		return;
	while ((n = read(0, c, sizeof(c))) > 0) {
		if (memchr(c, 'q', (size_t)n))
			return;
	}
}

/**
 * bo_probe() - "probe PORT"
 * @argc: argument count
 * @argv: "probe", PORT
 *
 * Return: the exit status.
 */
int bo_probe(int argc, char **argv)
{
	struct probe p = { .fd = -1 };
	int ret;

	if (argc != 2)
		return 2;
	p.port = atoi(argv[1]);
	if (fcntl(0, F_SETFL, O_NONBLOCK))
		return 1;
	p.fd = bo_connect(p.port);
	if (p.fd < 0) {
		fprintf(stderr, "probe: connect: %s\n", strerror(-p.fd));
		return 1;
	}
	ret = run(&p);
	if (p.fd >= 0)
		close(p.fd);
	if (ret)
		return 1;
	printf("blackout_us=%.0f replies=%lu reconnects=%u misses=%lu at=%lu\n",
	       p.worst * 1e6, p.replies, p.reconnects, p.misses, p.worst_at);
	fflush(stdout);
	drain();
	return 0;
}
