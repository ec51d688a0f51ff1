// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The daemon's own live update (DESIGN.md section 7).
 *
 * REBOOT: freeze every outgoing session, write the handover into a sealed
 * memfd, let exactly the fds that must cross lose close-on-exec (the
 * listening socket, the connection waiting for the answer, the handover,
 * our own image, every preserved file), and execveat() the new image with
 * --handover-fd.  If the exec fails, everything is put back and the caller
 * gets the errno.  Every other fd dies with the exec.
 *
 * Take-over: the new image reads and validates the handover, adopts the
 * listening socket (clients that connected meanwhile are in its backlog)
 * and answers REBOOT on the connection that asked.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "luo_core.h"
#include "transport.h"

/* Larger than any handover of the core's largest limits. */
#define HANDOVER_MAX	(1u << 30)

static int fd_set_cloexec(int fd, bool on)
{
	if (fd < 0)
		return 0;
	return fcntl(fd, F_SETFD, on ? FD_CLOEXEC : 0) < 0 ? -errno : 0;
}

/*
 * Sets or clears close-on-exec on the daemon's own fds that cross the exec.
 * The preserved files never have it (see luo_core_prepare_exec()).
 */
static int reboot_cloexec(struct luod *d, const struct luo_handover_info *info,
			  int mfd, bool on)
{
	int r;

	r = fd_set_cloexec(info->listen_fd, on);
	if (!r || on)
		r = fd_set_cloexec(info->reply_fd, on);
	if (!r || on)
		r = fd_set_cloexec(info->self_fd, on);
	if (!r || on)
		r = fd_set_cloexec(mfd, on);
	if (!r && !on)
		r = luo_core_prepare_exec(d->core);
	return r;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The handover in a sealed memfd (close-on-exec for now); returns its fd. */
static int reboot_write_handover(struct luod *d,
				 const struct luo_handover_info *info)
{
	const int seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
			  F_SEAL_SEAL;
	void *blob = NULL;
	size_t len = 0;
	int fd, r;

	r = luo_handover_write(d->core, info, &blob, &len);
	if (r)
		return r;
	fd = memfd_create("luo-handover", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		r = -errno;
	else
		r = write_all(fd, blob, len);
	if (!r && fcntl(fd, F_ADD_SEALS, seals) < 0)
		r = -errno;
	free(blob);
	if (r && fd >= 0)
		close(fd);
	return r ? r : fd;
}

static void reboot_log_exec(struct luod *d, int exec_fd, uint64_t update)
{
	log_notice("rebooting into update %llu (%s image)",
		   (unsigned long long)update, exec_fd >= 0 ? "new" : "same");
}

/* Returns only if the exec failed, with everything as it was. */
static int reboot_exec(struct luod *d, int exec_fd, uint64_t start)
{
	struct luo_handover_info info = {
		.update_number = luo_core_update_number(d->core) + 1,
		.listen_fd = transport_listen_fd(d->tp),
		.self_fd = d->self_fd,
		.reboot_start_ns = start,
	};
	int target = exec_fd >= 0 ? exec_fd : d->self_fd;
	char **argv;
	int mfd, r;

	info.reply_fd = transport_current(d->tp, &info.reply_size);
	if (target < 0)
		return -ENOEXEC;
	mfd = reboot_write_handover(d, &info);
	if (mfd < 0)
		return mfd;
	argv = options_exec_argv(d->argv, mfd);
	r = argv ? reboot_cloexec(d, &info, mfd, false) : -ENOMEM;
	if (!r) {
		reboot_log_exec(d, exec_fd, info.update_number);
		fflush(NULL);
		execveat(target, "", argv, environ, AT_EMPTY_PATH);
		r = -errno;
		log_err("reboot: cannot execute the new image: %s",
			strerror(-r));
	}
	reboot_cloexec(d, &info, mfd, true);
	options_free_argv(argv);
	close(mfd);
	return r;
}

/**
 * reboot_run() - the REBOOT host callback
 * @d:       the daemon
 * @arg:     the request, checked by the core
 * @exec_fd: executable to run instead of our own image, or -1
 *
 * Does not return on success: the new image answers the request.
 *
 * Return: -EBUSY if a REBOOT is under way, the errno of a failed freeze
 * (every session unfrozen), or the errno of a failed handover or exec
 * (everything put back).
 */
int reboot_run(struct luod *d, struct luo_reboot *arg, int exec_fd)
{
	uint64_t start = luod_now_ns();
	int r;

	if (d->rebooting)
		return -EBUSY;
	d->rebooting = true;
	r = luo_core_freeze(d->core);
	if (r) {
		log_warn("reboot: freeze failed: %s; nothing changed",
			 strerror(-r));
	} else {
		r = reboot_exec(d, exec_fd, start);
		luo_core_unfreeze(d->core);
		log_warn("reboot failed: %s; nothing changed", strerror(-r));
	}
	d->rebooting = false;
	return r;
}

/* The whole handover memfd; *@blob is malloc'd. */
static int reboot_read_handover(int fd, void **blob, size_t *len)
{
	struct stat st;
	size_t off = 0;
	ssize_t n;
	char *buf;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (uint64_t)st.st_size > HANDOVER_MAX)
		return -EINVAL;
	buf = malloc((size_t)st.st_size);
	if (!buf)
		return -ENOMEM;
	while (off < (size_t)st.st_size) {
		n = pread(fd, buf + off, (size_t)st.st_size - off, (off_t)off);
		if (n <= 0 && !(n < 0 && errno == EINTR)) {
			free(buf);
			return n < 0 ? -errno : -EIO;
		}
		off += n > 0 ? (size_t)n : 0;
	}
	*blob = buf;
	*len = off;
	return 0;
}

/* The answer to REBOOT, on the connection that asked for it. */
static void reboot_reply(struct luod *d, const struct luo_handover_info *info)
{
	struct luo_reboot rep = {
		.size = info->reply_size,
		.update_number = luo_core_update_number(d->core),
	};
	uint32_t len = info->reply_size < sizeof(rep) ? info->reply_size :
			sizeof(rep);

	if (info->reply_fd < 0)
		return;
	if (transport_adopt_reply(d->tp, info->reply_fd, 0, &rep, len))
		log_warn("cannot answer REBOOT: fd %d is no connection",
			 info->reply_fd);
}

static void reboot_log_takeover(struct luod *d)
{
	uint32_t out, in;
	uint64_t files;

	luo_core_counts(d->core, &out, &in, &files);
	log_notice("took over update %llu: %u sessions, %llu files in %.3f ms",
		   (unsigned long long)luo_core_update_number(d->core), in,
		   (unsigned long long)files, d->last_reboot_ns / 1e6);
}

static int reboot_adopt(struct luod *d, struct luo_handover_info *info,
			char *why, size_t why_len)
{
	int r = transport_adopt_listener(d->tp, info->listen_fd);

	if (r) {
		snprintf(why, why_len, "listening socket (fd %d): %s",
			 info->listen_fd, strerror(-r));
		return r;
	}
	/* The previous image is kept only by a rollback (not yet). */
	if (info->self_fd >= 0 && info->self_fd != d->self_fd)
		close(info->self_fd);
	d->last_reboot_ns = luod_now_ns() - info->reboot_start_ns;
	reboot_reply(d, info);
	reboot_log_takeover(d);
	return 0;
}

/**
 * reboot_takeover() - start from the handover of the previous image
 * @d: the daemon, core and transport made, nothing listening yet
 *
 * Return: 0, or -errno after logging why; the caller exits then, without
 * touching the listening socket.
 */
int reboot_takeover(struct luod *d)
{
	struct luo_handover_info info;
	char why[256] = "unknown reason";
	size_t len = 0;
	void *blob = NULL;
	int r;

	r = reboot_read_handover(d->opt.handover_fd, &blob, &len);
	if (r) {
		snprintf(why, sizeof(why), "cannot read fd %d: %s",
			 d->opt.handover_fd, strerror(-r));
	} else {
		r = luo_handover_read(d->core, blob, len, &info, why,
				      sizeof(why));
		free(blob);
	}
	if (!r) {
		close(d->opt.handover_fd);
		d->opt.handover_fd = -1;
		r = reboot_adopt(d, &info, why, sizeof(why));
	}
	if (r)
		log_err("refusing to start: handover invalid: %s", why);
	return r;
}
