/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Callbacks and data layouts that several file handlers share. */
#ifndef LUO_HANDLERS_COMMON_H
#define LUO_HANDLERS_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "luo_handler.h"

/**
 * struct memfd_luo_ser - the memfd handler's @data in the handover
 * @pos:   file position of the preserved open file description
 * @size:  file size when last recorded (preserve, then freeze)
 * @seals: F_SEAL_* bits when last recorded (preserve, then freeze)
 * @flags: reserved, 0
 *
 * Packed, 24 bytes, every field little-endian.  It is the first 24 bytes of
 * the kernel's memfd-v2 struct memfd_luo_ser (SPEC.md 7.5), without the
 * folio array: the pages stay in the inode, which the daemon keeps open.
 * @data_len is exactly sizeof(struct memfd_luo_ser); anything else is
 * rejected by retrieve with EINVAL.
 */
struct memfd_luo_ser {
	uint64_t pos;
	uint64_t size;
	uint32_t seals;
	uint32_t flags;
} __attribute__((packed));

void luo_memfd_ser_store(struct luo_file_op_args *args,
			 const struct memfd_luo_ser *ser);
int luo_memfd_ser_load(const struct luo_file_op_args *args,
		       struct memfd_luo_ser *ser);
int luo_handler_inode_id(struct luo_file_handler *h, int fd,
			 struct luo_file_id *id);
void luo_handler_release_nothing(struct luo_file_op_args *args);
int luo_handler_retrieve_same(struct luo_file_op_args *args);
int luo_handler_reopen(int fd, int flags, bool wait);
void luo_handler_close(int fd);

#endif /* LUO_HANDLERS_COMMON_H */
