// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The memcached text protocol (protocol.txt of memcached): get, gets, set,
 * add, replace, append, prepend, cas, delete, incr, decr, touch, flush_all,
 * stats, version, verbosity, quit; "noreply" where memcached takes it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"

#ifndef KVD_VERSION
#define KVD_VERSION "1.0"
#endif

#define MAX_TOKENS	8
#define REL_TIME_MAX	(60 * 60 * 24 * 30)	/* memcached's 30 days */

/**
 * kvd_buf_put() - append bytes
 * @b: the buffer
 * @p: the bytes
 * @n: how many
 *
 * Return: 0 or -ENOMEM.
 */
int kvd_buf_put(struct kvd_buf *b, const void *p, size_t n)
{
	if (!n)
		return 0;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *q;

		while (cap < b->len + n)
			cap *= 2;
		q = realloc(b->p, cap);
		if (!q)
			return -ENOMEM;
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

/**
 * kvd_buf_printf() - append formatted text
 * @b:   the buffer
 * @fmt: printf format
 *
 * Return: 0 or -ENOMEM.
 */
int kvd_buf_printf(struct kvd_buf *b, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -EINVAL;
	return kvd_buf_put(b, line, (size_t)n);
}

/**
 * kvd_buf_consume() - drop bytes from the front
 * @b: the buffer
 * @n: how many, at most @b->len
 */
void kvd_buf_consume(struct kvd_buf *b, size_t n)
{
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
}

/**
 * kvd_buf_free() - release the bytes
 * @b: the buffer, empty afterwards
 */
void kvd_buf_free(struct kvd_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

struct cmd {
	struct kvd_store *st;
	struct kvd_buf *out;
	int64_t now;
	char *tok[MAX_TOKENS];
	size_t ntok;
	bool noreply;
	const char *data;	/* storage commands: the data block */
};

static int reply(struct cmd *c, const char *s)
{
	if (c->noreply)
		return 0;
	return kvd_buf_put(c->out, s, strlen(s));
}

static bool parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return !errno && !*end;
}

static bool parse_i64(const char *s, int64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoll(s, &end, 10);
	return *s && !errno && !*end;
}

static int64_t abs_time(int64_t exptime, int64_t now)
{
	if (exptime < 0)
		return now - 1 > 0 ? now - 1 : 1;
	if (exptime == 0)
		return 0;
	if (exptime > REL_TIME_MAX)
		return exptime;
	return now + exptime;
}

/* Split @line in place. */
static void tokenize(struct cmd *c, char *line)
{
	char *save = NULL, *t;

	c->ntok = 0;
	for (t = strtok_r(line, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		if (c->ntok == MAX_TOKENS) {
			c->ntok++;	/* too many: a format error */
			break;
		}
		c->tok[c->ntok++] = t;
	}
}

/* Commands that take "noreply" take it off their last token. */
static void take_noreply(struct cmd *c)
{
	if (c->ntok > 1 && !strcmp(c->tok[c->ntok - 1], "noreply")) {
		c->noreply = true;
		c->ntok--;
	}
}

static int value_out(struct cmd *c, struct kvd_item *it, bool cas)
{
	int ret;

	if (cas)
		ret = kvd_buf_printf(c->out, "VALUE %.*s %u %u %" PRIu64 "\r\n",
				     (int)it->nkey, it->data, it->flags,
				     it->nbytes, it->cas);
	else
		ret = kvd_buf_printf(c->out, "VALUE %.*s %u %u\r\n",
				     (int)it->nkey, it->data, it->flags,
				     it->nbytes);
	ret = ret ?: kvd_buf_put(c->out, kvd_item_value(it), it->nbytes);
	return ret ?: kvd_buf_put(c->out, "\r\n", 2);
}

/* One key of a get line. */
static int get_one(struct cmd *c, const char *key, size_t n, bool cas)
{
	struct kvd_counters *s = &c->st->hdr->stats;
	struct kvd_item *it = kvd_store_get(c->st, key, n, c->now);

	s->cmd_get++;
	if (!it) {
		s->get_misses++;
		return 0;
	}
	s->get_hits++;
	return value_out(c, it, cas);
}

/* The length of the key at @in (ending at a space or @len). */
static size_t key_len(const char *in, size_t len)
{
	const char *sp = memchr(in, ' ', len);

	return sp ? (size_t)(sp - in) : len;
}

/* Whether every key of @in (the rest of a line, @len bytes) is short. */
static bool keys_ok(const char *in, size_t len)
{
	size_t off = 0, n;

	while (off < len) {
		n = key_len(in + off, len - off);
		if (n > KVD_KEY_MAX)
			return false;
		off += n + 1;
	}
	return true;
}

/*
 * A key too long: memcached's error, and the rest of the line is dropped
 * (at once if it is here, else as it arrives).
 */
static int get_refuse(struct cmd *c, struct kvd_proto *p, size_t skip,
		      bool eol, size_t *used)
{
	int ret = kvd_buf_printf(c->out, "CLIENT_ERROR bad command line format\r\n");

	*used = skip;
	p->flags = eol ? 0 : KVD_IN_SKIP;
	if (ret)
		return ret;
	return eol ? KVD_DONE : KVD_PART;
}

/*
 * The keys of a get line, from wherever the previous call stopped: those
 * that are complete are answered and consumed, an unfinished one waits.
 * A line that is all here is checked first, so that a key too long gets
 * memcached's error alone; a line that arrives in parts has its earlier
 * keys answered already.  The output pauses past KVD_OUT_HIGH.
 */
static int get_keys(struct cmd *c, struct kvd_proto *p, const char *in,
		    size_t len, size_t *used)
{
	const char *nl = memchr(in, '\n', len);
	size_t end = nl ? (size_t)(nl - in) : len, lim = end, off = 0, n;
	bool cas = p->flags & KVD_IN_GETS;
	int ret;

	if (nl && end && in[end - 1] == '\r')
		lim = end - 1;
	if (p->flags & KVD_IN_SKIP) {
		*used = nl ? end + 1 : len;
		p->flags = nl ? 0 : KVD_IN_SKIP;
		return nl ? KVD_DONE : KVD_PART;
	}
	if (nl && !keys_ok(in, lim))
		return get_refuse(c, p, end + 1, true, used);
	for (;;) {
		while (off < lim && in[off] == ' ')
			off++;
		if (off == lim)
			break;
		n = key_len(in + off, lim - off);
		if (n > KVD_KEY_MAX)
			return get_refuse(c, p, len, false, used);
		if (off + n == lim && !nl)
			break;		/* the key may go on */
		ret = get_one(c, in + off, n, cas);
		if (ret)
			return ret;
		p->flags |= KVD_GOT_KEY;
		off += n;
		if (c->out->len > KVD_OUT_HIGH)
			break;
	}
	*used = off;
	if (!nl || off < lim)
		return off ? KVD_PART : KVD_MORE;
	*used = end + 1;
	/* memcached: a get without a key is an unknown command. */
	ret = p->flags & KVD_GOT_KEY ? kvd_buf_put(c->out, "END\r\n", 5) :
				       kvd_buf_put(c->out, "ERROR\r\n", 7);
	p->flags = 0;
	return ret ?: KVD_DONE;
}

/* "get " or "gets ": the line goes to get_keys(), however long it is. */
static size_t get_prefix(const char *in, size_t len)
{
	if (len >= 4 && !memcmp(in, "get ", 4))
		return 4;
	if (len >= 5 && !memcmp(in, "gets ", 5))
		return 5;
	return 0;
}

enum store_op { OP_SET, OP_ADD, OP_REPLACE, OP_APPEND, OP_PREPEND, OP_CAS };

static const char *const store_names[] = {
	[OP_SET] = "set", [OP_ADD] = "add", [OP_REPLACE] = "replace",
	[OP_APPEND] = "append", [OP_PREPEND] = "prepend", [OP_CAS] = "cas",
};

struct store_args {
	enum store_op op;
	const char *key;
	size_t nkey;
	uint32_t flags;
	int64_t exptime;
	uint32_t nbytes;
	uint64_t cas;
};

/* The new item for @a, or NULL with *why set. */
static struct kvd_item *build(struct cmd *c, const struct store_args *a,
			      struct kvd_item *old, const char **why)
{
	bool cat = a->op == OP_APPEND || a->op == OP_PREPEND;
	size_t n = a->nbytes + (cat ? old->nbytes : 0);
	struct kvd_item *it = kvd_store_alloc(c->st, a->nkey, n);
	char *v;

	if (!it) {
		*why = "SERVER_ERROR out of memory storing object\r\n";
		return NULL;
	}
	memcpy(it->data, a->key, a->nkey);
	v = kvd_item_value(it);
	if (a->op == OP_APPEND) {
		memcpy(v, kvd_item_value(old), old->nbytes);
		memcpy(v + old->nbytes, c->data, a->nbytes);
	} else if (a->op == OP_PREPEND) {
		memcpy(v, c->data, a->nbytes);
		memcpy(v + a->nbytes, kvd_item_value(old), old->nbytes);
	} else {
		memcpy(v, c->data, a->nbytes);
	}
	it->flags = cat ? old->flags : a->flags;
	it->exptime = cat ? old->exptime : abs_time(a->exptime, c->now);
	return it;
}

/* What the op says when the key's current item is @old; NULL: store. */
static const char *refusal(const struct store_args *a, struct kvd_item *old,
			   struct kvd_counters *s)
{
	switch (a->op) {
	case OP_ADD:
		return old ? "NOT_STORED\r\n" : NULL;
	case OP_REPLACE:
	case OP_APPEND:
	case OP_PREPEND:
		return old ? NULL : "NOT_STORED\r\n";
	case OP_CAS:
		if (!old) {
			s->cas_misses++;
			return "NOT_FOUND\r\n";
		}
		if (old->cas != a->cas) {
			s->cas_badval++;
			return "EXISTS\r\n";
		}
		s->cas_hits++;
		return NULL;
	default:
		return NULL;
	}
}

static int do_store(struct cmd *c, const struct store_args *a)
{
	struct kvd_counters *s = &c->st->hdr->stats;
	struct kvd_item *old, *it;
	const char *why;

	s->cmd_set++;
	old = kvd_store_get(c->st, a->key, a->nkey, c->now);
	why = refusal(a, old, s);
	if (why)
		return reply(c, why);
	it = build(c, a, old, &why);
	if (!it) {
		/* memcached drops the old value of a failed set */
		if (a->op == OP_SET)
			kvd_store_delete(c->st, a->key, a->nkey, c->now);
		return reply(c, why);
	}
	kvd_store_link(c->st, it, c->now);
	return reply(c, "STORED\r\n");
}

/*
 * Parse a storage line: 0 and @a filled; 1 for a format error; 2 for a key
 * too long, with @a->nbytes the data block to swallow.
 */
static int parse_store(struct cmd *c, enum store_op op, struct store_args *a)
{
	size_t want = op == OP_CAS ? 6 : 5;
	uint64_t flags, nbytes;

	memset(a, 0, sizeof(*a));
	a->op = op;
	if (c->ntok != want)
		return 1;
	a->key = c->tok[1];
	a->nkey = strlen(a->key);
	/* A key too long with a usable length: its data block is swallowed. */
	if (a->nkey > KVD_KEY_MAX && parse_u64(c->tok[4], &nbytes) &&
	    nbytes <= KVD_VALUE_MAX) {
		a->nbytes = (uint32_t)nbytes;
		return 2;
	}
	if (a->nkey > KVD_KEY_MAX || !parse_u64(c->tok[2], &flags) ||
	    flags > UINT32_MAX || !parse_i64(c->tok[3], &a->exptime) ||
	    !parse_u64(c->tok[4], &nbytes) || nbytes > INT32_MAX - 2)
		return 1;
	if (op == OP_CAS && !parse_u64(c->tok[5], &a->cas))
		return 1;
	a->flags = (uint32_t)flags;
	a->nbytes = (uint32_t)nbytes;
	return 0;
}

static int do_delete(struct cmd *c)
{
	struct kvd_counters *s = &c->st->hdr->stats;
	bool hit;

	if (c->ntok > 3 || (c->ntok == 3 && strcmp(c->tok[2], "0")))
		return reply(c, "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n");
	if (c->ntok < 2 || strlen(c->tok[1]) > KVD_KEY_MAX)
		return reply(c, "CLIENT_ERROR bad command line format\r\n");
	hit = kvd_store_delete(c->st, c->tok[1], strlen(c->tok[1]), c->now);
	if (hit)
		s->delete_hits++;
	else
		s->delete_misses++;
	return reply(c, hit ? "DELETED\r\n" : "NOT_FOUND\r\n");
}

static bool value_number(struct kvd_item *it, uint64_t *v)
{
	char num[24];

	if (!it->nbytes || it->nbytes >= sizeof(num))
		return false;
	memcpy(num, kvd_item_value(it), it->nbytes);
	num[it->nbytes] = '\0';
	return parse_u64(num, v);
}

static int do_arith(struct cmd *c, bool incr)
{
	struct kvd_counters *s = &c->st->hdr->stats;
	struct kvd_item *it, *nit;
	uint64_t delta, v;
	char num[24];
	int n;

	if (c->ntok != 3 || strlen(c->tok[1]) > KVD_KEY_MAX)
		return reply(c, "CLIENT_ERROR bad command line format\r\n");
	if (!parse_u64(c->tok[2], &delta))
		return reply(c, "CLIENT_ERROR invalid numeric delta argument\r\n");
	it = kvd_store_get(c->st, c->tok[1], strlen(c->tok[1]), c->now);
	if (!it) {
		(*(incr ? &s->incr_misses : &s->decr_misses))++;
		return reply(c, "NOT_FOUND\r\n");
	}
	if (!value_number(it, &v))
		return reply(c, "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
	(*(incr ? &s->incr_hits : &s->decr_hits))++;
	v = incr ? v + delta : (delta > v ? 0 : v - delta);
	n = snprintf(num, sizeof(num), "%" PRIu64, v);
	nit = kvd_store_alloc(c->st, it->nkey, (size_t)n);
	if (!nit)
		return reply(c, "SERVER_ERROR out of memory\r\n");
	memcpy(nit->data, it->data, it->nkey);
	memcpy(kvd_item_value(nit), num, (size_t)n);
	nit->flags = it->flags;
	nit->exptime = it->exptime;
	kvd_store_link(c->st, nit, c->now);
	if (c->noreply)
		return 0;
	return kvd_buf_printf(c->out, "%s\r\n", num);
}

static int do_touch(struct cmd *c)
{
	struct kvd_counters *s = &c->st->hdr->stats;
	struct kvd_item *it;
	int64_t exptime;

	if (c->ntok != 3 || strlen(c->tok[1]) > KVD_KEY_MAX ||
	    !parse_i64(c->tok[2], &exptime))
		return reply(c, "CLIENT_ERROR bad command line format\r\n");
	s->cmd_touch++;
	it = kvd_store_get(c->st, c->tok[1], strlen(c->tok[1]), c->now);
	if (!it) {
		s->touch_misses++;
		return reply(c, "NOT_FOUND\r\n");
	}
	s->touch_hits++;
	it->exptime = abs_time(exptime, c->now);
	return reply(c, "TOUCHED\r\n");
}

static int do_flush(struct cmd *c)
{
	int64_t delay = 0;

	if (c->ntok > 2 || (c->ntok == 2 && !parse_i64(c->tok[1], &delay)))
		return reply(c, "CLIENT_ERROR bad command line format\r\n");
	c->st->hdr->stats.cmd_flush++;
	kvd_store_flush(c->st, delay > 0 ? abs_time(delay, c->now) : c->now,
			c->now);
	return reply(c, "OK\r\n");
}

#define STAT(name, v) kvd_buf_printf(c->out, "STAT " name " %" PRIu64 "\r\n", \
				     (uint64_t)(v))

static int do_stats(struct cmd *c)
{
	struct kvd_header *h = c->st->hdr;
	struct kvd_counters *s = &h->stats;
	int ret;

	if (c->ntok == 2 && !strcmp(c->tok[1], "reset")) {
		memset(s, 0, sizeof(*s));
		return reply(c, "RESET\r\n");
	}
	if (c->ntok != 1)
		return reply(c, "ERROR\r\n");
	ret = STAT("pid", getpid()) ?: STAT("uptime", c->now - h->started) ?:
	      STAT("time", c->now) ?:
	      kvd_buf_printf(c->out, "STAT version %s\r\n", KVD_VERSION) ?:
	      STAT("pointer_size", 8 * sizeof(void *)) ?:
	      STAT("curr_items", h->items) ?: STAT("bytes", h->bytes) ?:
	      STAT("limit_maxbytes", h->size) ?:
	      STAT("arena_used", h->top - h->arena) ?:
	      STAT("total_connections", s->total_connections) ?:
	      STAT("cmd_get", s->cmd_get) ?: STAT("cmd_set", s->cmd_set) ?:
	      STAT("cmd_flush", s->cmd_flush) ?: STAT("cmd_touch", s->cmd_touch) ?:
	      STAT("get_hits", s->get_hits) ?: STAT("get_misses", s->get_misses) ?:
	      STAT("delete_hits", s->delete_hits) ?:
	      STAT("delete_misses", s->delete_misses) ?:
	      STAT("incr_hits", s->incr_hits) ?: STAT("incr_misses", s->incr_misses) ?:
	      STAT("decr_hits", s->decr_hits) ?: STAT("decr_misses", s->decr_misses) ?:
	      STAT("cas_hits", s->cas_hits) ?: STAT("cas_misses", s->cas_misses) ?:
	      STAT("cas_badval", s->cas_badval) ?:
	      STAT("touch_hits", s->touch_hits) ?:
	      STAT("touch_misses", s->touch_misses) ?:
	      STAT("requests", s->requests) ?: STAT("live_updates", s->upgrades);
	return ret ?: kvd_buf_put(c->out, "END\r\n", 5);
}

static int do_verbosity(struct cmd *c)
{
	uint64_t v;

	if (c->ntok > 2 || (c->ntok == 2 && !parse_u64(c->tok[1], &v)) ||
	    (c->ntok == 1 && !c->noreply)) {
		c->noreply = false;
		return reply(c, "ERROR\r\n");
	}
	return reply(c, "OK\r\n");
}

/* Commands without a data block; 1 means quit. */
static int simple(struct cmd *c)
{
	const char *w = c->tok[0];

	if (strcmp(w, "version") && strcmp(w, "quit") && strcmp(w, "stats"))
		take_noreply(c);
	if (!strcmp(w, "delete"))
		return do_delete(c);
	if (!strcmp(w, "incr") || !strcmp(w, "decr"))
		return do_arith(c, w[0] == 'i');
	if (!strcmp(w, "touch"))
		return do_touch(c);
	if (!strcmp(w, "flush_all"))
		return do_flush(c);
	if (!strcmp(w, "stats"))
		return do_stats(c);
	if (!strcmp(w, "version") && c->ntok == 1)
		return kvd_buf_printf(c->out, "VERSION %s\r\n", KVD_VERSION);
	if (!strcmp(w, "verbosity"))
		return do_verbosity(c);
	if (!strcmp(w, "quit") && c->ntok == 1)
		return 1;
	c->noreply = false;
	return reply(c, "ERROR\r\n");
}

static int store_op_of(const char *w)
{
	for (size_t i = 0; i < sizeof(store_names) / sizeof(store_names[0]); i++)
		if (!strcmp(w, store_names[i]))
			return (int)i;
	return -1;
}

/* A storage command whose line is @line (@eol bytes with its newline). */
static int storage(struct cmd *c, enum store_op op, const char *in,
		   size_t len, size_t eol, size_t *used)
{
	struct store_args a;
	int bad = parse_store(c, op, &a);

	if (bad == 2 && len < eol + a.nbytes + 2)
		return KVD_MORE;
	if (bad) {
		*used = eol + (bad == 2 ? a.nbytes + 2 : 0);
		c->noreply = false;
		return reply(c, "CLIENT_ERROR bad command line format\r\n");
	}
	if (a.nbytes > KVD_VALUE_MAX) {
		/* Swallow the data block, as memcached does. */
		if (len < eol + a.nbytes + 2)
			return KVD_MORE;
		*used = eol + a.nbytes + 2;
		return reply(c, "SERVER_ERROR object too large for cache\r\n");
	}
	if (len < eol + a.nbytes + 2)
		return KVD_MORE;
	*used = eol + a.nbytes + 2;
	c->data = in + eol;
	if (memcmp(c->data + a.nbytes, "\r\n", 2)) {
		c->noreply = false;
		return reply(c, "CLIENT_ERROR bad data chunk\r\n");
	}
	return do_store(c, &a);
}

static int step_line(struct cmd *c, char *line, const char *in, size_t len,
		     size_t eol, size_t *used)
{
	int op, ret;

	tokenize(c, line);
	if (!c->ntok || c->ntok > MAX_TOKENS) {
		*used = eol;
		c->noreply = false;
		ret = reply(c, "ERROR\r\n");
		return ret < 0 ? ret : KVD_DONE;
	}
	op = store_op_of(c->tok[0]);
	if (op >= 0) {
		take_noreply(c);
		ret = storage(c, (enum store_op)op, in, len, eol, used);
		return ret < 0 ? ret : (*used ? KVD_DONE : KVD_MORE);
	}
	*used = eol;
	ret = simple(c);
	return ret < 0 ? ret : ret ? KVD_QUIT : KVD_DONE;
}

/* The next part of a get line: the prefix consumed counts as progress. */
static int step_get(struct cmd *c, struct kvd_proto *p, const char *in,
		    size_t len, size_t skip, size_t *used)
{
	int ret = get_keys(c, p, in + skip, len - skip, used);

	*used += skip;
	return ret == KVD_MORE && *used ? KVD_PART : ret;
}

/**
 * kvd_proto_step() - execute the first complete command of @in
 * @p:    the connection's place in a get line
 * @st:   the store
 * @in:   the bytes received and not yet consumed
 * @len:  how many
 * @used: out: bytes of @in the command took (0 with KVD_MORE)
 * @out:  the answer is appended here
 * @now:  unix time
 *
 * A get or gets line is executed as it arrives, whatever its length:
 * KVD_PART says that the keys complete so far were answered and consumed,
 * the rest of the line to come in a later call.  Every other command waits
 * for its whole line, at most KVD_LINE_MAX bytes.
 *
 * Return: enum kvd_step, or -ENOMEM.
 */
int kvd_proto_step(struct kvd_proto *p, struct kvd_store *st, const char *in,
		   size_t len, size_t *used, struct kvd_buf *out, int64_t now)
{
	struct cmd c = { .st = st, .out = out, .now = now };
	const char *nl;
	char line[KVD_LINE_MAX + 1];
	size_t eol, n;
	int ret;

	*used = 0;
	if (p->flags & (KVD_IN_GET | KVD_IN_SKIP))
		ret = step_get(&c, p, in, len, 0, used);
	else if ((n = get_prefix(in, len))) {
		p->flags = KVD_IN_GET | (n == 5 ? KVD_IN_GETS : 0);
		ret = step_get(&c, p, in, len, n, used);
	} else {
		nl = memchr(in, '\n', len < KVD_LINE_MAX ? len : KVD_LINE_MAX);
		if (!nl) {
			if (len < KVD_LINE_MAX)
				return KVD_MORE;
			kvd_buf_printf(out, "CLIENT_ERROR line too long\r\n");
			return KVD_QUIT;
		}
		eol = (size_t)(nl - in) + 1;
		n = eol - 1;
		if (n && in[n - 1] == '\r')
			n--;
		memcpy(line, in, n);
		line[n] = '\0';
		ret = step_line(&c, line, in, len, eol, used);
	}
	if (ret == KVD_DONE || ret == KVD_QUIT)
		st->hdr->stats.requests++;
	return ret;
}
