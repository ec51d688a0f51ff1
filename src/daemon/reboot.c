// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The daemon's own live update (DESIGN.md section 7, liveupdated(8)):
 * REBOOT, the kexec stand-in, and UPGRADE, the orchestrator's transparent
 * upgrade of itself.  Both write the handover of the whole state, exec the
 * new image at the same pid under the keeper's guard and roll back the
 * same way; they differ in what the handover means.
 *
 * REBOOT: freeze every outgoing session, write the handover into a sealed
 * memfd (every session, every connection, each fd with the identity of its
 * file), let exactly the fds that must cross lose close-on-exec (the
 * listening socket, every connection, the handover, our own image, every
 * file the core holds), fork the keeper (keeper.c), and execveat() the new
 * image with --handover-fd, --rollback-fd (our image), --keeper-fd and,
 * for an image passed by fd, --exec-fd (kept open for a #! script's
 * interpreter).  If the exec fails, the keeper is sent away, everything is
 * put back and the caller gets the errno.  Every other fd dies with the
 * exec.
 *
 * Take-over: the new image reads and validates the handover (every fd must
 * still name the file written down), adopts the listening socket (clients
 * that connected meanwhile are in its backlog), tells the keeper and reaps
 * it, ends every connection but the one that asked, whose REBOOT it
 * answers, and discards what the previous image had received.  An image
 * that cannot take over executes --rollback-fd with the same handover and
 * --rolled-back=ERRNO:WHY; that image restores everything as it was
 * (outgoing sessions outgoing, every connection, session fd and device
 * hold served again) under its old update number and answers REBOOT with
 * -ERRNO.  A REBOOT that fails or rolls back changes nothing a client can
 * see (DESIGN.md section 7).
 *
 * UPGRADE: the same exec, keeper and rollback, without the freeze and
 * under the same update number; the handover says it is an UPGRADE's
 * ("luo-handover-v2", which a release that does not know UPGRADE refuses
 * and rolls back from).  The new image restores everything as it was
 * (every session in its direction and state, every connection, device
 * hold and session fd, replies not yet sent, requests queued unread in
 * the sockets) and answers UPGRADE with 0; an image rolled back to does
 * the same and answers -ERRNO.  The service manager hears RELOADING=1
 * before the exec and READY=1 from whichever image serves after it.
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
#include "io.h"
#include "keeper.h"
#include "killpoint.h"
#include "log.h"
#include "luo_core.h"
#include "notify.h"
#include "records.h"
#include "transport.h"
#include "vault_proto.h"

/* Larger than any handover of the core's largest limits. */
#define HANDOVER_MAX	(1u << 30)

static int fd_set_cloexec(int fd, bool on)
{
	if (fd < 0)
		return 0;
	return fcntl(fd, F_SETFD, on ? FD_CLOEXEC : 0) < 0 ? -errno : 0;
}

/*
 * Sets or clears close-on-exec on the daemon's own fds that cross the exec:
 * the listening socket, our image, the handover, every connection, every
 * incoming file (luo_core_prepare_exec()).  Outgoing files never have it.
 * Setting it again (@on) goes through everything whatever fails.
 */
static int reboot_cloexec(struct luod *d, const struct luo_handover_info *info,
			  int mfd, bool on)
{
	int fds[] = { info->listen_fd, info->self_fd, mfd };
	int r = 0;

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (!r || on)
			r = fd_set_cloexec(fds[i], on) ?: r;
	if (!r || on)
		r = transport_inherit(d->tp, !on) ?: r;
	if (on)
		luo_core_finish_exec(d->core);
	else if (!r)
		r = luo_core_prepare_exec(d->core);
	return r;
}

/* The handover in a sealed memfd (close-on-exec for now); returns its fd. */
static int reboot_write_handover(struct luod *d,
				 struct luo_handover_info *info)
{
	const int seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
			  F_SEAL_SEAL;
	void *blob = NULL;
	size_t len = 0;
	int fd, r;

	luo_core_handover_number(d->core);
	r = transport_save(d->tp, &info->conns, &info->conns_len);
	if (!r)
		r = luo_handover_write(d->core, info, &blob, &len);
	free(info->conns);
	info->conns = NULL;
	if (r)
		return r;
	fd = memfd_create("luo-handover", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		r = -errno;
	else
		r = io_pwrite_all(fd, blob, len, 0);
	if (!r && fcntl(fd, F_ADD_SEALS, seals) < 0)
		r = -errno;
	free(blob);
	if (r && fd >= 0)
		close(fd);
	return r ? r : fd;
}

static void reboot_log_exec(struct luod *d, int exec_fd, uint64_t update,
			    bool upgrade)
{
	if (upgrade)
		log_notice("upgrading to the %s image (update %llu)",
			   exec_fd >= 0 ? "new" : "same",
			   (unsigned long long)update);
	else
		log_notice("rebooting into update %llu (%s image)",
			   (unsigned long long)update,
			   exec_fd >= 0 ? "new" : "same");
}

/* The keeper, holding a copy of everything that crosses (all inheritable). */
static int reboot_keeper(struct luod *d, int mfd, struct keeper *k)
{
	struct keeper_plan plan = {
		.argv = d->argv, .image_fd = d->self_fd, .handover_fd = mfd,
		.failed_reboots = d->failed_reboots,
		.timeout_ms = d->opt.rb.takeover_ms,
		/* A testing aid: the keeper as on a kernel without pidfds. */
		.no_pidfd = d->opt.fault_injection &&
			    getenv("LUO_FAULT_NO_PIDFD"),
	};

	return keeper_start(k, &plan);
}

/*
 * An image passed by fd crosses the exec too (the keeper does not hold
 * it): the kernel runs a #! script's interpreter on /dev/fd/N, which must
 * then be open.  The new image closes it (--exec-fd) if it is that file.
 */
static int reboot_execveat(struct luod *d, int target, int mfd,
			   const struct keeper *k, int exec_fd, uint64_t update,
			   bool upgrade)
{
	struct luo_fd_id exec = { .fd = -1 };
	struct luod_exec_args a = {
		.handover_fd = mfd, .rollback_fd = d->self_fd,
		.keeper_fd = k->fd, .keeper_pid = k->pid,
		.failed_reboots = d->failed_reboots, .exec = &exec,
	};
	char **argv;
	int r;

	r = luo_fd_id_of(exec_fd, &exec);
	if (r)
		return r;
	argv = options_exec_argv(d->argv, &a);
	if (!argv)
		return -ENOMEM;
	r = fd_set_cloexec(exec_fd, false);
	if (!r) {
		reboot_log_exec(d, exec_fd, update, upgrade);
		fflush(NULL);
		execveat(target, "", argv, environ, AT_EMPTY_PATH);
		r = -errno;
		fd_set_cloexec(exec_fd, true);
	}
	options_free_argv(argv);
	return r;
}

/*
 * Returns only if the exec failed, with everything as it was; @why says
 * which step failed.  An UPGRADE's (@upgrade) handover keeps the update
 * number.
 */
static int reboot_exec(struct luod *d, int exec_fd, uint64_t start,
		       bool upgrade, const char **why)
{
	struct luo_handover_info info = {
		.update_number = luo_core_update_number(d->core) +
				 (upgrade ? 0 : 1),
		.listen_fd = transport_listen_fd(d->tp),
		.self_fd = d->self_fd,
		.reboot_start_ns = start,
		.upgrade = upgrade,
	};
	int target = exec_fd >= 0 ? exec_fd : d->self_fd;
	struct keeper k = { .pid = 0, .fd = -1 };
	int mfd, r;

	info.reply_fd = transport_current(d->tp, &info.reply_size);
	*why = "no image to roll back to";
	if (d->self_fd < 0)
		return -ENOEXEC;
	*why = "cannot write the handover";
	mfd = reboot_write_handover(d, &info);
	if (mfd < 0)
		return mfd;
	killpoint(d, "written");
	*why = "cannot make the fds cross the exec";
	r = reboot_cloexec(d, &info, mfd, false);
	/* Under a vault, the vault is the keeper: it recovers a dead image. */
	if (!r && !d->rec) {
		*why = "cannot start the keeper";
		r = reboot_keeper(d, mfd, &k);
	}
	/* The vault kills a new image that does not serve in time. */
	if (!r && d->rec) {
		*why = "cannot tell the vault";
		records_stats(d->rec)->exec_upgrade = upgrade;
		r = records_exec(d->rec, d->opt.rb.takeover_ms);
	}
	if (!r) {
		killpoint(d, "keeper");
		*why = "cannot execute the new image";
		r = reboot_execveat(d, target, mfd, &k, exec_fd,
				    info.update_number, upgrade);
	}
	if (r && d->rec)
		records_serving(d->rec);	/* no exec under way any more */
	keeper_release(k.fd, k.pid);
	reboot_cloexec(d, &info, mfd, true);
	close(mfd);
	return r;
}

static void reboot_failed(struct luod *d, int err, const char *why)
{
	d->failed_reboots++;
	d->last_error = -err;
	snprintf(d->last_failure, sizeof(d->last_failure), "%s: %s", why,
		 strerror(-err));
	log_warn("reboot failed: %s; nothing changed", d->last_failure);
}

/*
 * Whether a REBOOT or an UPGRADE (@what, for the log) may start: not while
 * one is under way, nor while a request waits for a client's file (it
 * cannot cross the exec).  Returns 0 or -EBUSY.
 */
static int reboot_may_start(struct luod *d, const char *what)
{
	if (d->rebooting)
		return -EBUSY;
	if (transport_busy(d->tp)) {
		log_notice("%s: a request waits for a client's file: EBUSY",
			   what);
		return -EBUSY;
	}
	return 0;
}

/**
 * reboot_run() - the REBOOT host callback
 * @d:       the daemon
 * @arg:     the request, checked by the core
 * @exec_fd: executable to run instead of our own image, or -1
 *
 * Does not return on success: the new image answers the request, or, if
 * it cannot take over, the rolled-back old image does.
 *
 * Return: -EBUSY if a REBOOT is under way or a request waits for a
 * client's file, the errno of a failed freeze
 * (every session unfrozen), or the errno of a failed handover, keeper or
 * exec (everything put back; counted in STATUS).
 */
int reboot_run(struct luod *d, struct luo_reboot *arg, int exec_fd)
{
	uint64_t start = luod_now_ns();
	const char *why = "";
	int r;

	r = reboot_may_start(d, "reboot");
	if (r)
		return r;
	d->rebooting = true;
	r = luo_core_freeze(d->core);
	if (!r)
		killpoint(d, "frozen");
	if (r) {
		log_warn("reboot: freeze failed: %s; nothing changed",
			 strerror(-r));
	} else {
		r = reboot_exec(d, exec_fd, start, false, &why);
		luo_core_unfreeze(d->core);
		reboot_failed(d, r, why);
	}
	d->rebooting = false;
	return r;
}

/**
 * upgrade_run() - the UPGRADE host callback
 * @d:       the daemon
 * @arg:     the request, checked by the core
 * @exec_fd: executable to run instead of our own image, or -1
 *
 * Nothing is frozen.  Does not return on success: the new image answers
 * the request, or, if it cannot take over, the rolled-back old image does.
 *
 * Return: -EBUSY if a REBOOT or UPGRADE is under way or a request waits
 * for a client's file (it cannot cross the exec), or the errno of a failed
 * handover, keeper or exec (everything put back).
 */
int upgrade_run(struct luod *d, struct luo_upgrade *arg, int exec_fd)
{
	uint64_t start = luod_now_ns();
	const char *why = "";
	int r;

	r = reboot_may_start(d, "upgrade");
	if (r)
		return r;
	d->rebooting = true;
	notify_reloading();
	r = reboot_exec(d, exec_fd, start, true, &why);
	d->failed_upgrades++;
	log_warn("upgrade failed: %s: %s; nothing changed (%u failed in this image)",
		 why, strerror(-r), d->failed_upgrades);
	notify_serving();
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

/*
 * The answer to REBOOT or UPGRADE (the same layout), on the connection
 * that asked for it, and every other connection ended (@restore false) or
 * served again (@restore).
 */
static void reboot_reply(struct luod *d, const struct luo_handover_info *info,
			 bool restore, int result)
{
	struct luo_reboot rep = {
		.size = info->reply_size,
		.update_number = luo_core_update_number(d->core),
	};
	uint32_t len = info->reply_size < sizeof(rep) ? info->reply_size :
			sizeof(rep);

	if (!transport_adopt_conns(d->tp, info, restore, result, &rep,
				   result ? 0 : len) || info->reply_fd < 0)
		return;
	/* A handover of an earlier release: no connection but this one. */
	if (transport_adopt_reply(d->tp, info->reply_fd, result, &rep,
				  result ? 0 : len))
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

/* "ERRNO:why" from --rolled-back; a malformed one is EPROTO, all of it why. */
static int rolled_back_reason(const char *s, const char **why)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end != ':' || v <= 0 || v > 4095) {
		*why = s;
		return EPROTO;
	}
	*why = end + 1;
	return (int)v;
}

/**
 * reboot_vault_rolled_back() - a vault recovered us from a failed exec
 * @d: the engine, recovered from the records (--recover --rolled-back)
 *
 * The vault killed a new image that did not serve in time, or saw it die
 * before it served: the REBOOT or UPGRADE failed, as under the keeper.
 * A REBOOT's is counted in STATUS like a keeper's rollback.
 *
 * Return: the -errno to answer the request with.
 */
int reboot_vault_rolled_back(struct luod *d)
{
	const char *why;
	int err = rolled_back_reason(d->opt.rb.rolled_back, &why);

	/* An UPGRADE's failure is logged, as after a keeper's rollback. */
	if (records_stats(d->rec)->exec_upgrade) {
		log_warn("upgrade rolled back by the vault: %s (%s); nothing changed",
			 why, strerror(err));
		return -err;
	}
	d->failed_reboots++;
	d->last_error = err;
	snprintf(d->last_failure, sizeof(d->last_failure), "%s", why);
	log_warn("reboot rolled back by the vault: %s (%s); nothing changed",
		 why, strerror(err));
	return -err;
}

/**
 * reboot_stats_save() - STATUS's counters into the records, if any
 * @d: the engine
 *
 * Before each commit: a recovery after a crash reads them back
 * (reboot_stats_load()).
 */
void reboot_stats_save(struct luod *d)
{
	struct records_stats *s;

	if (!d->rec)
		return;
	s = records_stats(d->rec);
	s->last_reboot_ns = d->last_reboot_ns;
	s->failed_reboots = d->failed_reboots;
	s->last_error = d->last_error;
	snprintf(s->last_failure, sizeof(s->last_failure), "%s",
		 d->last_failure);
}

/**
 * reboot_stats_load() - STATUS's counters as the dead engine left them
 * @d: the engine, recovering
 */
void reboot_stats_load(struct luod *d)
{
	const struct records_stats *s;

	if (!d->rec)
		return;
	s = records_stats(d->rec);
	d->last_reboot_ns = s->last_reboot_ns;
	d->failed_reboots = s->failed_reboots;
	d->last_error = s->last_error;
	snprintf(d->last_failure, sizeof(d->last_failure), "%.*s",
		 (int)sizeof(s->last_failure) - 1, s->last_failure);
}

/* The new image failed and we are the old one again: answer its caller. */
static void reboot_rolled_back(struct luod *d, struct luo_handover_info *info)
{
	const char *why;
	int err = rolled_back_reason(d->opt.rb.rolled_back, &why);
	uint32_t out, in;
	uint64_t files;

	if (info->update_number > 1)
		luo_core_set_update_number(d->core, info->update_number - 1);
	d->failed_reboots++;
	d->last_error = err;
	snprintf(d->last_failure, sizeof(d->last_failure), "%s", why);
	reboot_reply(d, info, true, -err);
	luo_core_counts(d->core, &out, &in, &files);
	log_warn("reboot rolled back: %s (%s); serving update %llu again, "
		 "nothing changed: %u outgoing and %u incoming sessions, "
		 "%llu files", why, strerror(err),
		 (unsigned long long)luo_core_update_number(d->core), out, in,
		 (unsigned long long)files);
}

/* The executable a REBOOT ran us from, if it is still that file. */
static void reboot_close_exec(struct luod *d)
{
	struct luo_fd_id *exec = &d->opt.rb.exec;

	if (exec->fd >= 0 && exec->fd != d->self_fd && luo_fd_id_check(exec))
		close(exec->fd);
	exec->fd = -1;
}

/* An UPGRADE's handover restored, by the new image or a rolled-back one. */
static void upgrade_confirm(struct luod *d, struct luo_handover_info *info,
			    bool restore)
{
	uint64_t took = luod_now_ns() - info->reboot_start_ns;
	const char *why = "";
	uint32_t out, in;
	uint64_t files;
	int err = 0;

	if (restore)
		err = rolled_back_reason(d->opt.rb.rolled_back, &why);
	reboot_reply(d, info, true, -err);
	luo_core_counts(d->core, &out, &in, &files);
	if (err) {
		log_warn("upgrade rolled back: %s (%s); nothing changed: %u outgoing and %u incoming sessions, %llu files",
			 why, strerror(err), out, in,
			 (unsigned long long)files);
		return;
	}
	log_notice("upgraded in %.3f ms: update %llu, %u outgoing and %u incoming sessions, %llu files, every connection kept",
		   took / 1e6,
		   (unsigned long long)luo_core_update_number(d->core), out,
		   in, (unsigned long long)files);
}

/* Taken over: the keeper goes first, so that its copies are gone. */
static void reboot_confirm(struct luod *d, struct luo_handover_info *info,
			   bool restore)
{
	struct luod_rb_options *rb = &d->opt.rb;

	keeper_release(rb->keeper_fd, rb->keeper_pid);
	rb->keeper_fd = -1;
	close(d->opt.handover_fd);
	d->opt.handover_fd = -1;
	reboot_close_exec(d);
	/* The previous image was kept for a rollback only. */
	if (rb->rollback_fd >= 0 && rb->rollback_fd != info->self_fd)
		close(rb->rollback_fd);
	rb->rollback_fd = -1;
	/* -1 unless the number still names the image written down. */
	if (info->self_fd >= 0 && info->self_fd != d->self_fd)
		close(info->self_fd);
	luo_core_finish_exec(d->core);
	/* The keeper handed the main pid back; we serve now. */
	notify_serving();
	if (info->upgrade) {
		upgrade_confirm(d, info, restore);
		return;
	}
	if (restore) {
		reboot_rolled_back(d, info);
		return;
	}
	/* Outgoing sessions are incoming now; the rest of the old is gone. */
	luo_handover_discard(d->core, info);
	d->last_reboot_ns = luod_now_ns() - info->reboot_start_ns;
	reboot_reply(d, info, false, 0);
	reboot_log_takeover(d);
}

static int fd_inherit(int fd)
{
	return fd < 0 ? 0 : fd_set_cloexec(fd, false);
}

/**
 * reboot_refuse() - this image cannot take over: run the previous one
 * @d:   the daemon, started with --handover-fd
 * @err: -errno to answer REBOOT with
 * @why: what went wrong, for the log and STATUS
 *
 * Executes --rollback-fd with the same --handover-fd, --keeper-fd and
 * --rolled-back=ERRNO:WHY, without reading the handover.  Returns only if
 * there is nothing to roll back to or the exec failed; the caller exits
 * then, and the keeper, if any, rolls back instead.
 */
void reboot_refuse(struct luod *d, int err, const char *why)
{
	struct luod_rb_options *rb = &d->opt.rb;
	char reason[320];
	struct luod_exec_args a = {
		.handover_fd = d->opt.handover_fd, .rollback_fd = -1,
		.keeper_fd = rb->keeper_fd, .keeper_pid = rb->keeper_pid,
		.failed_reboots = rb->failed_reboots, .rolled_back = reason,
	};
	char **argv;

	log_err("refusing to start: %s", why);
	if (rb->rollback_fd < 0 || d->opt.handover_fd < 0)
		return;
	snprintf(reason, sizeof(reason), "%d:%s", -err, why);
	argv = options_exec_argv(d->argv, &a);
	if (!argv || fd_inherit(d->opt.handover_fd) ||
	    fd_inherit(rb->keeper_fd)) {
		log_err("cannot roll back: %s", strerror(ENOMEM));
		options_free_argv(argv);
		return;
	}
	log_notice("rolling back to the previous image");
	fflush(NULL);
	execveat(rb->rollback_fd, "", argv, environ, AT_EMPTY_PATH);
	log_err("cannot roll back: %m");
	options_free_argv(argv);
}

static int reboot_read(struct luod *d, struct luo_handover_info *info,
		       bool restore, char *why, size_t why_len)
{
	void *blob = NULL;
	size_t len = 0;
	int r;

	r = reboot_read_handover(d->opt.handover_fd, &blob, &len);
	if (r) {
		snprintf(why, why_len, "cannot read fd %d: %s",
			 d->opt.handover_fd, strerror(-r));
		return r;
	}
	r = luo_handover_read_mode(d->core, blob, len,
				   restore ? LUO_HANDOVER_RESTORE :
				   LUO_HANDOVER_TAKEOVER, info, why, why_len);
	free(blob);
	if (!r && d->opt.rb.refuse_handover && !restore) {
		snprintf(why, why_len, "--refuse-handover");
		r = -EPROTO;
	}
	if (!r && restore && !info->upgrade)
		luo_core_unfreeze(d->core);	/* as after a failed exec */
	return r;
}

/**
 * reboot_takeover() - start from the handover of the previous image
 * @d: the daemon, core and transport made, nothing listening yet
 *
 * A new image takes over; an image the new one rolled back to
 * (--rolled-back) restores everything as it was, and so does a new image
 * after an UPGRADE.  On a handover this image
 * cannot take (invalid, an fd that is not the file written down, or the
 * listening socket cannot be served), it rolls back (reboot_refuse()).
 *
 * Return: 0, or -errno after logging why; the caller exits then, without
 * touching the listening socket.
 */
int reboot_takeover(struct luod *d)
{
	bool restore = d->opt.rb.rolled_back != NULL;
	struct luo_handover_info info = { .listen_fd = -1 };
	char why[256] = "unknown reason", msg[300];
	int r;

	d->failed_reboots = d->opt.rb.failed_reboots;
	killpoint(d, "takeover");
	r = reboot_read(d, &info, restore, why, sizeof(why));
	if (!r)
		r = transport_check_conns(d->tp, &info, restore || info.upgrade,
					  why, sizeof(why));
	if (!r)
		killpoint(d, "validated");
	if (r) {
		snprintf(msg, sizeof(msg), "handover invalid: %s", why);
		luo_handover_info_release(&info);
		reboot_refuse(d, -EPROTO, msg);
		return r;
	}
	r = transport_adopt_listener(d->tp, info.listen_fd);
	if (r) {
		snprintf(why, sizeof(why), "listening socket (fd %d): %s",
			 info.listen_fd, strerror(-r));
		fd_inherit(info.listen_fd);
		luo_handover_info_release(&info);
		reboot_refuse(d, -EPROTO, why);
		return r;
	}
	killpoint(d, "adopted");
	reboot_confirm(d, &info, restore);
	luo_handover_info_release(&info);
	return 0;
}
