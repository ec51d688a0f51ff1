// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * After a kexec: the first daemon started with the same --pool finds the
 * handover that REBOOT --kexec wrote (pool_kexec.c) and serves every
 * session it names as incoming, as after a REBOOT.
 *
 * No fd crossed the kexec, so each file record of the handover is mapped
 * to a file of the handover's directory ("f-FD", described in "fds"): a
 * pool file is opened there (the same pages, with the preserved access
 * mode); a memfd's copy is copied back into a new memfd, sealed as the
 * original was and opened with its access mode, so that a program written
 * for the kernel's memfd-v2 gets a memfd.  Once the core holds everything,
 * the directory is renamed "kept" (the one of the takeover before is
 * removed first): the handover is consumed, and a later boot does not read
 * it again.  Only the pool files stay there, named until the next
 * takeover, so that a retrieved pool file can be linked into the handover
 * of the next REBOOT --kexec.  A handover that cannot be read is left in
 * place and the daemon refuses to start, saying why: nothing is lost
 * silently.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "handlers.h"
#include "log.h"
#include "luo_core.h"
#include "pool.h"

/* Larger than any handover of the core's largest limits. */
#define TAKEOVER_MAX	(1u << 30)

/**
 * struct takeover_map - the files of the handover's directory
 * @dir:    the directory
 * @recs:   its "fds", sorted by fd number
 * @given:  per record: the fd opened for the core, or -1
 * @nr:     records
 * @copied: bytes of memfds copied back
 */
struct takeover_map {
	int dir;
	struct pool_fdrec *recs;
	int *given;
	size_t nr;
	uint64_t copied;
};

/* The whole of file @name in @dir; *@buf is malloc'd. */
static int takeover_read(int dir, const char *name, void **buf, size_t *len)
{
	int fd = openat(dir, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), r = 0;
	struct stat st;
	size_t off = 0;
	ssize_t n;
	char *b;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > TAKEOVER_MAX) {
		close(fd);
		return -EINVAL;
	}
	b = malloc((size_t)st.st_size + 1);
	if (!b) {
		close(fd);
		return -ENOMEM;
	}
	while (off < (size_t)st.st_size) {
		n = pread(fd, b + off, (size_t)st.st_size - off, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)n;
	}
	close(fd);
	if (r) {
		free(b);
		return r;
	}
	*buf = b;
	*len = off;
	return 0;
}

static int rec_cmp(const void *a, const void *b)
{
	uint32_t x = le32toh(((const struct pool_fdrec *)a)->fd);
	uint32_t y = le32toh(((const struct pool_fdrec *)b)->fd);

	return x < y ? -1 : x > y;
}

/* A new memfd with the copy's bytes, sealed, with the access mode @flags. */
static int takeover_memfd(struct takeover_map *m, const char *name,
			  int flags, uint32_t seals)
{
	int src = openat(m->dir, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int mfd = -1, nfd = -1, r = 0;
	char proc[64];
	struct stat st;
	off_t off = 0;
	ssize_t n;

	if (src < 0)
		return -errno;
	if (fstat(src, &st) < 0)
		r = -errno;
	if (!r) {
		mfd = memfd_create("luo-kexec",
				   MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (mfd < 0 || ftruncate(mfd, st.st_size) < 0)
			r = -errno;
	}
	while (!r && off < st.st_size) {
		n = sendfile(mfd, src, &off, (size_t)(st.st_size - off));
		if (n < 0 && errno != EINTR)
			r = -errno;
		else if (!n)
			r = -EIO;
	}
	close(src);
	if (!r && seals && fcntl(mfd, F_ADD_SEALS, (int)seals) < 0)
		r = -errno;
	if (!r && (flags & (O_ACCMODE | O_APPEND)) != O_RDWR) {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", mfd);
		nfd = open(proc, flags | O_CLOEXEC);
		if (nfd < 0)
			r = -errno;
	}
	if (!r && nfd >= 0) {
		close(mfd);
		mfd = nfd;
	}
	if (r) {
		if (mfd >= 0)
			close(mfd);
		return r;
	}
	m->copied += (uint64_t)st.st_size;
	return mfd;
}

/* struct luo_handover_fdmap's open: the file written down under @fd. */
static int takeover_open(void *ctx, uint32_t fd, const char *compatible)
{
	struct takeover_map *m = ctx;
	struct pool_fdrec key = { .fd = htole32(fd) }, *rec;
	uint32_t kind, flags;
	char name[32];
	size_t i;
	int nfd;

	rec = bsearch(&key, m->recs, m->nr, sizeof(*rec), rec_cmp);
	if (!rec)
		return -ENOENT;
	i = (size_t)(rec - m->recs);
	if (m->given[i] >= 0)
		return -EBADF;
	kind = le32toh(rec->kind);
	flags = le32toh(rec->flags) & (O_ACCMODE | O_APPEND);
	snprintf(name, sizeof(name), "f-%u", fd);
	if (kind == POOL_REC_POOL && !strcmp(compatible, LUO_POOL_COMPATIBLE))
		nfd = openat(m->dir, name,
			     (int)flags | O_CLOEXEC | O_NOFOLLOW);
	else if (kind == POOL_REC_MEMFD &&
		 !strcmp(compatible, LUO_MEMFD_COMPATIBLE))
		return m->given[i] = takeover_memfd(m, name, (int)flags,
						    le32toh(rec->seals));
	else
		return -EINVAL;
	if (nfd < 0)
		return -errno;
	return m->given[i] = nfd;
}

static void takeover_close_given(struct takeover_map *m)
{
	for (size_t i = 0; i < m->nr; i++)
		if (m->given[i] >= 0)
			close(m->given[i]);
}

/* Reads the handover of @m->dir into @core. */
static int takeover_read_all(struct takeover_map *m, struct luo_core *core)
{
	struct luo_handover_fdmap map = { .open = takeover_open, .ctx = m };
	struct luo_handover_info info;
	uint32_t out, in;
	uint64_t files, t0 = 0;
	char why[256] = "";
	void *blob = NULL, *recs = NULL;
	size_t len = 0, rlen = 0;
	int r;

	r = takeover_read(m->dir, POOL_HANDOVER_BLOB, &blob, &len);
	if (!r)
		r = takeover_read(m->dir, POOL_HANDOVER_FDS, &recs, &rlen);
	if (!r && rlen % sizeof(struct pool_fdrec))
		r = -EINVAL;
	if (r) {
		log_err("pool: the handover of a kexec cannot be read: %s",
			strerror(-r));
		free(blob);
		free(recs);
		return r;
	}
	m->recs = recs;
	m->nr = rlen / sizeof(struct pool_fdrec);
	m->given = malloc((m->nr + 1) * sizeof(*m->given));
	if (!m->given) {
		free(blob);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->nr; i++)
		m->given[i] = -1;
	qsort(m->recs, m->nr, sizeof(*m->recs), rec_cmp);
	t0 = luod_now_ns();
	r = luo_handover_read_kexec(core, blob, len, &map, &info, why,
				    sizeof(why));
	free(blob);
	if (r) {
		takeover_close_given(m);
		log_err("pool: the handover of a kexec is invalid: %s", why);
		return r;
	}
	luo_handover_info_release(&info);
	luo_core_counts(core, &out, &in, &files);
	log_notice("took over update %llu after a kexec: %u sessions, %llu files (%llu bytes of memfds copied back, in %.3f ms)",
		   (unsigned long long)info.update_number, in,
		   (unsigned long long)files, (unsigned long long)m->copied,
		   (luod_now_ns() - t0) / 1e6);
	return 0;
}

/*
 * The handover is "kept" now: all but the pool files goes (the memfds'
 * copies were copied back, the blob and "fds" were read).
 */
static void takeover_keep_pool_files(const struct takeover_map *m)
{
	char name[32];

	if (unlinkat(m->dir, POOL_HANDOVER_BLOB, 0) < 0 ||
	    unlinkat(m->dir, POOL_HANDOVER_FDS, 0) < 0)
		log_warn("pool: cannot clean the kept handover: %m");
	for (size_t i = 0; i < m->nr; i++) {
		if (le32toh(m->recs[i].kind) != POOL_REC_MEMFD)
			continue;
		snprintf(name, sizeof(name), "f-%u", le32toh(m->recs[i].fd));
		if (unlinkat(m->dir, name, 0) < 0 && errno != ENOENT)
			log_warn("pool: cannot remove %s of the kept handover: %m",
				 name);
	}
}

/**
 * pool_takeover() - serve the sessions of the kernel before a kexec
 * @p:    the pool
 * @core: a core with its handlers registered and no session
 *
 * An unfinished "handover.new" (a REBOOT --kexec that failed or died
 * before the kexec) is removed.  The handover, once read, becomes "kept"
 * with its pool files only.
 *
 * Return: 0 (with or without a handover), or -errno after logging why:
 * the daemon does not start, and the handover stays in the pool.
 */
int pool_takeover(struct pool *p, struct luo_core *core)
{
	struct takeover_map m = { .dir = -1 };
	int r;

	r = pool_remove_dir(p, POOL_HANDOVER_NEW);
	if (r)
		log_warn("pool: cannot remove an unfinished handover: %s",
			 strerror(-r));
	m.dir = openat(p->dir_fd, POOL_HANDOVER_DIR,
		       O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (m.dir < 0)
		return errno == ENOENT ? 0 : -errno;
	r = takeover_read_all(&m, core);
	if (r) {
		log_err("pool: not starting; %s/%s stays as it is (move it away to start without it)",
			p->path, POOL_HANDOVER_DIR);
		goto out;
	}
	/* Names from the takeover before: what is still preserved is here. */
	r = pool_remove_dir(p, POOL_KEPT_DIR);
	if (r)
		log_warn("pool: cannot remove %s/%s: %s", p->path,
			 POOL_KEPT_DIR, strerror(-r));
	/* Consumed: a kept handover is never read. */
	if (renameat(p->dir_fd, POOL_HANDOVER_DIR, p->dir_fd,
		     r ? POOL_HANDOVER_NEW : POOL_KEPT_DIR) < 0 ||
	    fsync(p->dir_fd) < 0) {
		r = -errno;
		log_err("pool: cannot mark the handover as taken over: %s",
			strerror(-r));
		goto out;
	}
	if (r) {
		/* As good as it gets: the pool files lose their names. */
		r = pool_remove_dir(p, POOL_HANDOVER_NEW);
		if (r)
			log_warn("pool: cannot remove the handover it took over: %s",
				 strerror(-r));
		r = 0;
		goto out;
	}
	takeover_keep_pool_files(&m);
out:
	close(m.dir);
	free(m.recs);
	free(m.given);
	return r;
}
