/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * An ordered set of intrusive nodes keyed by unique 64-bit keys (a treap):
 * insert, remove and "first key at or after" in O(log n) expected steps.
 * LIST uses it to resume a listing from its cursor without walking the
 * sessions before it.
 */
#ifndef LUO_SEQTREE_H
#define LUO_SEQTREE_H

#include <stdint.h>

struct luo_tnode {
	struct luo_tnode *left;
	struct luo_tnode *right;
	uint64_t key;
	uint32_t prio;
};

struct luo_tree {
	struct luo_tnode *root;
	uint32_t rng;		/* xorshift state for the priorities */
};

void luo_tree_init(struct luo_tree *t);
void luo_tree_insert(struct luo_tree *t, struct luo_tnode *n, uint64_t key);
void luo_tree_remove(struct luo_tree *t, struct luo_tnode *n);
struct luo_tnode *luo_tree_lower_bound(const struct luo_tree *t, uint64_t key,
				       uint64_t *steps);

#endif /* LUO_SEQTREE_H */
