/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the fuzz targets share: a reader over the fuzzer's input, a check
 * that aborts with a message (libFuzzer then saves the input), and fd
 * accounting.
 */
#ifndef LUO_FUZZ_H
#define LUO_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Fails the input: prints where and why, then abort(). */
#define FZ_CHECK(cond, ...) do {					\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: check failed: %s: ",		\
			__FILE__, __LINE__, #cond);			\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
		abort();						\
	}								\
} while (0)

/**
 * struct fz_in - the unread part of an input
 * @p: next byte
 * @n: bytes left; reads past the end give zeros
 */
struct fz_in {
	const uint8_t *p;
	size_t n;
};

uint8_t fz_u8(struct fz_in *in);
uint32_t fz_u32(struct fz_in *in);
uint64_t fz_u64(struct fz_in *in);
size_t fz_bytes(struct fz_in *in, void *buf, size_t len);

int fz_count_fds(void);
bool fz_fd_open(int fd);

/* Every fuzz target (libFuzzer's entry points). */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* LUO_FUZZ_H */
