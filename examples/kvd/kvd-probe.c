// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * kvd-probe — the main job's client: fill a memcached-protocol server with
 * known data, verify it, and measure the blackout of a live update.
 *
 *   kvd-probe fill   PORT COUNT SIZE   set demo:00000000... (pipelined)
 *   kvd-probe verify PORT COUNT SIZE   get them all back and compare
 *   kvd-probe watch  PORT COUNT SIZE   back-to-back gets of those keys on
 *                                      one connection until SIGTERM or
 *                                      SIGINT; print the longest gaps
 *
 * Item i is "demo:%08u" with SIZE bytes cut from a fixed pattern at an
 * offset that depends on i, so every value is known without storing it.
 * Exit status: 0 all good, 1 a wrong or missing reply, a dropped
 * connection or an error, 2 usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PATTERN		8192
#define SIZE_MAX_VAL	(1u << 20)
#define BATCH		256
#define TOP_GAPS	256

/**
 * struct probe - what every subcommand shares
 * @fd:      the connection
 * @count:   items of the data set
 * @size:    bytes of each value
 * @pattern: PATTERN + @size bytes the values are cut from
 * @buf:     a reply
 */
struct probe {
	int fd;
	uint32_t count;
	uint32_t size;
	char *pattern;
	char *buf;
};

/**
 * struct gap - a gap between two consecutive replies
 * @ns:    its length
 * @from:  CLOCK_REALTIME of the reply before it
 * @to:    CLOCK_REALTIME of the reply after it
 */
struct gap {
	int64_t ns;
	struct timespec from;
	struct timespec to;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int64_t ns_of(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ns_of(&ts);
}

static const char *value_of(const struct probe *p, uint32_t i)
{
	return p->pattern + (i * 61u) % PATTERN;
}

static int connect_port(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR && !stop)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Exactly @n bytes: 0, -EPIPE at end-of-file, -EINTR once stopped, -errno. */
static int recv_all(int fd, char *p, size_t n)
{
	while (n) {
		ssize_t r = recv(fd, p, n, 0);

		if (r < 0 && errno == EINTR && !stop)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EPIPE;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int send_get(struct probe *p, uint32_t i)
{
	char line[32];
	int n = snprintf(line, sizeof(line), "get demo:%08u\r\n", i);

	return send_all(p->fd, line, (size_t)n);
}

/*
 * Read the reply to "get demo:<i>": 0 right, 1 missing or wrong (the
 * connection is still in step), -EPROTO out of step, -errno.
 */
static int read_value(struct probe *p, uint32_t i)
{
	char head[64];
	int n = snprintf(head, sizeof(head), "VALUE demo:%08u 0 %u\r\n", i,
			 p->size);
	size_t rest = (size_t)n - 5 + p->size + 7;
	int ret = recv_all(p->fd, p->buf, 5);

	if (ret)
		return ret;
	if (!memcmp(p->buf, "END\r\n", 5))
		return 1;
	if (memcmp(p->buf, head, 5))
		return -EPROTO;
	ret = recv_all(p->fd, p->buf + 5, rest);
	if (ret)
		return ret;
	if (memcmp(p->buf, head, (size_t)n))
		return -EPROTO;
	return memcmp(p->buf + n, value_of(p, i), p->size) ||
	       memcmp(p->buf + n + p->size, "\r\nEND\r\n", 7) ? 1 : 0;
}

static int fill_batch(struct probe *p, uint32_t first, uint32_t n)
{
	static const char stored[] = "STORED\r\n";
	size_t len = 0;
	int ret;

	for (uint32_t i = first; i < first + n; i++) {
		len += (size_t)sprintf(p->buf + len, "set demo:%08u 0 0 %u\r\n",
				       i, p->size);
		memcpy(p->buf + len, value_of(p, i), p->size);
		len += p->size;
		memcpy(p->buf + len, "\r\n", 2);
		len += 2;
	}
	ret = send_all(p->fd, p->buf, len);
	for (uint32_t i = 0; !ret && i < n; i++) {
		ret = recv_all(p->fd, p->buf, sizeof(stored) - 1);
		if (!ret && memcmp(p->buf, stored, sizeof(stored) - 1))
			ret = -EPROTO;
	}
	return ret;
}

static int cmd_fill(struct probe *p)
{
	int64_t t0 = mono_ns();
	int ret = 0;

	for (uint32_t i = 0; !ret && i < p->count; i += BATCH)
		ret = fill_batch(p, i, p->count - i < BATCH ? p->count - i :
							       BATCH);
	if (ret) {
		fprintf(stderr, "kvd-probe: fill: %s\n", strerror(-ret));
		return 1;
	}
	printf("filled: %u items of %u bytes in %.0f ms\n", p->count, p->size,
	       (double)(mono_ns() - t0) / 1e6);
	return 0;
}

static int verify_batch(struct probe *p, uint32_t first, uint32_t n,
			uint32_t *bad)
{
	size_t len = 0;
	int ret;

	for (uint32_t i = first; i < first + n; i++)
		len += (size_t)sprintf(p->buf + len, "get demo:%08u\r\n", i);
	ret = send_all(p->fd, p->buf, len);
	for (uint32_t i = first; ret >= 0 && i < first + n; i++) {
		ret = read_value(p, i);
		if (ret > 0)
			(*bad)++;
	}
	return ret < 0 ? ret : 0;
}

static int cmd_verify(struct probe *p)
{
	uint32_t bad = 0;
	int ret = 0;

	for (uint32_t i = 0; !ret && i < p->count; i += BATCH)
		ret = verify_batch(p, i, p->count - i < BATCH ? p->count - i :
								 BATCH, &bad);
	if (ret) {
		fprintf(stderr, "kvd-probe: verify: %s\n", strerror(-ret));
		return 1;
	}
	printf("verified: %u items of %u bytes, %u missing or wrong\n",
	       p->count, p->size, bad);
	return bad ? 1 : 0;
}

/* Keep the TOP_GAPS longest gaps, longest first. */
static void note_gap(struct gap *top, int64_t ns, const struct timespec *from,
		     const struct timespec *to)
{
	int i = TOP_GAPS - 1;

	if (ns <= top[i].ns)
		return;
	while (i > 0 && top[i - 1].ns < ns) {
		top[i] = top[i - 1];
		i--;
	}
	top[i] = (struct gap){ .ns = ns, .from = *from, .to = *to };
}

static void print_watch(const struct gap *top, uint64_t requests,
			uint64_t failed, int dropped)
{
	printf("probe: requests %llu failed %llu dropped %d\n",
	       (unsigned long long)requests, (unsigned long long)failed,
	       dropped);
	for (int i = 0; i < TOP_GAPS && top[i].ns; i++)
		printf("gap: %.3f ms from %lld.%06ld to %lld.%06ld\n",
		       (double)top[i].ns / 1e6, (long long)top[i].from.tv_sec,
		       top[i].from.tv_nsec / 1000, (long long)top[i].to.tv_sec,
		       top[i].to.tv_nsec / 1000);
}

static int cmd_watch(struct probe *p)
{
	struct gap top[TOP_GAPS] = { 0 };
	struct timespec last, now;
	uint64_t requests = 0, failed = 0;
	int64_t last_ns, now_ns;
	int ret = 0;

	clock_gettime(CLOCK_REALTIME, &last);
	last_ns = mono_ns();
	for (uint32_t i = 0; !stop; i = (i + 1) % p->count) {
		ret = send_get(p, i);
		ret = ret ?: read_value(p, i);
		if (ret < 0)
			break;
		now_ns = mono_ns();
		clock_gettime(CLOCK_REALTIME, &now);
		requests++;
		failed += (uint64_t)ret;
		note_gap(top, now_ns - last_ns, &last, &now);
		last_ns = now_ns;
		last = now;
	}
	if (ret == -EINTR && stop)
		ret = 0;
	print_watch(top, requests, failed + (ret < 0),
		    ret == -EPIPE || ret == -ECONNRESET);
	if (ret < 0)
		fprintf(stderr, "kvd-probe: watch: %s\n", strerror(-ret));
	return ret < 0 || failed ? 1 : 0;
}

static int setup(struct probe *p, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	int port = atoi(argv[2]);

	p->count = (uint32_t)strtoul(argv[3], NULL, 10);
	p->size = (uint32_t)strtoul(argv[4], NULL, 10);
	if (port <= 0 || port > 65535 || !p->count || !p->size ||
	    p->size > SIZE_MAX_VAL)
		return -EINVAL;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	p->pattern = malloc(PATTERN + p->size);
	p->buf = malloc((size_t)BATCH * (p->size + 64));
	if (!p->pattern || !p->buf)
		return -ENOMEM;
	for (uint32_t j = 0; j < PATTERN + p->size; j++)
		p->pattern[j] = (char)('!' + (j * 7919u ^ j >> 5) % 94);
	p->fd = connect_port(port);
	return p->fd < 0 ? p->fd : 0;
}

int main(int argc, char **argv)
{
	struct probe p = { .fd = -1 };
	int ret;

	if (argc != 5) {
		fprintf(stderr, "usage: kvd-probe fill|verify|watch PORT COUNT SIZE\n");
		return 2;
	}
	ret = setup(&p, argv);
	if (ret) {
		fprintf(stderr, "kvd-probe: %s\n", strerror(-ret));
		ret = ret == -EINVAL ? 2 : 1;
	} else if (!strcmp(argv[1], "fill")) {
		ret = cmd_fill(&p);
	} else if (!strcmp(argv[1], "verify")) {
		ret = cmd_verify(&p);
	} else if (!strcmp(argv[1], "watch")) {
		ret = cmd_watch(&p);
	} else {
		fprintf(stderr, "kvd-probe: unknown command %s\n", argv[1]);
		ret = 2;
	}
	if (p.fd >= 0)
		close(p.fd);
	free(p.pattern);
	free(p.buf);
	return ret;
}
