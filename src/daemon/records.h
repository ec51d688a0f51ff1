/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The engine's records and its link to the vault (records.c). */
#ifndef LUOD_RECORDS_H
#define LUOD_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct luo_core;
struct transport;
struct records;
struct records_stats;

int records_open(struct records **out, int sock, int fd);
void records_attach(struct records *rc, struct luo_core *core,
		    struct transport *tp);
void records_free(struct records *rc);
void records_commit(void *ctx);
void records_flush(struct records *rc);
int records_read(struct records *rc, void **blob, size_t *len);
int records_inflight(const struct records *rc);
int records_sent(const struct records *rc);
volatile int32_t *records_inflight_word(struct records *rc);
void records_serving(struct records *rc);
struct records_stats *records_stats(struct records *rc);
int records_exec(struct records *rc, uint32_t timeout_ms);
void records_lost(struct records *rc);
int records_held(const struct records *rc, int **out, size_t *n);
void records_relink(struct records *rc, int sock);
int records_sock(const struct records *rc);
void records_vault_dead(struct records *rc);
bool records_in_store(const struct records *rc);
int records_vault_read(struct records *rc);

#endif /* LUOD_RECORDS_H */
