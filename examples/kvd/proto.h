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

/* The longest command line accepted (memcached's limit as well). */
#define KVD_LINE_MAX	2048

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
};

int kvd_proto_step(struct kvd_store *st, const char *in, size_t len,
		   size_t *used, struct kvd_buf *out, int64_t now);

#endif /* KVD_PROTO_H */
