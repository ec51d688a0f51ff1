/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SHA-256 (FIPS 180-4) for the kexec test programs: the digest a stage
 * records before the kexec and checks after it.
 */
#ifndef LUO_KEXEC_SHA256_H
#define LUO_KEXEC_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_SIZE	32
#define SHA256_HEX_SIZE		(2 * SHA256_DIGEST_SIZE + 1)

struct sha256 {
	uint32_t h[8];
	uint64_t len;
	uint8_t buf[64];
	size_t fill;
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
void sha256_final(struct sha256 *s, uint8_t out[SHA256_DIGEST_SIZE]);
void sha256_hex(const uint8_t d[SHA256_DIGEST_SIZE],
		char hex[SHA256_HEX_SIZE]);

#endif
