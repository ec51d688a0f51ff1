// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A treap: a binary search tree by key that is a heap by a random
 * priority, so its depth is O(log n) expected whatever the order of the
 * keys (LIST's keys arrive in increasing order, which would make a plain
 * search tree a list).  Split and merge do all the work.
 */
#include <stddef.h>

#include "seqtree.h"

/**
 * luo_tree_init() - an empty tree
 * @t: the tree
 */
void luo_tree_init(struct luo_tree *t)
{
	t->root = NULL;
	t->rng = 0x9e3779b9u;
}

static uint32_t next_prio(struct luo_tree *t)
{
	uint32_t x = t->rng;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	t->rng = x;
	return x;
}

/* Splits @n into the keys below @key (*l) and those at or above it (*r). */
static void split(struct luo_tnode *n, uint64_t key, struct luo_tnode **l,
		  struct luo_tnode **r)
{
	if (!n) {
		*l = NULL;
		*r = NULL;
	} else if (n->key < key) {
		split(n->right, key, &n->right, r);
		*l = n;
	} else {
		split(n->left, key, l, &n->left);
		*r = n;
	}
}

/* Joins two trees, every key of @l below every key of @r. */
static struct luo_tnode *merge(struct luo_tnode *l, struct luo_tnode *r)
{
	if (!l)
		return r;
	if (!r)
		return l;
	if (l->prio > r->prio) {
		l->right = merge(l->right, r);
		return l;
	}
	r->left = merge(l, r->left);
	return r;
}

/**
 * luo_tree_insert() - add a node
 * @t:   the tree
 * @n:   a node in no tree
 * @key: its key, not in @t yet
 */
void luo_tree_insert(struct luo_tree *t, struct luo_tnode *n, uint64_t key)
{
	struct luo_tnode *l, *r;

	n->key = key;
	n->prio = next_prio(t);
	n->left = NULL;
	n->right = NULL;
	split(t->root, key, &l, &r);
	t->root = merge(merge(l, n), r);
}

/* Removes the node with @key from the subtree at *@link. */
static void remove_key(struct luo_tnode **link, uint64_t key)
{
	while (*link && (*link)->key != key)
		link = key < (*link)->key ? &(*link)->left : &(*link)->right;
	if (*link)
		*link = merge((*link)->left, (*link)->right);
}

/**
 * luo_tree_remove() - take a node out
 * @t: the tree
 * @n: a node of @t; its key must not have changed since it was inserted
 */
void luo_tree_remove(struct luo_tree *t, struct luo_tnode *n)
{
	remove_key(&t->root, n->key);
	n->left = NULL;
	n->right = NULL;
}

/**
 * luo_tree_lower_bound() - the node with the smallest key at or above @key
 * @t:     the tree
 * @key:   the key looked for
 * @steps: if not NULL, incremented by the nodes visited
 *
 * Return: the node, or NULL if every key is below @key.
 */
struct luo_tnode *luo_tree_lower_bound(const struct luo_tree *t, uint64_t key,
				       uint64_t *steps)
{
	struct luo_tnode *n = t->root, *best = NULL;

	while (n) {
		if (steps)
			(*steps)++;
		if (n->key >= key) {
			best = n;
			n = n->left;
		} else {
			n = n->right;
		}
	}
	return best;
}
