// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The handover between two images (DESIGN.md section 7): a round trip of
 * many sessions, files, tokens and handler data; and every malformed or
 * mismatched handover refused with EINVAL and a reason, installing nothing
 * and closing no fd.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#include "handlers.h"
#include "tc.h"

#define NR_SESSIONS	12
#define MAX_FILES	64

static struct tc_handler th;
static struct luo_file_handler memfd;
static struct tc_flb flb;

static int setup(struct luo_core *core, void *ctx)
{
	return luo_register_file_handler(core, &th.h) ?:
	       luo_register_file_handler(core, &memfd) ?:
	       luo_register_flb(core, &th.h, &flb.flb);
}

static int setup_memfd_only(struct luo_core *core, void *ctx)
{
	return luo_register_file_handler(core, &memfd);
}

static uint64_t token_of(int s, int f)
{
	static const uint64_t special[] = { 0, UINT64_MAX, 1ull << 63, 42 };

	if (f < 4)
		return special[f] ^ (uint64_t)(s % 2);
	return (uint64_t)s * 0x9e3779b97f4a7c15ull + (uint64_t)f * 7919;
}

static int nfiles_of(int s)
{
	return s == 3 ? 0 : 1 + (s * 5) % MAX_FILES;
}

static void session_name(int s, char *name)
{
	snprintf(name, 64, "session %d \xe2\x9c\x93 %.*s", s, s * 4,
		 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz");
}

struct ho {
	void *blob;
	size_t len;
	int lfd;
	int fds[NR_SESSIONS * MAX_FILES];
	int nfds;
};

static int collect(void *ctx, int fd)
{
	struct ho *h = ctx;

	h->fds[h->nfds++] = fd;
	return 0;
}

/*
 * The old image: NR_SESSIONS sessions; even files are memfds holding
 * their name at a position, odd files pipes (fake handler) holding it.
 */
static int make_handover(struct ho *h, uint64_t update_number)
{
	struct luo_core *old = tc_core(0, 0);
	char name[64], text[96];

	memset(h, 0, sizeof(*h));
	tc_handler_init(&th, "fake-pipe", TC_TAKE_FIFO, false);
	luo_memfd_handler_init(&memfd);
	tc_flb_init(&flb, "flb", 0xF1B);
	if (!old || setup(old, NULL))
		return -1;
	for (int s = 0; s < NR_SESSIONS; s++) {
		struct luo_session *ses;

		session_name(s, name);
		if (tc_create(old, name, &ses))
			return -1;
		for (int f = 0; f < nfiles_of(s); f++) {
			int fd, w = -1, len;

			len = snprintf(text, sizeof(text), "%d/%d", s, f);
			if (f % 2) {
				fd = tc_pipe(&w);
				if (fd < 0 || write(w, text, (size_t)len) != len)
					return -1;
				close(w);
			} else {
				fd = tc_memfd(text);
				if (fd < 0 || write(fd, text, (size_t)len) != len ||
				    lseek(fd, f % 5, SEEK_SET) != f % 5)
					return -1;
			}
			if (tc_preserve(old, ses, fd, token_of(s, f)))
				return -1;
			close(fd);
		}
	}
	if (luo_core_for_each_outgoing_fd(old, collect, h))
		return -1;
	return tc_exec(old, update_number, &h->blob, &h->len, &h->lfd);
}

static void ho_close(struct ho *h)
{
	for (int i = 0; i < h->nfds; i++)
		close(h->fds[i]);
	close(h->lfd);
	free(h->blob);
}

static int test_round_trip(void)
{
	struct luo_handover_info info;
	struct luo_core *core;
	char why[256] = "", name[64], text[96], buf[96];
	uint64_t files;
	uint32_t out, in;
	struct ho h;
	int total = 0;

	CHECK_ERR(make_handover(&h, 7), 0);
	core = tc_core(0, 0);
	CHECK(core);
	CHECK_ERR(setup(core, NULL), 0);
	tc_log_reset();
	CHECK_ERR(luo_handover_read(core, h.blob, h.len, &info, why,
				    sizeof(why)), 0);
	CHECK_EQ(tc_nlog, 0);	/* nothing called at read time */
	CHECK_EQ(info.update_number, 7);
	CHECK_EQ(luo_core_update_number(core), 7);
	CHECK_EQ(info.listen_fd, h.lfd);
	CHECK_EQ(info.reply_fd, -1);
	CHECK_EQ(info.self_fd, -1);
	for (int s = 0; s < NR_SESSIONS; s++)
		total += nfiles_of(s);
	luo_core_counts(core, &out, &in, &files);
	CHECK_EQ(out, 0);
	CHECK_EQ(in, NR_SESSIONS);
	CHECK_EQ(files, total);
	CHECK_EQ(h.nfds, total);

	for (int s = 0; s < NR_SESSIONS; s++) {
		struct luo_session *ses;

		session_name(s, name);
		CHECK_ERR(tc_retrieve(core, name, &ses), 0);
		for (int f = 0; f < nfiles_of(s); f++) {
			int fd, len = snprintf(text, sizeof(text), "%d/%d", s, f);

			CHECK_ERR(tc_retrieve_fd(core, ses, token_of(s, f), &fd),
				  0);
			if (f % 2) {
				CHECK_EQ(read(fd, buf, sizeof(buf)), len);
			} else {
				CHECK_EQ(lseek(fd, 0, SEEK_CUR), f % 5);
				CHECK_EQ(pread(fd, buf, sizeof(buf), 0), len);
			}
			CHECK(!memcmp(buf, text, (size_t)len));
			close(fd);
		}
		CHECK_ERR(tc_retrieve_fd(core, ses, 0x1234, NULL), -ENOENT);
	}
	/* The fake handler's data (its tags) crossed in order. */
	{
		uint64_t tags[NR_SESSIONS * MAX_FILES];
		size_t n = tc_log_tags(TC_RETRIEVE, tags, TC_ARRAY_SIZE(tags));

		for (size_t i = 0; i < n; i++)
			CHECK_EQ(tags[i], i + 1);
		CHECK(n > 0);
	}
	/* The FLB: its data and the count of its files. */
	{
		void *obj;
		uint32_t pipes = 0;

		for (int s = 0; s < NR_SESSIONS; s++)
			pipes += (uint32_t)nfiles_of(s) / 2;
		CHECK_ERR(luo_flb_get_incoming(core, &flb.flb, &obj), 0);
		CHECK_EQ(flb.seen_data, 0xF1B);
		luo_flb_put_incoming(core, &flb.flb);
		/* One reference per file: the finishes end it, not before. */
		CHECK_EQ(flb.calls[TC_FLB_FINISH], 0);
		CHECK(pipes > 1);
	}
	luo_core_free(core);
	CHECK_EQ(flb.calls[TC_FLB_FINISH], 1);
	close(h.lfd);
	free(h.blob);
	return TEST_PASS;
}

/* Two reboots in a row; an incoming session is not carried forward. */
static int test_second_reboot(void)
{
	struct luo_core *core, *next;
	struct luo_session *s;
	int m = tc_memfd("x"), fd;

	tc_handler_init(&th, "fake-pipe", TC_TAKE_FIFO, false);
	luo_memfd_handler_init(&memfd);
	tc_flb_init(&flb, "flb", 0xF1B);
	core = tc_core(0, 0);
	CHECK(core && m >= 0);
	CHECK_ERR(setup(core, NULL), 0);
	CHECK_ERR(tc_create(core, "a", &s), 0);
	CHECK_ERR(tc_preserve(core, s, m, 1), 0);
	close(m);
	core = tc_reboot(core, 2, setup, NULL);
	CHECK(core);
	CHECK_ERR(tc_retrieve(core, "a", &s), 0);
	CHECK_ERR(tc_retrieve_fd(core, s, 1, &fd), 0);
	CHECK_ERR(tc_create(core, "b", &s), 0);
	CHECK_ERR(tc_preserve(core, s, fd, 2), -EBUSY);
	close(fd);
	next = tc_reboot(core, 3, setup, NULL);
	CHECK(next);
	CHECK_EQ(luo_core_update_number(next), 3);
	CHECK_ERR(tc_retrieve(next, "a", NULL), -ENOENT);
	CHECK_ERR(tc_retrieve(next, "b", NULL), 0);
	luo_core_free(next);
	return TEST_PASS;
}

/* A refused handover: EINVAL, a reason, nothing installed, no fd closed. */
static int refused(const void *blob, size_t len, struct ho *h,
		   int (*setup_fn)(struct luo_core *, void *), const char *what)
{
	struct luo_handover_info info;
	struct luo_core *core = tc_core(0, 0);
	char why[256] = "";
	int fds = test_count_fds(), ret;
	uint32_t out, in;
	uint64_t files;

	CHECK(core);
	CHECK_ERR(setup_fn(core, NULL), 0);
	ret = luo_handover_read(core, blob, len, &info, why, sizeof(why));
	if (ret != -EINVAL) {
		fprintf(stderr, "%s: read returned %d, why '%s'\n", what, ret,
			why);
		return TEST_FAIL;
	}
	fprintf(stderr, "  %s: %s\n", what, why);
	CHECK(why[0]);
	CHECK(strcmp(why, "out of memory"));
	luo_core_counts(core, &out, &in, &files);
	CHECK_EQ(out + in + files, 0);
	CHECK_EQ(luo_core_update_number(core), 1);
	CHECK_EQ(test_count_fds(), fds);
	for (int i = 0; i < h->nfds; i++)
		CHECK(fcntl(h->fds[i], F_GETFD) >= 0 || errno != EBADF);
	/* Nothing half-installed: the good handover still reads. */
	luo_core_free(core);
	CHECK_EQ(test_count_fds(), fds);
	return TEST_PASS;
}

static int test_refused_blobs(void)
{
	struct ho h;
	uint8_t *bad;
	size_t cuts[] = { 0, 1, 15, 16, 17, 100 };

	CHECK_ERR(make_handover(&h, 5), 0);
	bad = malloc(h.len);
	CHECK(bad);
	/* Truncated. */
	for (size_t i = 0; i < TC_ARRAY_SIZE(cuts); i++)
		CHECK_EQ(refused(h.blob, cuts[i], &h, setup, "truncated"), 0);
	CHECK_EQ(refused(h.blob, h.len - 1, &h, setup, "truncated by 1"), 0);
	CHECK_EQ(refused(h.blob, h.len / 2, &h, setup, "truncated by half"), 0);
	/* Longer than written. */
	{
		uint8_t *longer = calloc(1, h.len + 8);

		CHECK(longer);
		memcpy(longer, h.blob, h.len);
		CHECK_EQ(refused(longer, h.len + 8, &h, setup, "padded"), 0);
		free(longer);
	}
	/* A flipped byte anywhere in the tree: the checksum. */
	for (size_t off = 16; off < h.len; off += h.len / 7) {
		memcpy(bad, h.blob, h.len);
		bad[off] ^= 0x20;
		CHECK_EQ(refused(bad, h.len, &h, setup, "flipped byte"), 0);
	}
	memcpy(bad, h.blob, h.len);
	bad[h.len - 1] ^= 1;
	CHECK_EQ(refused(bad, h.len, &h, setup, "flipped last byte"), 0);
	/* The checksum itself. */
	memcpy(bad, h.blob, h.len);
	bad[8] ^= 1;
	CHECK_EQ(refused(bad, h.len, &h, setup, "flipped checksum"), 0);
	/* Wrong magic. */
	memcpy(bad, h.blob, h.len);
	bad[0] ^= 0xff;
	CHECK_EQ(refused(bad, h.len, &h, setup, "wrong magic"), 0);
	/* Checksummed but wrong inside: another format version, a bad tree. */
	{
		uint8_t *p;
		uint32_t crc;

		memcpy(bad, h.blob, h.len);
		p = memmem(bad + 16, h.len - 16, "luo-handover-v1", 16);
		CHECK(p);
		p[14] = '9';
		crc = (uint32_t)crc32(0, bad + 16, (uInt)(h.len - 16));
		memcpy(bad + 8, &crc, sizeof(crc));
		CHECK_EQ(refused(bad, h.len, &h, setup, "format v9"), 0);
		memcpy(bad, h.blob, h.len);
		memset(bad + 16 + 8, 0xff, 4);	/* fdt off_dt_struct */
		crc = (uint32_t)crc32(0, bad + 16, (uInt)(h.len - 16));
		memcpy(bad + 8, &crc, sizeof(crc));
		CHECK_EQ(refused(bad, h.len, &h, setup, "bad tree"), 0);
	}
	/* An image without the pipe handler. */
	CHECK_EQ(refused(h.blob, h.len, &h, setup_memfd_only, "unknown handler"),
		 0);
	/* And after all that, the handover is good. */
	{
		struct luo_handover_info info;
		struct luo_core *core = tc_core(0, 0);
		char why[256];

		CHECK(core);
		CHECK_ERR(setup(core, NULL), 0);
		CHECK_ERR(luo_handover_read(core, h.blob, h.len, &info, why,
					    sizeof(why)), 0);
		/* A second read into a core with incoming state. */
		CHECK_ERR(luo_handover_read(core, h.blob, h.len, &info, why,
					    sizeof(why)), -EINVAL);
		CHECK(why[0]);
		luo_core_free(core);
	}
	free(bad);
	close(h.lfd);
	free(h.blob);
	return TEST_PASS;
}

static int test_refused_closed_fd(void)
{
	struct ho h;
	int victim;

	CHECK_ERR(make_handover(&h, 5), 0);
	victim = h.fds[h.nfds / 2];
	close(victim);
	h.fds[h.nfds / 2] = h.fds[0];
	CHECK_EQ(refused(h.blob, h.len, &h, setup, "closed fd"), 0);
	h.fds[h.nfds / 2] = -1;
	/* The listening socket closed. */
	{
		struct ho h2;

		CHECK_ERR(make_handover(&h2, 5), 0);
		close(h2.lfd);
		CHECK_EQ(refused(h2.blob, h2.len, &h2, setup, "closed listen fd"),
			 0);
		h2.lfd = -1;
		ho_close(&h2);
	}
	ho_close(&h);
	return TEST_PASS;
}

static int test_refused_replaced_fd(void)
{
	struct ho h;
	int other = tc_memfd("impostor"), pipe_other = tc_pipe(NULL);

	CHECK(other >= 0 && pipe_other >= 0);
	CHECK_ERR(make_handover(&h, 5), 0);
	/* A memfd's number now holds another memfd. */
	CHECK(dup2(other, h.fds[0]) == h.fds[0]);
	CHECK_EQ(refused(h.blob, h.len, &h, setup, "replaced memfd"), 0);
	ho_close(&h);
	/* A pipe's number now holds another pipe. */
	CHECK_ERR(make_handover(&h, 5), 0);
	CHECK(dup2(pipe_other, h.fds[2]) == h.fds[2]);
	CHECK_EQ(refused(h.blob, h.len, &h, setup, "replaced pipe"), 0);
	ho_close(&h);
	/* Two preserved numbers (memfds of sessions 0 and 1) swapped. */
	CHECK_ERR(make_handover(&h, 5), 0);
	{
		int t = fcntl(h.fds[0], F_DUPFD_CLOEXEC, 0);

		CHECK(t >= 0);
		CHECK(dup2(h.fds[1], h.fds[0]) == h.fds[0]);
		CHECK(dup2(t, h.fds[1]) == h.fds[1]);
		close(t);
	}
	CHECK_EQ(refused(h.blob, h.len, &h, setup, "swapped fds"), 0);
	ho_close(&h);
	close(other);
	close(pipe_other);
	return TEST_PASS;
}

/*
 * One open file description under two records: both ends of a pipe (one
 * inode, two descriptions) preserved, then the write end's number made
 * the read end's description.  Every check of a record passes (the fd is
 * open, used once, the inode written down); read as it was, it gave two
 * incoming files holding one description.
 */
static int test_refused_one_file_twice(void)
{
	struct luo_core *old = tc_core(0, 0);
	struct luo_session *s;
	struct ho h;
	int w, r = tc_pipe(&w);

	memset(&h, 0, sizeof(h));
	tc_handler_init(&th, "fake-pipe", TC_TAKE_FIFO, false);
	luo_memfd_handler_init(&memfd);
	tc_flb_init(&flb, "flb", 0xF1B);
	CHECK(old && r >= 0);
	CHECK_ERR(setup(old, NULL), 0);
	CHECK_ERR(tc_create(old, "s", &s), 0);
	CHECK_ERR(tc_preserve(old, s, r, 1), 0);
	CHECK_ERR(tc_preserve(old, s, w, 2), 0);
	close(r);
	close(w);
	CHECK_ERR(luo_core_for_each_outgoing_fd(old, collect, &h), 0);
	CHECK_EQ(h.nfds, 2);
	CHECK_ERR(tc_exec(old, 5, &h.blob, &h.len, &h.lfd), 0);
	CHECK(dup2(h.fds[0], h.fds[1]) == h.fds[1]);
	CHECK_EQ(refused(h.blob, h.len, &h, setup, "one file twice"), 0);
	ho_close(&h);
	return TEST_PASS;
}

static const struct test_case cases[] = {
	TEST_CASE(test_round_trip),
	TEST_CASE(test_second_reboot),
	TEST_CASE(test_refused_blobs),
	TEST_CASE(test_refused_closed_fd),
	TEST_CASE(test_refused_replaced_fd),
	TEST_CASE(test_refused_one_file_twice),
};

int main(int argc, char **argv)
{
	return tc_main(argc, argv, cases, TC_ARRAY_SIZE(cases));
}
