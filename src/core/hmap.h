/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A chained hash table of intrusive nodes keyed by a 64-bit hash.  The
 * caller compares keys itself while walking the nodes of one hash, so one
 * table type serves names, tokens and file identities.
 */
#ifndef LUO_HMAP_H
#define LUO_HMAP_H

#include <stddef.h>
#include <stdint.h>

struct luo_hnode {
	struct luo_hnode *next;
	uint64_t hash;
};

struct luo_hmap {
	struct luo_hnode **buckets;
	size_t nbuckets;	/* a power of two, or 0 before the first insert */
	size_t count;
};

void luo_hmap_init(struct luo_hmap *m);
void luo_hmap_free(struct luo_hmap *m);
int luo_hmap_insert(struct luo_hmap *m, struct luo_hnode *n, uint64_t hash);
void luo_hmap_remove(struct luo_hmap *m, struct luo_hnode *n);
struct luo_hnode *luo_hmap_first(const struct luo_hmap *m, uint64_t hash);
struct luo_hnode *luo_hmap_next(const struct luo_hnode *n);

uint64_t luo_hash_bytes(const void *p, size_t len);
uint64_t luo_hash_u64(uint64_t v);

/* Walk the nodes whose hash equals @h; @pos is a struct luo_hnode *. */
#define luo_hmap_for_each_hash(pos, m, h) \
	for (pos = luo_hmap_first(m, h); pos; pos = luo_hmap_next(pos))

#endif /* LUO_HMAP_H */
