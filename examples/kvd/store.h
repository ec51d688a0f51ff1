/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kvd's dataset: a hash table and an arena of items inside one memfd.
 *
 * Everything in the memfd is position-independent (offsets from its start,
 * never pointers), so a successor process maps the same memfd and uses it as
 * it is: no copy, no rebuild.  Items are carved from the arena in size
 * classes of powers of two and recycled through one free list per class.
 */
#ifndef KVD_STORE_H
#define KVD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KVD_KEY_MAX	250
#define KVD_VALUE_MAX	(1u << 20)
#define KVD_CLASSES	32

/**
 * struct kvd_counters - statistics kept in the memfd, so they survive updates
 */
struct kvd_counters {
	uint64_t cmd_get, cmd_set, cmd_touch, get_hits, get_misses;
	uint64_t delete_hits, delete_misses, incr_hits, incr_misses;
	uint64_t decr_hits, decr_misses, cas_hits, cas_misses, cas_badval;
	uint64_t touch_hits, touch_misses, cmd_flush, requests;
	uint64_t total_connections, upgrades;
};

/**
 * struct kvd_header - the first bytes of the memfd
 * @magic:     KVD_MAGIC
 * @version:   layout version
 * @size:      bytes of the memfd
 * @nbuckets:  hash buckets (a power of two)
 * @buckets:   offset of the bucket array (u64 item offsets, 0 = empty)
 * @arena:     offset of the first arena byte
 * @top:       offset of the first never-used arena byte
 * @free:      per size class, offset of the first free item
 * @items:     live items
 * @bytes:     bytes of live keys and values
 * @cas:       last CAS value handed out
 * @flush_at:  items stored at or before this time are flushed (0: none)
 * @started:   the first start, unix time
 * @stats:     counters
 */
struct kvd_header {
	uint64_t magic;
	uint64_t version;
	uint64_t size;
	uint64_t nbuckets;
	uint64_t buckets;
	uint64_t arena;
	uint64_t top;
	uint64_t free[KVD_CLASSES];
	uint64_t items;
	uint64_t bytes;
	uint64_t cas;
	int64_t flush_at;
	int64_t started;
	struct kvd_counters stats;
};

/**
 * struct kvd_item - one key and value, at an arena offset
 * @next:    next item of the bucket (or of the free list)
 * @cas:     its CAS unique
 * @exptime: absolute unix time it expires, 0 never
 * @stored:  unix time it was stored, for flush_all
 * @flags:   the client's flags
 * @nkey:    key bytes
 * @nbytes:  value bytes (without the trailing CRLF)
 * @cls:     size class
 * @data:    the key, then the value
 */
struct kvd_item {
	uint64_t next;
	uint64_t cas;
	int64_t exptime;
	int64_t stored;
	uint32_t flags;
	uint32_t nkey;
	uint32_t nbytes;
	uint32_t cls;
	char data[];
};

/**
 * struct kvd_store - a mapping of the memfd in this process
 * @fd:   the memfd (owned)
 * @base: its mapping
 * @hdr:  @base as the header
 */
struct kvd_store {
	int fd;
	char *base;
	struct kvd_header *hdr;
};

int kvd_store_create(struct kvd_store *st, uint64_t size);
int kvd_store_attach(struct kvd_store *st, int fd);
void kvd_store_close(struct kvd_store *st);

struct kvd_item *kvd_store_get(struct kvd_store *st, const char *key,
			       size_t nkey, int64_t now);
struct kvd_item *kvd_store_alloc(struct kvd_store *st, size_t nkey,
				 size_t nbytes);
void kvd_store_link(struct kvd_store *st, struct kvd_item *it, int64_t now);
void kvd_store_free(struct kvd_store *st, struct kvd_item *it);
bool kvd_store_delete(struct kvd_store *st, const char *key, size_t nkey,
		      int64_t now);
void kvd_store_flush(struct kvd_store *st, int64_t when, int64_t now);

static inline char *kvd_item_value(struct kvd_item *it)
{
	return it->data + it->nkey;
}

#endif /* KVD_STORE_H */
