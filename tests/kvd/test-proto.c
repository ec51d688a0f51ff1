// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * kvd's memcached text protocol on a store, without sockets: every command,
 * noreply, partial input, malformed lines, and the store's own rules.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

#define NOW 1000000

static int failures;

/* Feed @in whole; the answers must be exactly @want. */
static void expect(struct kvd_store *st, const char *in, const char *want,
		   int line)
{
	struct kvd_buf out = { 0 };
	size_t off = 0, len = strlen(in), used;
	int r = KVD_DONE;

	while (off < len && r == KVD_DONE) {
		r = kvd_proto_step(st, in + off, len - off, &used, &out, NOW);
		off += used;
	}
	if (out.len != strlen(want) || memcmp(out.p, want, out.len)) {
		fprintf(stderr, "line %d: for %s got '%.*s' want '%s'\n", line,
			in, (int)out.len, out.p ? out.p : "", want);
		failures++;
	}
	kvd_buf_free(&out);
}

#define EXPECT(in, want) expect(&st, in, want, __LINE__)

static void test_partial(struct kvd_store *st)
{
	struct kvd_buf out = { 0 };
	const char *in = "set k 1 0 3\r\nabc\r\n";
	size_t used;

	for (size_t n = 0; n < strlen(in); n++) {
		if (kvd_proto_step(st, in, n, &used, &out, NOW) != KVD_MORE ||
		    used || out.len) {
			fprintf(stderr, "partial %zu: not KVD_MORE\n", n);
			failures++;
		}
	}
	if (kvd_proto_step(st, in, strlen(in), &used, &out, NOW) != KVD_DONE ||
	    used != strlen(in)) {
		fprintf(stderr, "complete: not KVD_DONE\n");
		failures++;
	}
	kvd_buf_free(&out);
}

int main(void)
{
	struct kvd_store st;
	char big[KVD_LINE_MAX + 8];

	if (kvd_store_create(&st, 4u << 20))
		return 1;
	EXPECT("version\r\n", "VERSION 1.0\r\n");
	EXPECT("version x\r\n", "ERROR\r\n");
	EXPECT("bogus\r\n", "ERROR\r\n");
	EXPECT("\r\n", "ERROR\r\n");
	EXPECT("set a 5 0 3\r\nxyz\r\n", "STORED\r\n");
	EXPECT("get a\r\n", "VALUE a 5 3\r\nxyz\r\nEND\r\n");
	EXPECT("gets a\r\n", "VALUE a 5 3 1\r\nxyz\r\nEND\r\n");
	EXPECT("get a nope a\r\n", "VALUE a 5 3\r\nxyz\r\nVALUE a 5 3\r\nxyz\r\nEND\r\n");
	EXPECT("add a 0 0 1\r\nq\r\n", "NOT_STORED\r\n");
	EXPECT("add b 0 0 1\r\nq\r\n", "STORED\r\n");
	EXPECT("replace c 0 0 1\r\nq\r\n", "NOT_STORED\r\n");
	EXPECT("replace b 0 0 2\r\nqq\r\n", "STORED\r\n");
	EXPECT("append b 9 0 2\r\n++\r\n", "STORED\r\n");
	EXPECT("prepend b 9 0 2\r\n--\r\n", "STORED\r\n");
	EXPECT("get b\r\n", "VALUE b 0 6\r\n--qq++\r\nEND\r\n");
	EXPECT("append zz 0 0 1\r\nx\r\n", "NOT_STORED\r\n");
	EXPECT("cas a 0 0 1 999\r\nx\r\n", "EXISTS\r\n");
	EXPECT("cas a 0 0 1 1\r\nx\r\n", "STORED\r\n");
	EXPECT("cas zz 0 0 1 1\r\nx\r\n", "NOT_FOUND\r\n");
	EXPECT("set n 0 0 2\r\n10\r\nincr n 5\r\n", "STORED\r\n15\r\n");
	EXPECT("decr n 100\r\n", "0\r\n");
	EXPECT("set m 0 0 20\r\n18446744073709551615\r\nincr m 1\r\n",
	       "STORED\r\n0\r\n");
	EXPECT("incr a 1\r\n", "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
	EXPECT("incr n x\r\n", "CLIENT_ERROR invalid numeric delta argument\r\n");
	EXPECT("incr nope 1\r\n", "NOT_FOUND\r\n");
	EXPECT("touch a 100\r\n", "TOUCHED\r\n");
	EXPECT("touch nope 100\r\n", "NOT_FOUND\r\n");
	EXPECT("touch a -1\r\nget a\r\n", "TOUCHED\r\nEND\r\n");
	EXPECT("delete b\r\n", "DELETED\r\n");
	EXPECT("delete b\r\n", "NOT_FOUND\r\n");
	EXPECT("set q 0 0 1 noreply\r\nx\r\nget q\r\n", "VALUE q 0 1\r\nx\r\nEND\r\n");
	EXPECT("delete q noreply\r\nincr n 1 noreply\r\nget q\r\n", "END\r\n");
	EXPECT("set e 0 -1 1\r\nx\r\nget e\r\n", "STORED\r\nEND\r\n");
	EXPECT("set x 0 0 3\r\nabcde", "CLIENT_ERROR bad data chunk\r\n");
	EXPECT("set x 0 0\r\n", "CLIENT_ERROR bad command line format\r\n");
	EXPECT("set x 0 0 -1\r\n", "CLIENT_ERROR bad command line format\r\n");
	memcpy(big, "set ", 4);
	memset(big + 4, 'k', 251);
	strcpy(big + 255, " 0 0 1\r\nx\r\n");
	EXPECT(big, "CLIENT_ERROR bad command line format\r\n");
	EXPECT("set z 0 0 1\r\nz\r\nflush_all\r\nget z\r\n", "STORED\r\nOK\r\nEND\r\n");
	EXPECT("flush_all noreply\r\nverbosity 1\r\n", "OK\r\n");
	EXPECT("verbosity\r\n", "ERROR\r\n");
	EXPECT("stats reset\r\n", "RESET\r\n");
	EXPECT("stats nope\r\n", "ERROR\r\n");
	EXPECT("quit x\r\n", "ERROR\r\n");
	test_partial(&st);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	EXPECT(big, "CLIENT_ERROR line too long\r\n");
	kvd_store_close(&st);
	return failures ? 1 : 0;
}
