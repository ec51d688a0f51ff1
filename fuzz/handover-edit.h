/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Edits of a handover blob for the handover fuzzer and its seed generator:
 * the CRC and size of the header, and the file records of every session.
 * The layouts mirror src/core/handover.c (a 16-byte header, then a
 * flattened device tree whose sessions hold a "files" array of 216-byte
 * big-endian records); if that format changes, this file follows.
 */
#ifndef LUO_FUZZ_HANDOVER_EDIT_H
#define LUO_FUZZ_HANDOVER_EDIT_H

#include <stddef.h>
#include <stdint.h>

#define HO_HDR_SIZE	16
#define HO_REC_SIZE	216
#define HO_REC_FD	56	/* offsets in a record */
#define HO_REC_TYPE	60
#define HO_REC_DEV	64
#define HO_REC_INO	72

/* The fuzzer's fds that handovers may name: HO_POOL_BASE and up. */
#define HO_POOL_BASE	200
#define HO_POOL_N	8
#define HO_LISTEN_FD	(HO_POOL_BASE + HO_POOL_N - 1)

void ho_pool_init(void);
void ho_set_size(uint8_t *blob, size_t len);
void ho_set_crc(uint8_t *blob, size_t len);
int ho_for_each_record(uint8_t *blob, size_t len,
		       void (*fn)(uint8_t *rec, void *ctx), void *ctx);
void ho_fix_identity(uint8_t *rec, void *ctx);

#endif /* LUO_FUZZ_HANDOVER_EDIT_H */
