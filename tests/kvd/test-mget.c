// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A get line of any length over a real connection: 5,000 keys (some 50 KB,
 * far past the 2,048 bytes of other lines) sent in small pieces, whose
 * answers (24 MB) are many times what kvd keeps unsent before it pauses
 * the line.  The client sends everything before it reads: kvd must go on
 * with the rest of the line once its output has gone, without waiting for
 * more input.  Then the connection still serves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "daemon-harness.h"
#include "kvd-test.h"
#include "proto.h"

#define VALUES		40
#define VALUE_LEN	200000
#define ROUNDS		3
#define MISSES		5000

int main(void)
{
	const struct kt_args a = { .handoff = "unix", .memory_mib = 64 };
	struct kvd_buf line = { 0 }, want = { 0 }, set = { 0 };
	char *value = malloc(VALUE_LEN + 1);
	/* A kvd that stalls fails the test in seconds, not at meson's limit. */
	const struct timeval stall = { .tv_sec = 10 };
	struct kt_kvd k;
	int fd;

	dh_check(value != NULL);
	memset(value, 'v', VALUE_LEN);
	value[VALUE_LEN] = '\0';
	kt_start_with(&k, &a);
	fd = kt_connect(&k);
	dh_check_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &stall,
			       sizeof(stall)), 0);
	for (int i = 0; i < VALUES; i++) {
		kvd_buf_printf(&set, "set key%d %d 0 %d\r\n", i, i, VALUE_LEN);
		kvd_buf_put(&set, value, VALUE_LEN);
		kvd_buf_put(&set, "\r\n", 3);
		kt_send(fd, set.p);
		kt_expect(fd, "STORED\r\n");
		set.len = 0;
	}
	kvd_buf_printf(&line, "get");
	for (int r = 0; r < ROUNDS; r++) {
		for (int i = 0; i < VALUES; i++) {
			kvd_buf_printf(&line, " key%d", i);
			kvd_buf_printf(&want, "VALUE key%d %d %d\r\n", i, i,
				       VALUE_LEN);
			kvd_buf_put(&want, value, VALUE_LEN);
			kvd_buf_put(&want, "\r\n", 2);
		}
	}
	for (int i = 0; i < MISSES; i++)
		kvd_buf_printf(&line, " miss%d", i);
	kvd_buf_put(&line, "\r\nversion\r\n", 12);
	kvd_buf_put(&want, "END\r\nVERSION 1.0\r\n", 19);
	dh_check(line.len > KVD_LINE_MAX);
	for (size_t off = 0; off < line.len - 1; off += 100) {
		size_t n = line.len - 1 - off < 100 ? line.len - 1 - off : 100;

		dh_check_eq(send(fd, line.p + off, n, MSG_NOSIGNAL),
			    (ssize_t)n);
	}
	kt_expect(fd, want.p);
	kt_send(fd, "get key0 miss0\r\n");
	want.len = 0;
	kvd_buf_printf(&want, "VALUE key0 0 %d\r\n", VALUE_LEN);
	kvd_buf_put(&want, value, VALUE_LEN);
	kvd_buf_put(&want, "\r\nEND\r\n", 8);
	kt_expect(fd, want.p);
	close(fd);
	dh_check_eq(kt_stop(&k), 0);
	kvd_buf_free(&line);
	kvd_buf_free(&want);
	kvd_buf_free(&set);
	free(value);
	return DH_PASS;
}
