// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * kvd's dataset in one memfd (see store.h): create or attach, look up,
 * allocate, link, delete, flush.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

#define KVD_MAGIC	0x3176642d6f756cULL	/* "luo-dv1" */
#define KVD_LAYOUT	1
#define MIN_CLASS	6			/* 64-byte items at least */

static uint64_t hash_key(const char *key, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (n--) {
		h ^= (unsigned char)*key++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static inline void *at(struct kvd_store *st, uint64_t off)
{
	return off ? st->base + off : NULL;
}

static inline uint64_t off_of(struct kvd_store *st, const void *p)
{
	return (uint64_t)((const char *)p - st->base);
}

static uint64_t *bucket(struct kvd_store *st, const char *key, size_t n)
{
	uint64_t *b = (uint64_t *)(st->base + st->hdr->buckets);

	return &b[hash_key(key, n) & (st->hdr->nbuckets - 1)];
}

static int map(struct kvd_store *st, int fd, uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		return -errno;
	st->fd = fd;
	st->base = p;
	st->hdr = p;
	return 0;
}

/**
 * kvd_store_create() - a new, empty dataset in a new memfd
 * @st:   out: the store
 * @size: bytes of the memfd (pages are only used as items fill them)
 *
 * Return: 0 or -errno.
 */
int kvd_store_create(struct kvd_store *st, uint64_t size)
{
	struct kvd_header *h;
	uint64_t nb = 1024;
	int fd, ret;

	if (size < (1u << 20))
		return -EINVAL;
	while (nb * 256 < size)
		nb <<= 1;
	fd = memfd_create("kvd-data", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	ret = map(st, fd, size);
	if (ret) {
		close(fd);
		return ret;
	}
	h = st->hdr;
	h->magic = KVD_MAGIC;
	h->version = KVD_LAYOUT;
	h->size = size;
	h->nbuckets = nb;
	h->buckets = 4096;
	h->arena = (h->buckets + nb * 8 + 63) & ~63ULL;
	h->top = h->arena;
	return 0;
}

/**
 * kvd_store_attach() - use the dataset of a memfd as it is
 * @st: out: the store
 * @fd: the memfd; owned by @st on success
 *
 * Return: 0, -EINVAL if it is not a kvd dataset, or -errno.
 */
int kvd_store_attach(struct kvd_store *st, int fd)
{
	struct kvd_header h;
	struct stat sb;
	int ret;

	if (fstat(fd, &sb))
		return -errno;
	if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return -EINVAL;
	if (h.magic != KVD_MAGIC || h.version != KVD_LAYOUT ||
	    h.size != (uint64_t)sb.st_size || h.top > h.size)
		return -EINVAL;
	ret = map(st, fd, h.size);
	return ret;
}

/**
 * kvd_store_close() - unmap and close
 * @st: the store
 */
void kvd_store_close(struct kvd_store *st)
{
	if (st->base)
		munmap(st->base, st->hdr->size);
	if (st->fd >= 0)
		close(st->fd);
	st->base = NULL;
	st->hdr = NULL;
	st->fd = -1;
}

static bool is_live(struct kvd_store *st, struct kvd_item *it, int64_t now)
{
	int64_t fa = st->hdr->flush_at;

	if (it->exptime && it->exptime <= now)
		return false;
	return !(fa && fa <= now && it->stored < fa);
}

static void unlink_at(struct kvd_store *st, uint64_t *link, struct kvd_item *it)
{
	*link = it->next;
	st->hdr->items--;
	st->hdr->bytes -= it->nkey + it->nbytes;
	kvd_store_free(st, it);
}

/* The link that points at @key's item, or at the 0 ending its chain. */
static uint64_t *find_link(struct kvd_store *st, const char *key, size_t n)
{
	uint64_t *link = bucket(st, key, n);
	struct kvd_item *it;

	while ((it = at(st, *link))) {
		if (it->nkey == n && !memcmp(it->data, key, n))
			return link;
		link = &it->next;
	}
	return link;
}

/**
 * kvd_store_get() - the live item of a key
 * @st:   the store
 * @key:  the key
 * @nkey: its length
 * @now:  unix time; an expired or flushed item found is freed
 *
 * Return: the item, or NULL.
 */
struct kvd_item *kvd_store_get(struct kvd_store *st, const char *key,
			       size_t nkey, int64_t now)
{
	uint64_t *link = find_link(st, key, nkey);
	struct kvd_item *it = at(st, *link);

	if (it && !is_live(st, it, now)) {
		unlink_at(st, link, it);
		return NULL;
	}
	return it;
}

static uint32_t class_of(size_t bytes)
{
	uint32_t c = MIN_CLASS;

	while (((size_t)1 << c) < bytes)
		c++;
	return c;
}

/**
 * kvd_store_alloc() - an unlinked item with room for a key and a value
 * @st:     the store
 * @nkey:   key bytes
 * @nbytes: value bytes
 *
 * Return: the item with @nkey and @nbytes set, or NULL when the memfd is
 * full.
 */
struct kvd_item *kvd_store_alloc(struct kvd_store *st, size_t nkey,
				 size_t nbytes)
{
	uint32_t c = class_of(sizeof(struct kvd_item) + nkey + nbytes);
	struct kvd_header *h = st->hdr;
	struct kvd_item *it;

	if (c >= KVD_CLASSES)
		return NULL;
	it = at(st, h->free[c]);
	if (it) {
		h->free[c] = it->next;
	} else {
		if (h->size - h->top < ((uint64_t)1 << c))
			return NULL;
		it = at(st, h->top);
		h->top += (uint64_t)1 << c;
	}
	memset(it, 0, sizeof(*it));
	it->cls = c;
	it->nkey = (uint32_t)nkey;
	it->nbytes = (uint32_t)nbytes;
	return it;
}

/**
 * kvd_store_free() - give an unlinked item back to its class
 * @st: the store
 * @it: the item
 */
void kvd_store_free(struct kvd_store *st, struct kvd_item *it)
{
	it->next = st->hdr->free[it->cls];
	st->hdr->free[it->cls] = off_of(st, it);
}

/**
 * kvd_store_link() - make an item the value of its key
 * @st:  the store
 * @it:  from kvd_store_alloc(), key and value filled in
 * @now: unix time of the store
 *
 * The key's previous item, if any, is freed.  @it gets a new CAS unique.
 */
void kvd_store_link(struct kvd_store *st, struct kvd_item *it, int64_t now)
{
	uint64_t *link = find_link(st, it->data, it->nkey);
	struct kvd_item *old = at(st, *link);

	if (old)
		unlink_at(st, link, old);
	link = bucket(st, it->data, it->nkey);
	it->next = *link;
	it->cas = ++st->hdr->cas;
	it->stored = now;
	*link = off_of(st, it);
	st->hdr->items++;
	st->hdr->bytes += it->nkey + it->nbytes;
}

/**
 * kvd_store_delete() - remove a key
 * @st:   the store
 * @key:  the key
 * @nkey: its length
 * @now:  unix time
 *
 * Return: true if a live item was removed.
 */
bool kvd_store_delete(struct kvd_store *st, const char *key, size_t nkey,
		      int64_t now)
{
	uint64_t *link = find_link(st, key, nkey);
	struct kvd_item *it = at(st, *link);
	bool live;

	if (!it)
		return false;
	live = is_live(st, it, now);
	unlink_at(st, link, it);
	return live;
}

/**
 * kvd_store_flush() - flush_all
 * @st:   the store
 * @when: unix time from which every item stored before it is gone
 * @now:  unix time; if @when is not later, everything goes at once
 */
void kvd_store_flush(struct kvd_store *st, int64_t when, int64_t now)
{
	uint64_t *b = (uint64_t *)(st->base + st->hdr->buckets);

	if (when > now) {
		st->hdr->flush_at = when;
		return;
	}
	for (uint64_t i = 0; i < st->hdr->nbuckets; i++) {
		while (b[i])
			unlink_at(st, &b[i], at(st, b[i]));
	}
	st->hdr->flush_at = 0;
}
