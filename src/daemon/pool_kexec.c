// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * REBOOT --kexec (LUO_IOCTL_REBOOT_KEXEC, liveupdated(8)): a real kexec
 * into a new kernel, after which the next boot's daemon, started with the
 * same --pool, serves every session as incoming (pool_takeover.c).
 *
 * Order, so that a failure before the kexec changes nothing:
 *  1. open the kernel and the initrd (the daemon opens the paths: the
 *     request is the administrator's alone) and read the command line;
 *  2. check that every outgoing file can cross a kernel change: pool files
 *     (luo-pool-v1) and ordinary memfds (memfd-v2) can, nothing else can
 *     (sockets, pipes, eventfds, processes' files): EXDEV, with the
 *     session, token and handler in STATUS's failure reason, before
 *     anything is frozen; with --max-pool-per-user, that the copies of
 *     each uid's memfds fit in what its quota leaves it: EDQUOT, with the
 *     uid and a session of it in the reason;
 *  3. freeze every outgoing session;
 *  4. in a new directory of the pool, "handover.new": link every pool file
 *     (the same pages: nothing is copied) and copy every memfd (its time is
 *     logged; with --max-pool-per-user the copy is its session owner's
 *     file, written with CAP_SYS_RESOURCE lowered so that the owner's
 *     quota holds for it), as "f-FD" under the fd number the handover
 *     writes it under;
 *     "fds", what each one is (struct pool_fdrec); "handover", the same
 *     handover a REBOOT writes (handover.c: the writer does not know where
 *     its bytes go);
 *  5. make it durable: fsync every file and the directory, rename it to
 *     "handover", fsync the pool, syncfs();
 *  6. kexec_file_load() and reboot(LINUX_REBOOT_CMD_KEXEC).  With
 *     --kexec-simulate (a test option) the daemon exits instead, as the
 *     machine would vanish, and a new daemon with the same --pool takes
 *     over.
 * A failure in 3-6 removes the directory and unfreezes everything; the
 * errno and the failing step are answered and shown by STATUS.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/reboot.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "daemon.h"
#include "handlers.h"
#include "io.h"
#include "log.h"
#include "luo_core.h"
#include "pool.h"
#include "transport.h"

#ifndef KEXEC_FILE_NO_INITRAMFS
#define KEXEC_FILE_UNLOAD	0x00000001
#define KEXEC_FILE_NO_INITRAMFS	0x00000004
#endif

/**
 * struct kexec_image - what kexec_file_load() is given
 * @kernel_fd: the kernel image
 * @initrd_fd: the initrd, or -1
 * @cmdline:   the command line, NUL-terminated
 */
struct kexec_image {
	int kernel_fd;
	int initrd_fd;
	char cmdline[LUO_KEXEC_CMDLINE_LENGTH];
};

/**
 * struct kexec_need - what one uid's memfds will take of the pool
 * @uid:     the sessions' owner
 * @bytes:   the copies' size, in whole blocks
 * @session: one of its sessions with a memfd, for the reason
 */
struct kexec_need {
	uint32_t uid;
	uint64_t bytes;
	const char *session;
};

/**
 * struct kexec_writer - the handover directory being written
 * @d:       the daemon
 * @dir:     "handover.new" in the pool
 * @recs:    one record per file
 * @nr:      records used
 * @cap:     records allocated
 * @linked:  pool files linked
 * @copied:  memfds copied
 * @bytes:   bytes copied
 * @needs:   with the pool's quota, each uid's copies (step 2)
 * @nr_needs: entries of @needs
 * @block:   the pool's block size
 * @why:     the failing step, for STATUS
 */
struct kexec_writer {
	struct luod *d;
	int dir;
	struct pool_fdrec *recs;
	size_t nr;
	size_t cap;
	uint32_t linked;
	uint32_t copied;
	uint64_t bytes;
	struct kexec_need *needs;
	size_t nr_needs;
	uint64_t block;
	char why[LUO_REBOOT_FAILURE_LENGTH];
};

static void kexec_image_close(struct kexec_image *img)
{
	if (img->kernel_fd >= 0)
		close(img->kernel_fd);
	if (img->initrd_fd >= 0)
		close(img->initrd_fd);
	img->kernel_fd = img->initrd_fd = -1;
}

/* /proc/cmdline without its newline. */
static int kexec_read_cmdline(char *buf, size_t len)
{
	int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* Step 1: the kernel, the initrd and the command line (defaults: ours). */
static int kexec_open_image(const struct luo_reboot_kexec *arg,
			    struct kexec_image *img, char *why, size_t len)
{
	char path[LUO_KEXEC_PATH_LENGTH + 64];
	struct utsname u;
	int r = 0;

	if (uname(&u) < 0)
		return -errno;
	if (arg->kernel[0])
		snprintf(path, sizeof(path), "%s", arg->kernel);
	else
		snprintf(path, sizeof(path), "/boot/vmlinuz-%s", u.release);
	img->kernel_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (img->kernel_fd < 0) {
		r = -errno;
		snprintf(why, len, "cannot open the kernel");
		log_warn("reboot --kexec: kernel %s: %s", path, strerror(-r));
		return r;
	}
	if (!(arg->flags & LUO_KEXEC_NO_INITRD)) {
		if (arg->initrd[0])
			snprintf(path, sizeof(path), "%s", arg->initrd);
		else
			snprintf(path, sizeof(path), "/boot/initrd.img-%s",
				 u.release);
		img->initrd_fd = open(path, O_RDONLY | O_CLOEXEC);
		/* The default initrd is used if there is one. */
		if (img->initrd_fd < 0 && (arg->initrd[0] || errno != ENOENT)) {
			r = -errno;
			snprintf(why, len, "cannot open the initrd");
			log_warn("reboot --kexec: initrd %s: %s", path,
				 strerror(-r));
			return r;
		}
	}
	if (arg->flags & LUO_KEXEC_CMDLINE)
		snprintf(img->cmdline, sizeof(img->cmdline), "%s",
			 arg->cmdline);
	else
		r = kexec_read_cmdline(img->cmdline, sizeof(img->cmdline));
	if (r)
		snprintf(why, len, "cannot read /proc/cmdline");
	return r;
}

/* Step 2, with the pool's quota: a memfd's copy, counted for its owner. */
static int kexec_count_memfd(struct kexec_writer *w, int fd,
			     const char *session, uint32_t owner)
{
	struct kexec_need *n = NULL;
	struct stat st;

	if (!w->d->pool->quota || !owner)
		return 0;
	if (fstat(fd, &st) < 0)
		return -errno;
	for (size_t i = 0; i < w->nr_needs && !n; i++)
		if (w->needs[i].uid == owner)
			n = &w->needs[i];
	if (!n) {
		n = realloc(w->needs, (w->nr_needs + 1) * sizeof(*n));
		if (!n)
			return -ENOMEM;
		w->needs = n;
		n = &w->needs[w->nr_needs++];
		*n = (struct kexec_need){ .uid = owner, .session = session };
	}
	n->bytes += ((uint64_t)st.st_size + w->block - 1) / w->block *
		    w->block;
	return 0;
}

/*
 * Step 2, with the pool's quota: each uid's copies fit in what its limit
 * leaves it, or the kexec is refused now, before the freeze, naming it.
 */
static int kexec_check_quota(struct kexec_writer *w)
{
	uint64_t used, limit;
	int r;

	for (size_t i = 0; i < w->nr_needs; i++) {
		struct kexec_need *n = &w->needs[i];

		r = pool_quota_room(w->d->pool, n->uid, n->bytes, &used,
				    &limit);
		if (r == -EDQUOT) {
			snprintf(w->why, sizeof(w->why),
				 "uid %u over its pool quota: '%s'", n->uid,
				 n->session);
			log_warn("reboot --kexec: uid %u (session '%s'...): its memfds' copies need %llu bytes of the pool, it uses %llu of its %llu (--max-pool-per-user)",
				 n->uid, n->session,
				 (unsigned long long)n->bytes,
				 (unsigned long long)used,
				 (unsigned long long)limit);
		} else if (r) {
			snprintf(w->why, sizeof(w->why),
				 "cannot read uid %u's pool quota", n->uid);
		}
		if (r)
			return r;
	}
	return 0;
}

/* Step 2: what cannot cross a kernel change fails the request now. */
static int kexec_check_file(void *ctx, int fd, const char *compatible,
			    const char *session, uint32_t owner,
			    uint64_t token)
{
	struct kexec_writer *w = ctx;

	if (!strcmp(compatible, LUO_MEMFD_COMPATIBLE))
		return kexec_count_memfd(w, fd, session, owner);
	if (!strcmp(compatible, LUO_POOL_COMPATIBLE))
		return 0;
	snprintf(w->why, sizeof(w->why), "a %s file in '%s'", compatible,
		 session);
	log_warn("reboot --kexec: session '%s', token %llu: a %s file cannot cross a kernel change; only pool files and memfds can",
		 session, (unsigned long long)token, compatible);
	return -EXDEV;
}

static int kexec_add_rec(struct kexec_writer *w, int fd, uint32_t kind,
			 uint32_t seals)
{
	int fl = fcntl(fd, F_GETFL);
	struct pool_fdrec *rec;

	if (fl < 0)
		return -errno;
	if (w->nr == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;

		rec = realloc(w->recs, cap * sizeof(*rec));
		if (!rec)
			return -ENOMEM;
		w->recs = rec;
		w->cap = cap;
	}
	rec = &w->recs[w->nr++];
	rec->fd = htole32((uint32_t)fd);
	rec->kind = htole32(kind);
	rec->flags = htole32((uint32_t)(fl & (O_ACCMODE | O_APPEND)));
	rec->seals = htole32(seals);
	return 0;
}

/* The whole of @in into @out from offset 0, in the kernel. */
static int kexec_copy(int in, int out, uint64_t size)
{
	off_t off = 0;
	ssize_t n;

	while ((uint64_t)off < size) {
		n = sendfile(out, in, &off, (size_t)(size - (uint64_t)off) >
			     (1u << 30) ? (1u << 30) :
			     (size_t)(size - (uint64_t)off));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			return -EIO;
	}
	return 0;
}

/*
 * A pool file: linked into the directory, no copy; made durable.  With the
 * pool's quota it may be a user's, in whatever mode the user chose.
 */
static int kexec_link_pool_file(struct kexec_writer *w, int fd,
				const char *name)
{
	uint32_t raised;
	char proc[64];
	int r = 0;

	if (fsync(fd) < 0)
		return -errno;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	raised = pool_quota_link_begin(w->d->pool);
	if (linkat(AT_FDCWD, proc, w->dir, name, AT_SYMLINK_FOLLOW) < 0)
		r = -errno;
	pool_quota_link_end(raised);
	if (r)
		return r;
	w->linked++;
	return kexec_add_rec(w, fd, POOL_REC_POOL, 0);
}

/*
 * An ordinary memfd: its bytes copied into a new file of the pool, the
 * session owner's with the pool's quota, written within its limit.
 */
static int kexec_copy_memfd(struct kexec_writer *w, int fd, const char *name,
			    uint32_t owner)
{
	int seals = fcntl(fd, F_GET_SEALS), out, r;
	struct pool *p = w->d->pool;
	uint32_t lowered;
	char proc[64];
	struct stat st;

	if (seals < 0 || fstat(fd, &st) < 0)
		return -errno;
	out = openat(w->dir, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (out < 0)
		return -errno;
	r = pool_quota_charge(p, out, owner);
	if (!r) {
		lowered = pool_quota_write_begin(p);
		r = kexec_copy(fd, out, (uint64_t)st.st_size);
		if (!r && fsync(out) < 0)
			r = -errno;
		pool_quota_write_end(lowered);
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", out);
	if (!r && linkat(AT_FDCWD, proc, w->dir, name, AT_SYMLINK_FOLLOW) < 0)
		r = -errno;
	close(out);
	if (r)
		return r;
	w->copied++;
	w->bytes += (uint64_t)st.st_size;
	return kexec_add_rec(w, fd, POOL_REC_MEMFD, (uint32_t)seals);
}

/* Step 4, per file. */
static int kexec_place_file(void *ctx, int fd, const char *compatible,
			    const char *session, uint32_t owner,
			    uint64_t token)
{
	struct kexec_writer *w = ctx;
	char name[32];
	int r;

	snprintf(name, sizeof(name), "f-%d", fd);
	if (!strcmp(compatible, LUO_POOL_COMPATIBLE))
		r = kexec_link_pool_file(w, fd, name);
	else
		r = kexec_copy_memfd(w, fd, name, owner);
	if (r == -EDQUOT) {
		snprintf(w->why, sizeof(w->why),
			 "uid %u over its pool quota: '%s'", owner, session);
		log_warn("reboot --kexec: session '%s', token %llu: copying a memfd: uid %u over its pool quota",
			 session, (unsigned long long)token, owner);
	} else if (r) {
		snprintf(w->why, sizeof(w->why), "%s of '%s'",
			 strcmp(compatible, LUO_POOL_COMPATIBLE) ?
			 "copying a memfd" : "linking a pool file", session);
		log_warn("reboot --kexec: session '%s', token %llu: %s: %s",
			 session, (unsigned long long)token, w->why,
			 strerror(-r));
	}
	return r;
}

/* A whole buffer into a new file @name of the directory, fsync'ed. */
static int kexec_write_file(int dir, const char *name, const void *buf,
			    size_t len)
{
	int fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			0600), r;

	if (fd < 0)
		return -errno;
	r = io_pwrite_all(fd, buf, len, 0);
	if (!r && fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* Steps 4 and 5. */
static int kexec_write(struct kexec_writer *w, uint64_t start)
{
	struct luod *d = w->d;
	struct pool *p = d->pool;
	struct luo_handover_info info = {
		.update_number = luo_core_update_number(d->core) + 1,
		.listen_fd = transport_listen_fd(d->tp),
		.reply_fd = -1, .self_fd = -1,
		.reboot_start_ns = start,
	};
	uint64_t t0 = luod_now_ns();
	void *blob = NULL;
	size_t len = 0;
	int r;

	snprintf(w->why, sizeof(w->why), "cannot make the pool's handover");
	r = pool_remove_dir(p, POOL_HANDOVER_NEW);
	if (!r && mkdirat(p->dir_fd, POOL_HANDOVER_NEW, 0700) < 0)
		r = -errno;
	if (r)
		return r;
	w->dir = openat(p->dir_fd, POOL_HANDOVER_NEW,
			O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (w->dir < 0)
		return -errno;
	r = luo_core_for_each_outgoing_file(d->core, kexec_place_file, w);
	if (r)
		return r;
	log_notice("reboot --kexec: %u pool files linked (no copy) and %u memfds (%llu bytes) copied into the pool, all fsync'ed, in %.3f ms",
		   w->linked, w->copied, (unsigned long long)w->bytes,
		   (luod_now_ns() - t0) / 1e6);
	snprintf(w->why, sizeof(w->why), "cannot write the handover");
	luo_core_handover_number(d->core);
	r = luo_handover_write(d->core, &info, &blob, &len);
	if (r)
		return r;
	r = kexec_write_file(w->dir, POOL_HANDOVER_BLOB, blob, len);
	free(blob);
	if (!r)
		r = kexec_write_file(w->dir, POOL_HANDOVER_FDS, w->recs,
				     w->nr * sizeof(*w->recs));
	if (r)
		return r;
	snprintf(w->why, sizeof(w->why), "cannot make the handover durable");
	if (fsync(w->dir) < 0)
		return -errno;
	r = pool_remove_dir(p, POOL_HANDOVER_DIR);
	if (!r && renameat(p->dir_fd, POOL_HANDOVER_NEW, p->dir_fd,
			   POOL_HANDOVER_DIR) < 0)
		r = -errno;
	if (!r && (fsync(p->dir_fd) < 0 || syncfs(p->dir_fd) < 0))
		r = -errno;
	return r;
}

/* Step 6: returns only on failure (or never, with --kexec-simulate). */
static int kexec_go(struct luod *d, struct kexec_image *img, char *why,
		    size_t len)
{
	unsigned long flags = img->initrd_fd < 0 ? KEXEC_FILE_NO_INITRAMFS : 0;
	int r;

	if (d->opt.kexec_simulate) {
		log_notice("reboot --kexec: handover durable in the pool; --kexec-simulate: exiting as the machine would vanish");
		fflush(NULL);
		_exit(0);
	}
	if (syscall(SYS_kexec_file_load, img->kernel_fd, img->initrd_fd,
		    strlen(img->cmdline) + 1, img->cmdline, flags) < 0) {
		r = -errno;
		snprintf(why, len, "kexec_file_load");
		return r;
	}
	log_notice("reboot --kexec: kernel loaded; rebooting into it");
	fflush(NULL);
	sync();
	reboot(LINUX_REBOOT_CMD_KEXEC);
	r = -errno;
	snprintf(why, len, "reboot(KEXEC)");
	syscall(SYS_kexec_file_load, -1, -1, 0, NULL, KEXEC_FILE_UNLOAD);
	return r;
}

static void kexec_failed(struct luod *d, int err, const char *why)
{
	d->failed_reboots++;
	d->last_error = -err;
	snprintf(d->last_failure, sizeof(d->last_failure), "%.40s: %s", why,
		 strerror(-err));
	log_warn("reboot --kexec failed: %s; nothing changed", d->last_failure);
}

/**
 * kexec_run() - the REBOOT_KEXEC host callback
 * @d:   the daemon
 * @arg: the request, checked by the core
 *
 * Return: does not return on success (the machine is gone; with
 * --kexec-simulate the daemon exited).  -EOPNOTSUPP without a pool,
 * -EBUSY while a REBOOT is under way or a request waits for a client's
 * file, -EXDEV if a file cannot cross a kernel change, -EDQUOT if a uid's
 * memfds do not fit in its pool quota (before the freeze, or while
 * copying them if its pool files grew meanwhile), the errno of
 * opening the kernel or initrd, of the freeze, of writing the handover
 * into the pool (ENOSPC...) or of kexec_file_load(); everything as
 * before, and STATUS says why.
 */
int kexec_run(struct luod *d, struct luo_reboot_kexec *arg)
{
	struct kexec_image img = { .kernel_fd = -1, .initrd_fd = -1 };
	struct kexec_writer w = { .d = d, .dir = -1, .block = 4096 };
	uint64_t start = luod_now_ns();
	struct statfs sfs;
	int r;

	if (!d->pool)
		return -EOPNOTSUPP;
	if (d->rebooting || transport_busy(d->tp))
		return -EBUSY;
	if (!fstatfs(d->pool->dir_fd, &sfs) && sfs.f_bsize > 0)
		w.block = (uint64_t)sfs.f_bsize;
	r = kexec_open_image(arg, &img, w.why, sizeof(w.why));
	if (!r)
		r = luo_core_for_each_outgoing_file(d->core, kexec_check_file,
						    &w);
	if (!r)
		r = kexec_check_quota(&w);
	if (r) {
		free(w.needs);
		kexec_image_close(&img);
		kexec_failed(d, r, w.why);
		return r;
	}
	d->rebooting = true;
	r = luo_core_freeze(d->core);
	if (r) {
		log_warn("reboot --kexec: freeze failed: %s; nothing changed",
			 strerror(-r));
	} else {
		r = kexec_write(&w, start);
		if (!r)
			r = kexec_go(d, &img, w.why, sizeof(w.why));
		if (w.dir >= 0)
			close(w.dir);
		pool_remove_dir(d->pool, POOL_HANDOVER_NEW);
		pool_remove_dir(d->pool, POOL_HANDOVER_DIR);
		luo_core_unfreeze(d->core);
		kexec_failed(d, r, w.why);
	}
	free(w.recs);
	free(w.needs);
	kexec_image_close(&img);
	d->rebooting = false;
	return r;
}
