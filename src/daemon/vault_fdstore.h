/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The vault's copies in a service manager's file descriptor store
 * (vault_fdstore.c).  Every call does nothing unless the store is on.
 */
#ifndef LUOD_VAULT_FDSTORE_H
#define LUOD_VAULT_FDSTORE_H

#include <stdbool.h>
#include <stdint.h>

int vault_fdstore_start(void);
int vault_fdstore_records(void);
void vault_fdstore_keep_records(int fd);
bool vault_fdstore_restoring(void);
int vault_fdstore_restore(uint64_t written,
			  int (*hold)(void *ctx, int32_t idx, int fd),
			  void *ctx);
void vault_fdstore_adopted(int rec_fd);
bool vault_fdstore_on(void);
int vault_fdstore_barrier(void);
bool vault_fdstore_add(int32_t idx, int fd, uint64_t seq);
void vault_fdstore_commit(int32_t idx);
void vault_fdstore_cancel(int32_t idx);
void vault_fdstore_drop(int32_t idx);
void vault_fdstore_free(void);

#endif /* LUOD_VAULT_FDSTORE_H */
