/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The files the kexec scenarios preserve before the kexec and verify after
 * it: their contents come from a pattern seeded by a random nonce of the
 * first stage, so that the second stage can compare every byte, and their
 * SHA-256 digests cross the kexec in a manifest.
 */
#ifndef LUO_KEXEC_DATASET_H
#define LUO_KEXEC_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "sha256.h"

/*
 * pattern_fill() - the bytes [off, off + len) of a file's pattern
 * @seed: the file's seed (the run's nonce and the file's token)
 * @off:  where in the file; a multiple of 8
 * @buf:  the bytes
 * @len:  how many
 *
 * Each 8-byte word is splitmix64 of its index: any part of the file can be
 * made again without the parts before it.
 */
static inline void pattern_fill(uint64_t seed, uint64_t off, void *buf,
				size_t len)
{
	unsigned char *p = buf;
	uint64_t i = off / 8, z;
	size_t n;

	while (len) {
		z = seed + (i++ + 1) * 0x9e3779b97f4a7c15ull;
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		z ^= z >> 31;
		n = len < 8 ? len : 8;
		for (size_t b = 0; b < n; b++)
			p[b] = (unsigned char)(z >> (8 * b));
		p += n;
		len -= n;
	}
}

static inline uint64_t pattern_seed(uint64_t nonce, uint64_t token)
{
	return nonce ^ (token * 0xff51afd7ed558ccdull);
}

#endif
