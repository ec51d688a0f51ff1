/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The memcached text protocol over a struct kvd_store: no I/O, one command
 * at a time from an input buffer to an output buffer, so it is tested
 * without sockets.
 */
#ifndef KVD_PROTO_H
#define KVD_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/*
 * The longest command line accepted (memcached's limit as well), but for
 * get and gets: their keys are executed as they arrive, so that a line of
 * any length takes at most KVD_KEY_MAX bytes of an unfinished key.
 */
#define KVD_LINE_MAX	2048

/*
 * Past this much unsent output a get line pauses until the client has read
 * some: with the largest value, a connection's output stays under
 * KVD_OUT_HIGH + KVD_VALUE_MAX and a header.
 */
#define KVD_OUT_HIGH	(4u << 20)

/**
 * struct kvd_buf - a growable byte buffer
 * @p:   the bytes (malloc'd), or NULL
 * @len: bytes used
 * @cap: bytes allocated
 */
struct kvd_buf {
	char *p;
	size_t len;
	size_t cap;
};

int kvd_buf_put(struct kvd_buf *b, const void *p, size_t n);
int kvd_buf_printf(struct kvd_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void kvd_buf_consume(struct kvd_buf *b, size_t n);
void kvd_buf_free(struct kvd_buf *b);

enum kvd_step {
	KVD_MORE = 0,	/* the next command is not complete yet */
	KVD_DONE = 1,	/* one command consumed and answered */
	KVD_QUIT = 2,	/* close the connection (quit, or an unusable line) */
	KVD_PART = 3,	/* part of a get line consumed and answered */
};

/* struct kvd_proto flags */
#define KVD_IN_GET	0x1u	/* the input goes on with a get line's keys */
#define KVD_IN_GETS	0x2u	/* ... of a gets line */
#define KVD_IN_SKIP	0x4u	/* the rest of a refused get line is dropped */
#define KVD_GOT_KEY	0x8u	/* the get line had a key */
#define KVD_PROTO_FLAGS	0xfu

/**
 * struct kvd_proto - where a connection stands in a get line executed as it
 * arrives; zero between two commands
 * @flags: KVD_IN_GET, KVD_IN_GETS, KVD_IN_SKIP, KVD_GOT_KEY
 */
struct kvd_proto {
	uint32_t flags;
};

int kvd_proto_step(struct kvd_proto *p, struct kvd_store *st, const char *in,
		   size_t len, size_t *used, struct kvd_buf *out, int64_t now);

#endif /* KVD_PROTO_H */
