// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * kvd's memcached text protocol on a store, without sockets: every command,
 * noreply, partial input, malformed lines, the store's own rules, and get
 * lines of any length executed as they arrive.
 */
#include <stdbool.h>
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
	struct kvd_proto p = { 0 };
	struct kvd_buf out = { 0 };
	size_t off = 0, len = strlen(in), used;
	int r = KVD_DONE;

	while (off < len && (r == KVD_DONE || r == KVD_PART)) {
		r = kvd_proto_step(&p, st, in + off, len - off, &used, &out,
				   NOW);
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
	struct kvd_proto p = { 0 };
	struct kvd_buf out = { 0 };
	const char *in = "set k 1 0 3\r\nabc\r\n";
	size_t used;

	for (size_t n = 0; n < strlen(in); n++) {
		int r = kvd_proto_step(&p, st, in, n, &used, &out, NOW);

		if (r != KVD_MORE || used || out.len) {
			fprintf(stderr, "partial %zu: not KVD_MORE\n", n);
			failures++;
		}
	}
	if (kvd_proto_step(&p, st, in, strlen(in), &used, &out,
			   NOW) != KVD_DONE || used != strlen(in)) {
		fprintf(stderr, "complete: not KVD_DONE\n");
		failures++;
	}
	kvd_buf_free(&out);
}

/*
 * Feed @in @chunk bytes at a time, as a connection's reads bring it, each
 * step consuming what it used; the answers go to @out.  *@left: the most
 * input left unconsumed after a read (what a connection holds).
 */
static void feed(struct kvd_store *st, const char *in, size_t len,
		 size_t chunk, struct kvd_buf *out, size_t *left)
{
	struct kvd_proto p = { 0 };
	struct kvd_buf buf = { 0 };
	size_t given = 0, used;
	int r = KVD_DONE;

	*left = 0;
	while (given < len && r != KVD_QUIT && r >= 0) {
		size_t n = len - given < chunk ? len - given : chunk;

		if (kvd_buf_put(&buf, in + given, n))
			break;
		given += n;
		do {
			r = kvd_proto_step(&p, st, buf.p, buf.len, &used, out,
					   NOW);
			if (used)
				kvd_buf_consume(&buf, used);
		} while ((r == KVD_DONE || r == KVD_PART) && buf.len);
		if (buf.len > *left)
			*left = buf.len;
	}
	if (p.flags) {
		fprintf(stderr, "feed: still in a get line (flags %#x)\n",
			p.flags);
		failures++;
	}
	kvd_buf_free(&buf);
}

static void check_out(const struct kvd_buf *out, const struct kvd_buf *want,
		      const char *what, size_t chunk)
{
	if (out->len == want->len && !memcmp(out->p, want->p, out->len))
		return;
	fprintf(stderr, "%s in %zu-byte reads: %zu bytes of answers, "
		"want %zu\n", what, chunk, out->len, want->len);
	failures++;
}

/*
 * A get line of 5,000 keys (40 KB, past KVD_LINE_MAX) split across many
 * reads, some of them in the middle of a key: every key is answered, and
 * the connection never holds more than an unfinished key.
 */
static void test_get_5000(void)
{
	static const size_t chunks[] = { 1, 7, 97, 1000, 4096, 1 << 20 };
	struct kvd_buf in = { 0 }, want = { 0 }, set = { 0 }, out = { 0 };
	struct kvd_store st;
	size_t left;

	if (kvd_store_create(&st, 8u << 20)) {
		failures++;
		return;
	}
	kvd_buf_printf(&in, "get");
	for (int i = 0; i < 5000; i++) {
		kvd_buf_printf(&in, " key%d", i);
		if (i % 3)
			continue;
		kvd_buf_printf(&set, "set key%d %d 0 %d\r\nv%04d\r\n", i, i,
			       5, i);
		kvd_buf_printf(&want, "VALUE key%d %d 5\r\nv%04d\r\n", i, i,
			       i);
	}
	kvd_buf_printf(&in, "\r\nversion\r\n");
	kvd_buf_printf(&want, "END\r\nVERSION 1.0\r\n");
	if (in.len <= KVD_LINE_MAX)
		failures++;
	feed(&st, set.p, set.len, set.len, &out, &left);
	kvd_buf_free(&out);
	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		feed(&st, in.p, in.len, chunks[i], &out, &left);
		check_out(&out, &want, "get of 5,000 keys", chunks[i]);
		if (chunks[i] < 4096 && left > KVD_KEY_MAX + 16) {
			fprintf(stderr, "%zu-byte reads: %zu bytes held\n",
				chunks[i], left);
			failures++;
		}
		kvd_buf_free(&out);
	}
	if (st.hdr->stats.get_hits != 6 * 1667 ||
	    st.hdr->stats.get_misses != 6 * 3333) {
		fprintf(stderr, "get of 5,000 keys: %llu hits %llu misses\n",
			(unsigned long long)st.hdr->stats.get_hits,
			(unsigned long long)st.hdr->stats.get_misses);
		failures++;
	}
	kvd_buf_free(&in);
	kvd_buf_free(&want);
	kvd_buf_free(&set);
	kvd_store_close(&st);
}

/*
 * memcached's answers to bad get lines: a key too long gets the error
 * alone when the line is all there, after the keys already answered when
 * it arrives in parts; the rest of the line is dropped either way.
 */
static void test_get_bad(void)
{
	struct kvd_buf in = { 0 }, out = { 0 };
	struct kvd_buf whole = { 0 }, parts = { 0 };
	struct kvd_store st;
	size_t left;

	if (kvd_store_create(&st, 4u << 20)) {
		failures++;
		return;
	}
	EXPECT("set a 0 0 1\r\nx\r\n", "STORED\r\n");
	EXPECT("get \r\n", "ERROR\r\n");
	EXPECT("gets   \r\n", "ERROR\r\n");
	EXPECT("get   a   a \r\n",
	       "VALUE a 0 1\r\nx\r\nVALUE a 0 1\r\nx\r\nEND\r\n");
	EXPECT("get a\n", "VALUE a 0 1\r\nx\r\nEND\r\n");
	kvd_buf_printf(&in, "get a ");
	for (int i = 0; i < 3000; i++)
		kvd_buf_put(&in, "k", 1);
	kvd_buf_printf(&in, " a\r\nversion\r\n");
	kvd_buf_printf(&whole, "CLIENT_ERROR bad command line format\r\n"
		       "VERSION 1.0\r\n");
	kvd_buf_printf(&parts, "VALUE a 0 1\r\nx\r\n"
		       "CLIENT_ERROR bad command line format\r\n"
		       "VERSION 1.0\r\n");
	feed(&st, in.p, in.len, in.len, &out, &left);
	check_out(&out, &whole, "a key too long", in.len);
	kvd_buf_free(&out);
	feed(&st, in.p, in.len, 64, &out, &left);
	check_out(&out, &parts, "a key too long", 64);
	if (left > KVD_KEY_MAX + 64) {
		fprintf(stderr, "a key too long: %zu bytes held\n", left);
		failures++;
	}
	kvd_buf_free(&out);
	kvd_buf_free(&in);
	kvd_buf_free(&whole);
	kvd_buf_free(&parts);
	/* Every other command keeps its line limit. */
	kvd_buf_printf(&in, "set ");
	for (int i = 0; i < KVD_LINE_MAX; i++)
		kvd_buf_put(&in, "k", 1);
	kvd_buf_printf(&in, " 0 0 1\r\nx\r\n");
	feed(&st, in.p, in.len, 100, &out, &left);
	if (out.len != 28 ||
	    memcmp(out.p, "CLIENT_ERROR line too long\r\n", 28)) {
		fprintf(stderr, "a set line too long: '%.*s'\n", (int)out.len,
			out.p ? out.p : "");
		failures++;
	}
	kvd_buf_free(&out);
	kvd_buf_free(&in);
	kvd_store_close(&st);
}

/* "VALUE" headers in @out (values of 'v' only). */
static size_t count_values(const struct kvd_buf *out)
{
	size_t n = 0;

	for (size_t i = 0; i + 5 <= out->len; i++)
		n += !memcmp(out->p + i, "VALUE", 5);
	return n;
}

/*
 * A get line whose answers pass KVD_OUT_HIGH pauses (KVD_PART) with the
 * output bounded, and goes on where it stopped.
 */
static void test_get_pause(void)
{
	const size_t vlen = 600000;
	struct kvd_buf set = { 0 }, out = { 0 };
	const char *get = "get big big big big big big big big big big\r\n";
	struct kvd_proto p = { 0 };
	struct kvd_store st;
	size_t off = 0, used, left, values = 0;
	bool paused = false;
	int r = KVD_PART;

	if (kvd_store_create(&st, 16u << 20)) {
		failures++;
		return;
	}
	kvd_buf_printf(&set, "set big 0 0 %zu\r\n", vlen);
	for (size_t i = 0; i < vlen; i++)
		kvd_buf_put(&set, "v", 1);
	kvd_buf_printf(&set, "\r\n");
	feed(&st, set.p, set.len, set.len, &out, &left);
	kvd_buf_free(&out);
	while (r == KVD_PART) {
		r = kvd_proto_step(&p, &st, get + off, strlen(get) - off, &used,
				   &out, NOW);
		off += used;
		if (r == KVD_PART) {
			paused = true;
			if (out.len > KVD_OUT_HIGH + vlen + 64)
				failures++;
			values += count_values(&out);
			kvd_buf_consume(&out, out.len);
		}
	}
	values += count_values(&out);
	if (r != KVD_DONE || !paused || values != 10 || off != strlen(get) ||
	    out.len < 5 || memcmp(out.p + out.len - 5, "END\r\n", 5)) {
		fprintf(stderr, "get past KVD_OUT_HIGH: r %d paused %d "
			"values %zu\n", r, paused, values);
		failures++;
	}
	kvd_buf_free(&out);
	kvd_buf_free(&set);
	kvd_store_close(&st);
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
	test_get_5000();
	test_get_bad();
	test_get_pause();
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	EXPECT(big, "CLIENT_ERROR line too long\r\n");
	kvd_store_close(&st);
	return failures ? 1 : 0;
}
