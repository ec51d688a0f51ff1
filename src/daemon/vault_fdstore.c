// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The vault's copies in the service manager's file descriptor store
 * (liveupdated(8), "Under systemd"; sd_pid_notify_with_fds(3)).
 *
 * Under systemd, with NOTIFY_SOCKET set and FDSTORE (systemd 254 and
 * later set it to the unit's FileDescriptorStoreMax=; our unit sets it
 * too, for older ones) above 0, every open file description the vault
 * holds is also given to the unit's store, once, as "luovault-ID" (ID a
 * number never used twice in a store), with FDPOLL=0: systemd must not
 * drop a connection whose peer hung up while the records still name it.
 * The records memfd goes there as "luovault-records", and a map memfd as
 * "luovault-map": for each engine fd number, the ID held for it and the ID
 * pending for it with the commit it waits for, updated in place before
 * and after each change of the store.  Names use only [a-z0-9-]: systemd
 * refuses ':' (LISTEN_FDNAMES' separator).
 *
 * Why IDs and a map rather than names that say the number: systemd keeps
 * one entry per open file description (a second FDSTORE=1 of the same one
 * is ignored), and an entry cannot be renamed without a moment out of the
 * store; but the engine may hold one description under two numbers, or
 * move it from one number to another, as it may send the same one again
 * for the same number (a full account).  So an entry stands for its
 * description for as long as any number held or pending in the vault
 * names it, and only the map changes.
 *
 * When every luo process died at once, systemd restarts the unit and
 * passes the stored fds back with the socket unit's (LISTEN_FDS,
 * LISTEN_FDNAMES): the new vault takes its own apart by name, holds for
 * each number the pending ID if the records hold its commit, else the
 * held one, removes from the store what no number names, and starts its
 * engine with --recover.  Any other fd passed (liveupdated.socket's,
 * "liveupdated.socket" by default) is left to the engine under
 * LISTEN_FDS, renumbered from 3.
 *
 * No commit may name an fd the store lacks: the records header says the
 * store is on (RECORDS_FDSTORE), and before the engine writes a commit
 * that sent fds it asks (VAULT_SYNC); the vault, which stored them as it
 * read them, sends BARRIER=1 with a pipe's write end, which the manager
 * closes once it has taken every earlier message, and only then answers
 * (VAULT_SYNCED).  systemd drops a message whose sender died before it
 * read it, so without the barrier a kill of every luo process right after
 * a reply could lose what the reply acknowledged.
 *
 * A vault that dies alone takes the store's IDs with it: its engine does
 * not start a new vault then, as it does without a store, but ends too,
 * and the manager restarts the unit from the store (Restart=), which
 * holds everything the last commit names.  A vault started by an engine
 * (--vault-adopt) is therefore one whose store was off already: it clears
 * RECORDS_FDSTORE and stores nothing.  Should the store lack an fd all
 * the same (an entry the manager refused), the new engine drops what the
 * fd held, logged, and recovers the rest (recover.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/kcmp.h>
#include <systemd/sd-daemon.h>

#include "activation.h"
#include "log.h"
#include "vault_fdsafe.h"
#include "vault_fdstore.h"
#include "vault_proto.h"

#define NAME_PREFIX	"luovault-"
#define NAME_RECORDS	NAME_PREFIX "records"
#define NAME_MAP	NAME_PREFIX "map"

#define MAP_MAGIC	"LUOMAP01"
#define MAP_HEAD	64u

/**
 * struct map_slot - the map memfd's entry for one engine fd number
 * @held:     the ID held, 0 for none
 * @pend:     the ID pending, 0 for none
 * @pend_seq: the commit @pend waits for; written before and after @pend
 * @unused:   padding to 32 bytes
 */
struct map_slot {
	uint64_t held;
	uint64_t pend;
	uint64_t pend_seq;
	uint64_t unused;
};

/**
 * struct desc - one open file description in the store
 * @id:     its ID ("luovault-ID")
 * @dev:    its inode's device, for the hash
 * @ino:    its inode
 * @fd:     one of the vault's fds for it
 * @refs:   numbers holding it or waiting for it
 * @stored: it is in the store (not if the store was full, nor if the
 *          manager's close of it could block: vault_fdsafe.c)
 * @chain:  the next in its hash bucket
 */
struct desc {
	uint64_t id;
	dev_t dev;
	ino_t ino;
	int fd;
	unsigned int refs;
	bool stored;
	struct desc *chain;
};

/**
 * struct slot - one engine fd number
 * @held:    its held description, or NULL
 * @pend:    its pending description, or NULL
 * @held_fd: the vault's fd for @held
 * @pend_fd: the vault's fd for @pend
 */
struct slot {
	struct desc *held;
	struct desc *pend;
	int held_fd;
	int pend_fd;
};

/**
 * struct found - one of our fds the manager passed back at start
 * @fd: where it is now
 * @id: its ID
 */
struct found {
	int fd;
	uint64_t id;
};

/**
 * struct fdstore - the module's state (one vault per process)
 * @rec_fd:    the records memfd, whose RECORDS_FDSTORE says @on, or -1
 * @checked:   @on was worked out
 * @on:        the store is used
 * @max:       FDSTORE: entries it takes
 * @count:     entries we stored
 * @full_told: the store being full was logged
 * @unsafe_told: a file kept out of the store was logged
 * @slots:     by engine fd number
 * @nr_slots:  entries of @slots
 * @hash:      descriptions by inode
 * @nr_hash:   buckets of @hash, a power of two
 * @nr_desc:   descriptions in @hash
 * @next_id:   the next ID
 * @map:       the map memfd, or -1
 * @map_size:  its size
 * @records:   the records memfd passed back, or -1
 * @found:     our fds passed back at start, until restored
 * @nr_found:  entries of @found
 * @passed:    the other fds passed (LISTEN_FDS from 3)
 */
static struct fdstore {
	int rec_fd;
	bool checked;
	bool on;
	unsigned long max;
	unsigned long count;
	bool full_told;
	bool unsafe_told;
	struct slot *slots;
	size_t nr_slots;
	struct desc **hash;
	size_t nr_hash;
	size_t nr_desc;
	uint64_t next_id;
	int map;
	off_t map_size;
	int records;
	struct found *found;
	size_t nr_found;
	int passed;
} fs = { .next_id = 1, .map = -1, .records = -1, .rec_fd = -1 };

static bool fdstore_on(void)
{
	const char *ns = getenv("NOTIFY_SOCKET"), *max = getenv("FDSTORE");
	char *end;

	if (fs.checked)
		return fs.on;
	fs.checked = true;
	if (!ns || !*ns || !max)
		return false;
	errno = 0;
	fs.max = strtoul(max, &end, 10);
	fs.on = !errno && end != max && !*end && fs.max > 0;
	if (fs.on)
		log_info("fd store: the vault's copies go to the service manager's store (FDSTORE=%lu)",
			 fs.max);
	return fs.on;
}

/* RECORDS_FDSTORE in the records' header: the engine reads it. */
static void records_flag(bool on)
{
	const off_t at = offsetof(struct records_header, flags);
	uint32_t flags;

	if (fs.rec_fd < 0 ||
	    pread(fs.rec_fd, &flags, sizeof(flags), at) != sizeof(flags))
		return;
	flags = on ? flags | RECORDS_FDSTORE : flags & ~RECORDS_FDSTORE;
	if (pwrite(fs.rec_fd, &flags, sizeof(flags), at) != sizeof(flags))
		log_err("fd store: cannot write the records' header: %m");
}

/* Into the store under @name; false if it is full or cannot be told. */
static bool store_put(int fd, const char *name)
{
	char msg[64 + 256];
	int r;

	if (fs.count >= fs.max) {
		if (!fs.full_told)
			log_warn("fd store: full (FDSTORE=%lu): what the vault holds beyond that is lost if every luo process dies at once",
				 fs.max);
		fs.full_told = true;
		return false;
	}
	snprintf(msg, sizeof(msg), "FDSTORE=1\nFDPOLL=0\nFDNAME=%s", name);
	r = sd_pid_notify_with_fds(0, 0, msg, &fd, 1);
	if (r <= 0) {
		log_warn("fd store: cannot store %s: %s", name,
			 r ? strerror(-r) : "no notify socket");
		return false;
	}
	fs.count++;
	return true;
}

/* Out of the store, counted or not. */
static void store_remove(const char *name, bool counted)
{
	int r = sd_pid_notifyf(0, 0, "FDSTOREREMOVE=1\nFDNAME=%s", name);

	if (r <= 0)
		log_warn("fd store: cannot remove %s: %s", name,
			 r ? strerror(-r) : "no notify socket");
	if (counted && fs.count)
		fs.count--;
}

static void id_name(char *buf, size_t len, uint64_t id)
{
	snprintf(buf, len, NAME_PREFIX "%" PRIu64, id);
}

static void store_remove_id(uint64_t id, bool counted)
{
	char name[64];

	id_name(name, sizeof(name), id);
	store_remove(name, counted);
}

/* Does @a name the same open file description as @b (systemd's test)? */
static bool same_file(int a, int b)
{
	pid_t pid = getpid();
	struct stat sa, sb;
	long r = syscall(SYS_kcmp, pid, pid, KCMP_FILE, a, b);

	if (r >= 0)
		return r == 0;
	if (fstat(a, &sa) < 0 || fstat(b, &sb) < 0)
		return false;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino &&
	       fcntl(a, F_GETFL) == fcntl(b, F_GETFL);
}

/* @d out of the store. */
static void desc_unstore(struct desc *d)
{
	store_remove_id(d->id, true);
	d->stored = false;
}

/* Everything of ours out of the store. */
static void store_forget(void)
{
	for (size_t b = 0; b < fs.nr_hash; b++)
		for (struct desc *d = fs.hash[b]; d; d = d->chain)
			if (d->stored)
				desc_unstore(d);
	store_remove(NAME_MAP, true);
	store_remove(NAME_RECORDS, true);
}

/*
 * The store cannot be kept right any more: everything of ours goes out
 * of it, so that a restart starts afresh instead of from a wrong map.
 */
static void fdstore_fail(const char *why)
{
	log_err("fd store: %s; the vault stores nothing more until the unit restarts",
		why);
	store_forget();
	fs.on = false;
	records_flag(false);
}

/* The map's entry for @idx: one field at @off, written in place. */
static void map_set(int32_t idx, size_t off, uint64_t val)
{
	off_t at = (off_t)MAP_HEAD + (off_t)idx * (off_t)sizeof(struct map_slot) +
		   (off_t)off;
	off_t size = fs.map_size ? fs.map_size : 4096;

	if (fs.map < 0 || !fs.on)
		return;
	while (size < at + 8)
		size *= 2;
	if (size != fs.map_size) {
		if (ftruncate(fs.map, size) < 0) {
			fdstore_fail("the map cannot grow");
			return;
		}
		fs.map_size = size;
	}
	if (pwrite(fs.map, &val, sizeof(val), at) != (ssize_t)sizeof(val))
		fdstore_fail("the map cannot be written");
}

#define MAP_SET(idx, field, val) \
	map_set(idx, offsetof(struct map_slot, field), val)

static struct slot *slot_of(int32_t idx)
{
	size_t n = fs.nr_slots ? fs.nr_slots : 64, i;
	struct slot *s;

	if (idx < 0)
		return NULL;
	if ((size_t)idx < fs.nr_slots)
		return &fs.slots[idx];
	while (n <= (size_t)idx)
		n *= 2;
	s = realloc(fs.slots, n * sizeof(*s));
	if (!s)
		return NULL;
	for (i = fs.nr_slots; i < n; i++)
		s[i] = (struct slot){ .held_fd = -1, .pend_fd = -1 };
	fs.slots = s;
	fs.nr_slots = n;
	return &s[idx];
}

static size_t bucket(dev_t dev, ino_t ino)
{
	uint64_t h = ((uint64_t)dev * 0x9e3779b97f4a7c15ull) ^ (uint64_t)ino;

	h *= 0xff51afd7ed558ccdull;
	return (size_t)(h >> 17) & (fs.nr_hash - 1);
}

static int hash_grow(void)
{
	size_t n = fs.nr_hash ? fs.nr_hash * 2 : 256, old = fs.nr_hash;
	struct desc **h = calloc(n, sizeof(*h)), **oldh = fs.hash, *d, *next;

	if (!h)
		return -ENOMEM;
	fs.hash = h;
	fs.nr_hash = n;
	for (size_t b = 0; b < old; b++) {
		for (d = oldh[b]; d; d = next) {
			next = d->chain;
			d->chain = h[bucket(d->dev, d->ino)];
			h[bucket(d->dev, d->ino)] = d;
		}
	}
	free(oldh);
	return 0;
}

/* A description: known, or new (with a new ID; *@fresh set). */
static struct desc *desc_get(int fd, bool *fresh)
{
	struct statx st;
	dev_t dev;
	struct desc *d;

	*fresh = false;
	/* The inode's cached attributes: never a FUSE or NFS round trip. */
	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_INO,
		  &st) < 0)
		return NULL;
	dev = makedev(st.stx_dev_major, st.stx_dev_minor);
	if (fs.nr_hash)
		for (d = fs.hash[bucket(dev, st.stx_ino)]; d; d = d->chain)
			if (d->dev == dev && d->ino == st.stx_ino &&
			    same_file(d->fd, fd))
				return d;
	if ((fs.nr_desc >= fs.nr_hash && hash_grow()) ||
	    !(d = calloc(1, sizeof(*d))))
		return NULL;
	d->id = fs.next_id++;
	d->dev = dev;
	d->ino = st.stx_ino;
	d->fd = fd;
	*fresh = true;
	d->chain = fs.hash[bucket(d->dev, d->ino)];
	fs.hash[bucket(d->dev, d->ino)] = d;
	fs.nr_desc++;
	return d;
}

/*
 * One number lets go of @d, whose fd @gone the vault closes next; @other
 * is another fd of the vault's for it if the caller knows one, else -1.
 */
static void desc_put(struct desc *d, int gone, int other)
{
	struct desc **p;

	if (--d->refs) {
		if (d->fd != gone)
			return;
		if (other >= 0) {
			d->fd = other;
			return;
		}
		for (size_t i = 0; i < fs.nr_slots; i++) {
			const struct slot *s = &fs.slots[i];

			if (s->held == d && s->held_fd != gone)
				d->fd = s->held_fd;
			else if (s->pend == d && s->pend_fd != gone)
				d->fd = s->pend_fd;
			if (d->fd != gone)
				return;
		}
		return;
	}
	if (d->stored)
		desc_unstore(d);
	for (p = &fs.hash[bucket(d->dev, d->ino)]; *p != d; p = &(*p)->chain)
		;
	*p = d->chain;
	fs.nr_desc--;
	free(d);
}

static void names_free(char **names)
{
	for (size_t i = 0; names && names[i]; i++)
		free(names[i]);
	free(names);
}

static bool ours(const char *name)
{
	return !strncmp(name, NAME_PREFIX, strlen(NAME_PREFIX));
}

/* "luovault-ID" → @id; false if not exactly that. */
static bool parse_id(const char *name, uint64_t *id)
{
	unsigned long long v;
	char *end;

	name += strlen(NAME_PREFIX);
	if (*name < '1' || *name > '9')
		return false;
	errno = 0;
	v = strtoull(name, &end, 10);
	if (errno || *end)
		return false;
	*id = v;
	return true;
}

static int found_add(int fd, uint64_t id)
{
	struct found *f = realloc(fs.found, (fs.nr_found + 1) * sizeof(*f));

	if (!f)
		return -ENOMEM;
	fs.found = f;
	f[fs.nr_found++] = (struct found){ .fd = fd, .id = id };
	return 0;
}

/* One of ours, passed back: out of the way of LISTEN_FDS' numbers. */
static void take_ours(int fd, const char *name, int above)
{
	bool rec = !strcmp(name, NAME_RECORDS), map = !strcmp(name, NAME_MAP);
	uint64_t id = 0;
	int moved;

	if (!rec && !map && !parse_id(name, &id)) {
		log_warn("fd store: %s is no name of ours; removed", name);
		store_remove(name, false);
		close(fd);
		return;
	}
	moved = fcntl(fd, F_DUPFD_CLOEXEC, above);
	close(fd);
	if (moved >= 0 && rec && fs.records < 0) {
		fs.records = moved;
		return;
	}
	if (moved >= 0 && map && fs.map < 0) {
		fs.map = moved;
		return;
	}
	if (moved < 0 || rec || map || found_add(moved, id)) {
		log_err("fd store: cannot keep %s; removed", name);
		store_remove(name, false);
		if (moved >= 0)
			close(moved);
	}
}

/* LISTEN_* for what is left: @n fds from 3, named @names. */
static int listen_env(int n, char **names)
{
	char num[16], *joined;
	size_t len = 1;
	int i, r;

	if (!n) {
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_PID");
		unsetenv("LISTEN_FDNAMES");
		return 0;
	}
	for (i = 0; i < n; i++)
		len += strlen(names[i]) + 1;
	joined = calloc(1, len);
	if (!joined)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (i)
			strcat(joined, ":");
		strcat(joined, names[i]);
	}
	snprintf(num, sizeof(num), "%d", n);
	r = setenv("LISTEN_FDS", num, 1);
	snprintf(num, sizeof(num), "%d", (int)getpid());
	r = r ?: setenv("LISTEN_PID", num, 1);
	r = r ?: setenv("LISTEN_FDNAMES", joined, 1);
	free(joined);
	/* Every engine knows the socket file is the manager's. */
	r = r ?: setenv(ACTIVATION_ENV, "1", 1);
	return r ? -errno : 0;
}

/**
 * vault_fdstore_start() - take our fds apart from what the manager passed
 *
 * First thing in a vault that no engine started, before it opens any fd.
 * Our fds (by name) move above the passed range, close-on-exec, until
 * vault_fdstore_restore(); the others (the socket unit's) move down to 3
 * and LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES are set for them alone.
 * Does nothing without NOTIFY_SOCKET.  With it but with the store off
 * (FDSTORE unset or 0), what an earlier run left in the store is still
 * taken apart and recovered from, then removed from the store
 * (vault_fdstore_restore()): switching the store off loses nothing.
 *
 * Return: 0, or -errno if the environment could not be set.
 */
int vault_fdstore_start(void)
{
	char **names = NULL, *name;
	int n, i, fd, kept = 0, r;
	const char *ns = getenv("NOTIFY_SOCKET");

	if (!fdstore_on() && (!ns || !*ns))
		return 0;
	n = sd_listen_fds_with_names(0, &names);
	if (n <= 0) {
		if (n < 0)
			log_err("fd store: LISTEN_FDS: %s", strerror(-n));
		names_free(names);
		return 0;
	}
	for (i = 0; i < n; i++)
		if (ours(names[i]))
			take_ours(SD_LISTEN_FDS_START + i, names[i],
				  SD_LISTEN_FDS_START + n);
	/* The rest, in order, from 3: every lower number is free by now. */
	for (i = 0; i < n; i++) {
		if (ours(names[i]))
			continue;
		fd = SD_LISTEN_FDS_START + i;
		if (fd != SD_LISTEN_FDS_START + kept) {
			dup2(fd, SD_LISTEN_FDS_START + kept);
			close(fd);
		}
		/* sd_listen_fds() made it close-on-exec: the engine needs it. */
		fcntl(SD_LISTEN_FDS_START + kept, F_SETFD, 0);
		name = names[i];
		names[i] = names[kept];
		names[kept++] = name;
	}
	/* listen_env() reads the first @kept names. */
	r = listen_env(kept, names);
	fs.passed = kept;
	names_free(names);
	if (n > kept)
		log_notice("fd store: %d fds passed back by the service manager",
			   n - kept);
	if (r)
		log_err("fd store: LISTEN_FDS: %s", strerror(-r));
	return r;
}

/*
 * What the manager passed back is not used: all of it goes out of the
 * store, and the vault starts afresh.
 */
static void abandon(const char *why)
{
	char name[64];

	log_err("fd store: %s; starting afresh", why);
	for (size_t i = 0; i < fs.nr_found; i++) {
		id_name(name, sizeof(name), fs.found[i].id);
		store_remove(name, false);
		close(fs.found[i].fd);
	}
	free(fs.found);
	fs.found = NULL;
	fs.nr_found = 0;
	if (fs.records >= 0) {
		store_remove(NAME_RECORDS, false);
		close(fs.records);
		fs.records = -1;
	}
	if (fs.map >= 0) {
		store_remove(NAME_MAP, false);
		close(fs.map);
		fs.map = -1;
	}
}

/* Records with a commit in them: 1; none committed: 0; not records: -1. */
static int records_state(int fd)
{
	struct records_header h;

	if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    memcmp(h.magic, RECORDS_MAGIC, sizeof(h.magic)))
		return -1;
	return h.slot[h.active & 1].len != 0;
}

static bool map_valid(int fd)
{
	char magic[sizeof(MAP_MAGIC) - 1];
	struct stat st;

	if (fstat(fd, &st) < 0 || st.st_size < (off_t)MAP_HEAD ||
	    pread(fd, magic, sizeof(magic), 0) != (ssize_t)sizeof(magic) ||
	    memcmp(magic, MAP_MAGIC, sizeof(magic)))
		return false;
	fs.map_size = st.st_size;
	return true;
}

/**
 * vault_fdstore_records() - the records memfd the manager passed back
 *
 * Return: its fd (close-on-exec, now the vault's), or -1 if none was
 * passed back or what was passed back cannot be used (then none of it
 * is, and it is out of the store).
 */
int vault_fdstore_records(void)
{
	int r;

	if (fs.records < 0 && fs.map < 0 && !fs.nr_found)
		return -1;
	r = fs.records >= 0 ? records_state(fs.records) : -1;
	if (r < 0)
		abandon("no records memfd passed back");
	else if (!r)
		abandon("the records passed back hold no commit");
	else if (fs.map < 0 || !map_valid(fs.map))
		abandon("no map passed back");
	fs.rec_fd = fs.records;
	return fs.records;
}

/**
 * vault_fdstore_restoring() - does the vault recover from the store
 *
 * Return: true once vault_fdstore_records() gave the records memfd.
 */
bool vault_fdstore_restoring(void)
{
	return fs.records >= 0;
}

/**
 * vault_fdstore_keep_records() - a new records memfd: into the store
 * @fd: the memfd
 *
 * With a new map memfd.  If either cannot be stored, nothing is.
 */
void vault_fdstore_keep_records(int fd)
{
	static const char magic[] = MAP_MAGIC;

	if (!fdstore_on())
		return;
	fs.rec_fd = fd;
	fs.map = memfd_create("luo-vault-map", MFD_CLOEXEC);
	if (fs.map < 0 || ftruncate(fs.map, 4096) < 0 ||
	    pwrite(fs.map, magic, sizeof(magic) - 1, 0) !=
	    (ssize_t)sizeof(magic) - 1) {
		log_err("fd store: no map: %m; nothing is stored");
		fs.on = false;
		return;
	}
	fs.map_size = 4096;
	if (!store_put(fd, NAME_RECORDS) || !store_put(fs.map, NAME_MAP))
		fdstore_fail("the records cannot be stored");
	else
		records_flag(true);
}

static int found_cmp(const void *a, const void *b)
{
	const struct found *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* For @idx: the description in @f, held (under a dup if it has one). */
static int restore_one(int32_t idx, struct found *f, uint64_t *used,
		       int (*hold)(void *ctx, int32_t idx, int fd), void *ctx)
{
	struct desc *d = NULL;
	struct slot *s = slot_of(idx);
	int fd = used[f - fs.found] ? fcntl(f->fd, F_DUPFD_CLOEXEC, 3) : f->fd;
	bool fresh;

	if (!s || fd < 0)
		return -ENOMEM;
	d = desc_get(fd, &fresh);
	if (d && fresh) {
		/* Its own ID, stored already. */
		d->id = f->id;
		d->stored = true;
		fs.count++;
	}
	if (!d || d->id != f->id || hold(ctx, idx, fd)) {
		if (fd != f->fd)
			close(fd);
		return -EINVAL;
	}
	used[f - fs.found]++;
	d->refs++;
	s->held = d;
	s->held_fd = fd;
	return 0;
}

/**
 * vault_fdstore_restore() - hold again what the records' commit names
 * @written: the last commit the records hold
 * @hold:    takes @fd as the one held for the engine's number @idx;
 *           -errno if it cannot
 * @ctx:     for @hold
 *
 * For each number in the map, the pending ID if its commit is not after
 * @written, else the held one.  What no number names goes out of the
 * store.  The socket unit's fds passed too are closed: the records name
 * the listening socket, which the engine gets back under its number.
 *
 * Return: the number of fds held.
 */
int vault_fdstore_restore(uint64_t written,
			  int (*hold)(void *ctx, int32_t idx, int fd),
			  void *ctx)
{
	size_t nr = (size_t)(fs.map_size - MAP_HEAD) / sizeof(struct map_slot);
	uint64_t *used = calloc(fs.nr_found + 1, sizeof(*used)), id, max = 0;
	struct found key, *f;
	struct map_slot m;
	int n = 0, missing = 0;

	fs.count = 2;	/* the records and the map */
	qsort(fs.found, fs.nr_found, sizeof(*fs.found), found_cmp);
	for (size_t i = 0; used && i < nr && i <= INT32_MAX; i++) {
		if (pread(fs.map, &m, sizeof(m), MAP_HEAD + i * sizeof(m)) !=
		    (ssize_t)sizeof(m))
			break;
		max = m.held > max ? m.held : max;
		max = m.pend > max ? m.pend : max;
		id = m.pend && m.pend_seq <= written ? m.pend : m.held;
		if (!id)
			continue;
		key.id = id;
		f = bsearch(&key, fs.found, fs.nr_found, sizeof(*f), found_cmp);
		if (!f || restore_one((int32_t)i, f, used, hold, ctx)) {
			log_err("fd store: the engine's fd %zu (luovault-%" PRIu64 ") is not back",
				i, id);
			missing++;
			MAP_SET((int32_t)i, held, 0);
		} else {
			MAP_SET((int32_t)i, held, id);
			n++;
		}
		MAP_SET((int32_t)i, pend, 0);
	}
	for (size_t i = 0; i < fs.nr_found; i++) {
		max = fs.found[i].id > max ? fs.found[i].id : max;
		if (used && used[i])
			continue;
		store_remove_id(fs.found[i].id, false);
		close(fs.found[i].fd);
	}
	fs.next_id = max + 1;
	free(used);
	free(fs.found);
	fs.found = NULL;
	fs.nr_found = 0;
	for (int k = 0; k < fs.passed; k++)
		close(SD_LISTEN_FDS_START + k);
	fs.passed = 0;
	listen_env(0, NULL);
	log_notice("fd store: %d fds back from the service manager's store, as of commit %" PRIu64 "%s",
		   n, written, missing ? "; some are missing" : "");
	records_flag(fs.on);
	if (!fs.on) {
		store_forget();
		log_notice("fd store: off (FDSTORE unset or 0): what an earlier run stored is recovered and removed from the store");
	}
	return n;
}

/**
 * vault_fdstore_adopted() - this vault was started by its engine
 * @rec_fd: the records memfd
 *
 * Which happens under a store only once the store was off (an engine
 * whose vault dies under the store ends instead): nothing is stored, and
 * the engine is told so.
 */
void vault_fdstore_adopted(int rec_fd)
{
	fs.rec_fd = rec_fd;
	records_flag(false);
	fs.rec_fd = -1;
	if (!fdstore_on())
		return;
	log_warn("fd store: off since the vault before; nothing is stored until the unit restarts");
	fs.on = false;
}

/**
 * vault_fdstore_on() - do the vault's copies go to the store
 *
 * Return: true until the store fails (or if it was never on).
 */
bool vault_fdstore_on(void)
{
	return fdstore_on();
}

/**
 * vault_fdstore_barrier() - be told once the manager took all we sent
 *
 * BARRIER=1 with a pipe's write end, which the manager closes once it
 * has handled every message before it (sd_notify_barrier(3), without the
 * wait): the read end then hangs up.
 *
 * Return: the read end (close-on-exec), -ENODEV if the store is off, or
 * -errno.
 */
int vault_fdstore_barrier(void)
{
	int p[2], r;

	if (!fdstore_on())
		return -ENODEV;
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	r = sd_pid_notify_with_fds(0, 0, "BARRIER=1", &p[1], 1);
	close(p[1]);
	if (r <= 0) {
		close(p[0]);
		return r ? r : -ENOTCONN;
	}
	return p[0];
}

/* A new description into the store, if the manager may close it. */
static void desc_store(struct desc *d, int fd)
{
	char name[64];

	if (!vault_fdsafe(fd)) {
		if (!fs.unsafe_told)
			log_notice("fd store: files whose close could block the service manager (TCP connections, devices, files on network or FUSE filesystems) stay out of it: they survive a crash of the engine or of the vault, not the loss of both at once");
		fs.unsafe_told = true;
		return;
	}
	id_name(name, sizeof(name), d->id);
	d->stored = store_put(fd, name);
}

/**
 * vault_fdstore_add() - the vault holds a pending fd for a number
 * @idx: the engine's number
 * @fd:  the fd
 * @seq: the commit it waits for
 *
 * A pending fd it replaces (its commit was never written) lets go.
 *
 * Return: true if a new entry went to the store (BARRIER=1 is owed
 * before the engine may commit), false if it was there already or the
 * store is off.
 */
bool vault_fdstore_add(int32_t idx, int fd, uint64_t seq)
{
	struct slot *s;
	struct desc *d, *old;
	bool fresh;
	int old_fd;

	if (!fdstore_on())
		return false;
	s = slot_of(idx);
	d = s ? desc_get(fd, &fresh) : NULL;
	if (!d) {
		fdstore_fail("out of memory");
		return false;
	}
	d->refs++;
	old = s->pend;
	old_fd = s->pend_fd;
	s->pend = d;
	s->pend_fd = fd;
	MAP_SET(idx, pend_seq, UINT64_MAX);
	MAP_SET(idx, pend, d->id);
	MAP_SET(idx, pend_seq, seq);
	/* The map first: whoever sees the entry in the store sees it named. */
	if (fresh)
		desc_store(d, fd);
	if (old)
		desc_put(old, old_fd, old == d ? fd : -1);
	return fresh && d->stored;
}

/**
 * vault_fdstore_commit() - the pending fd for a number is the held one now
 * @idx: the engine's number
 *
 * Called before the vault closes the fd held until now.
 */
void vault_fdstore_commit(int32_t idx)
{
	struct slot *s = (size_t)idx < fs.nr_slots ? &fs.slots[idx] : NULL;
	struct desc *old;
	int old_fd;

	if (!s || !fs.on)
		return;
	old = s->held;
	old_fd = s->held_fd;
	s->held = s->pend;
	s->held_fd = s->pend_fd;
	s->pend = NULL;
	s->pend_fd = -1;
	MAP_SET(idx, held, s->held ? s->held->id : 0);
	MAP_SET(idx, pend, 0);
	if (old)
		desc_put(old, old_fd, old == s->held ? s->held_fd : -1);
}

/**
 * vault_fdstore_cancel() - the pending fd for a number is dropped
 * @idx: the engine's number
 */
void vault_fdstore_cancel(int32_t idx)
{
	struct slot *s = (size_t)idx < fs.nr_slots ? &fs.slots[idx] : NULL;
	struct desc *old;

	if (!s || !fs.on || !s->pend)
		return;
	old = s->pend;
	s->pend = NULL;
	MAP_SET(idx, pend, 0);
	desc_put(old, s->pend_fd, old == s->held ? s->held_fd : -1);
	s->pend_fd = -1;
}

/**
 * vault_fdstore_drop() - the held fd for a number is dropped
 * @idx: the engine's number
 */
void vault_fdstore_drop(int32_t idx)
{
	struct slot *s = (size_t)idx < fs.nr_slots ? &fs.slots[idx] : NULL;
	struct desc *old;

	if (!s || !fs.on || !s->held)
		return;
	old = s->held;
	s->held = NULL;
	MAP_SET(idx, held, 0);
	desc_put(old, s->held_fd, old == s->pend ? s->pend_fd : -1);
	s->held_fd = -1;
}

/**
 * vault_fdstore_free() - at the vault's exit: the module's memory
 *
 * The store keeps its entries: systemd empties it when the unit stops.
 * The fds of the descriptions are the vault's, closed with it.
 */
void vault_fdstore_free(void)
{
	struct desc *d, *next;

	for (size_t b = 0; b < fs.nr_hash; b++)
		for (d = fs.hash[b]; d; d = next) {
			next = d->chain;
			free(d);
		}
	free(fs.hash);
	free(fs.slots);
	free(fs.found);
	if (fs.map >= 0)
		close(fs.map);
	fs = (struct fdstore){ .next_id = 1, .map = -1, .records = -1,
			       .rec_fd = -1 };
}
