// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * blackout-probe fill PORT MIB VALUE_BYTES: the state.  Pipelined "set ...
 * noreply" of ceil(MIB MiB / VALUE_BYTES) distinct keys, each value
 * VALUE_BYTES of printable bytes (real pages in the server), then the
 * probe's key; prints "items=N seconds=S".
 *
 * blackout-probe stats PORT: prints "items=N" (the server's curr_items).
 * Both wait for a server that does not listen yet (memcached has no ready
 * notification), trying again at once until it does, for up to a minute.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bo.h"

#define BATCH	64	/* items per sendmsg */

/* One value of pseudo-random printable bytes, written for every key. */
static char *make_value(size_t n)
{
	char *v = malloc(n + 2);
	uint64_t x = 0x9e3779b97f4a7c15ULL;

	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		v[i] = (char)('!' + x % 90);
	}
	memcpy(v + n, "\r\n", 2);
	return v;
}

static int send_batch(int fd, char *v, size_t vlen, uint64_t first,
		      uint64_t count)
{
	char heads[BATCH][64];
	struct iovec iov[BATCH * 2];
	int n = 0;

	for (uint64_t i = 0; i < count; i++) {
		int h = snprintf(heads[i], sizeof(heads[i]),
				 "set k%010llu 0 0 %zu noreply\r\n",
				 (unsigned long long)(first + i), vlen);

		iov[n++] = (struct iovec){ heads[i], (size_t)h };
		iov[n++] = (struct iovec){ v, vlen + 2 };
	}
	return bo_writev_all(fd, iov, n);
}

static int fill(int fd, uint64_t items, size_t vlen)
{
	char *v = make_value(vlen), buf[64];
	int ret = 0;

	if (!v)
		return -ENOMEM;
	for (uint64_t i = 0; i < items && !ret; i += BATCH)
		ret = send_batch(fd, v, vlen, i,
				 items - i < BATCH ? items - i : BATCH);
	free(v);
	ret = ret ?: bo_send_str(fd, "set " BO_PROBE_KEY " 0 0 8\r\n"
				 BO_PROBE_VALUE "\r\n");
	if (!ret && bo_read_reply(fd, buf, sizeof(buf), "\r\n") != 8)
		ret = -EPROTO;
	return ret;
}

/**
 * bo_fill() - "fill PORT MIB VALUE_BYTES"
 * @argc: argument count
 * @argv: "fill", PORT, MIB, VALUE_BYTES
 *
 * Return: the exit status.
 */
int bo_fill(int argc, char **argv)
{
	uint64_t mib, items;
	size_t vlen;
	double t0 = bo_now();
	int fd, ret;

	if (argc != 4)
		return 2;
	mib = strtoull(argv[2], NULL, 10);
	vlen = strtoul(argv[3], NULL, 10);
	if (!vlen || vlen < 16)
		return 2;
	items = ((mib << 20) + vlen - 1) / vlen;
	fd = bo_connect_retry(atoi(argv[1]), 60.0);
	if (fd < 0) {
		fprintf(stderr, "fill: connect: %s\n", strerror(-fd));
		return 1;
	}
	ret = fill(fd, items, vlen);
	close(fd);
	if (ret) {
		fprintf(stderr, "fill: %s\n", strerror(-ret));
		return 1;
	}
	printf("items=%llu seconds=%.3f\n", (unsigned long long)items,
	       bo_now() - t0);
	return 0;
}

/**
 * bo_stats() - "stats PORT"
 * @argc: argument count
 * @argv: "stats", PORT
 *
 * Return: the exit status.
 */
int bo_stats(int argc, char **argv)
{
	char buf[8192], *p;
	ssize_t n;
	int fd;

	if (argc != 2)
		return 2;
	fd = bo_connect_retry(atoi(argv[1]), 60.0);
	if (fd < 0) {
		fprintf(stderr, "stats: connect: %s\n", strerror(-fd));
		return 1;
	}
	n = bo_send_str(fd, "stats\r\n") ?:
	    bo_read_reply(fd, buf, sizeof(buf) - 1, "END\r\n");
	close(fd);
	if (n < 0)
		return 1;
	buf[n] = '\0';
	p = strstr(buf, "STAT curr_items ");
	if (!p)
		return 1;
	printf("items=%llu\n", strtoull(p + 16, NULL, 10));
	return 0;
}
