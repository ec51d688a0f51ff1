// SPDX-License-Identifier: LGPL-2.1-or-later
/* Chained hash table; see hmap.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hmap.h"

void luo_hmap_init(struct luo_hmap *m)
{
	memset(m, 0, sizeof(*m));
}

void luo_hmap_free(struct luo_hmap *m)
{
	free(m->buckets);
	luo_hmap_init(m);
}

static int hmap_grow(struct luo_hmap *m)
{
	size_t n = m->nbuckets ? m->nbuckets * 2 : 16;
	struct luo_hnode **b = calloc(n, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct luo_hnode *e = m->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = n;
	return 0;
}

/**
 * luo_hmap_insert() - add a node under a hash
 * @m:    the table
 * @n:    the node, not in any table
 * @hash: its hash
 *
 * Return: 0, or -ENOMEM if the table could not grow (nothing changed).
 */
int luo_hmap_insert(struct luo_hmap *m, struct luo_hnode *n, uint64_t hash)
{
	if (m->count >= m->nbuckets) {
		int ret = hmap_grow(m);

		if (ret && !m->nbuckets)
			return ret;
	}
	n->hash = hash;
	n->next = m->buckets[hash & (m->nbuckets - 1)];
	m->buckets[hash & (m->nbuckets - 1)] = n;
	m->count++;
	return 0;
}

/**
 * luo_hmap_remove() - take a node out of its table
 * @m: the table
 * @n: a node inserted in @m
 */
void luo_hmap_remove(struct luo_hmap *m, struct luo_hnode *n)
{
	struct luo_hnode **pp;

	if (!m->nbuckets)
		return;
	for (pp = &m->buckets[n->hash & (m->nbuckets - 1)]; *pp; pp = &(*pp)->next) {
		if (*pp == n) {
			*pp = n->next;
			n->next = NULL;
			m->count--;
			return;
		}
	}
}

/**
 * luo_hmap_first() - the first node stored under a hash
 * @m:    the table
 * @hash: the hash
 *
 * Return: a node whose hash is @hash, or NULL.
 */
struct luo_hnode *luo_hmap_first(const struct luo_hmap *m, uint64_t hash)
{
	struct luo_hnode *e;

	if (!m->nbuckets)
		return NULL;
	for (e = m->buckets[hash & (m->nbuckets - 1)]; e; e = e->next)
		if (e->hash == hash)
			return e;
	return NULL;
}

/**
 * luo_hmap_next() - the next node with the same hash
 * @n: a node returned by luo_hmap_first() or luo_hmap_next()
 *
 * Return: the next node of that hash, or NULL.
 */
struct luo_hnode *luo_hmap_next(const struct luo_hnode *n)
{
	struct luo_hnode *e;

	for (e = n->next; e; e = e->next)
		if (e->hash == n->hash)
			return e;
	return NULL;
}

/**
 * luo_hash_bytes() - FNV-1a of a byte string
 * @p:   bytes
 * @len: their number
 *
 * Return: the hash.
 */
uint64_t luo_hash_bytes(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/**
 * luo_hash_u64() - mix a 64-bit value (splitmix64 finaliser)
 * @v: the value
 *
 * Return: the hash.
 */
uint64_t luo_hash_u64(uint64_t v)
{
	v ^= v >> 30;
	v *= 0xbf58476d1ce4e5b9ull;
	v ^= v >> 27;
	v *= 0x94d049bb133111ebull;
	v ^= v >> 31;
	return v;
}
