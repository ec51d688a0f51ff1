// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The core's part of a reboot: freeze every outgoing file, or roll back
 * exactly as the kernel does when a freeze fails (SPEC.md 4.4).
 */
#include <errno.h>
#include <fcntl.h>

#include "core_internal.h"

static void unfreeze_session(struct luo_core *core, struct luo_session *s)
{
	struct luo_file *f;

	list_for_each_entry(f, &s->files, list)
		luo_file_unfreeze(core, f);
}

/**
 * luo_core_unfreeze() - undo luo_core_freeze() after a later reboot step
 * failed
 * @core: the core
 *
 * Sessions newest first, files in preservation order.  FROZEN becomes
 * NORMAL (state.c).
 */
void luo_core_unfreeze(struct luo_core *core)
{
	struct luo_session *s;

	list_for_each_entry_reverse(s, &core->outgoing, list)
		unfreeze_session(core, s);
	luo_state_thawed(core);
}

/**
 * luo_core_freeze() - freeze every outgoing file before a reboot
 * @core: the core
 *
 * Sessions in creation order, files in preservation order.  At the first
 * failure the files of the failing session frozen so far are unfrozen
 * (FIFO), then every earlier session, newest first.  From PREPARED the
 * state becomes FROZEN on success and NORMAL on failure (state.c).
 *
 * Return: 0, or the failing freeze's -errno with nothing left frozen.
 */
int luo_core_freeze(struct luo_core *core)
{
	struct luo_session *s;
	struct luo_file *f;
	int ret;

	list_for_each_entry(s, &core->outgoing, list) {
		list_for_each_entry(f, &s->files, list) {
			ret = luo_file_freeze(core, f);
			if (ret)
				goto fail;
		}
	}
	luo_state_frozen(core, 0);
	return 0;
fail:
	luo_core_log(core, LUO_LOG_WARNING,
		     "reboot: freezing token %llu of session '%s' failed: error %d; everything unfrozen",
		     (unsigned long long)f->token, s->name, ret);
	unfreeze_session(core, s);
	for (s = list_entry(s->list.prev, struct luo_session, list);
	     &s->list != &core->outgoing;
	     s = list_entry(s->list.prev, struct luo_session, list))
		unfreeze_session(core, s);
	luo_state_frozen(core, ret);
	return ret;
}

/**
 * luo_core_for_each_outgoing_fd() - visit every file fd the handover names
 * @core: the core
 * @fn:   called for each fd, in handover order: outgoing files, then the
 *        fds of incoming ones (inherited, retrieved)
 * @ctx:  passed to @fn
 *
 * Exactly these fds cross the exec (and so do the daemon's own).
 *
 * Return: 0, or the first non-zero return of @fn.
 */
int luo_core_for_each_outgoing_fd(struct luo_core *core,
				  int (*fn)(void *ctx, int fd), void *ctx)
{
	struct luo_session *s;
	struct luo_file *f;
	int ret;

	list_for_each_entry(s, &core->outgoing, list) {
		list_for_each_entry(f, &s->files, list) {
			ret = fn(ctx, f->fd);
			if (ret)
				return ret;
		}
	}
	list_for_each_entry(s, &core->incoming, list) {
		list_for_each_entry(f, &s->files, list) {
			ret = f->fd >= 0 ? fn(ctx, f->fd) : 0;
			if (!ret && f->retrieved_fd >= 0)
				ret = fn(ctx, f->retrieved_fd);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/**
 * luo_core_for_each_outgoing_file() - visit every outgoing file
 * @core: the core
 * @fn:   called with the file's fd (the core's), its handler's compatible
 *        string, its session's name and owner's uid and its token, in
 *        handover order
 * @ctx:  passed to @fn
 *
 * For a kexec, which must place each file where the next kernel finds it.
 *
 * Return: 0, or the first non-zero return of @fn.
 */
int luo_core_for_each_outgoing_file(struct luo_core *core,
				    luo_outgoing_file_fn fn, void *ctx)
{
	struct luo_session *s;
	struct luo_file *f;
	int ret;

	list_for_each_entry(s, &core->outgoing, list) {
		list_for_each_entry(f, &s->files, list) {
			ret = fn(ctx, f->fd, f->handler->compatible, s->name,
				 s->owner->uid, f->token);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* Sets or clears close-on-exec on every fd an incoming file holds. */
static int incoming_cloexec(struct luo_core *core, bool on)
{
	int flag = on ? FD_CLOEXEC : 0, ret = 0;
	struct luo_session *s;
	struct luo_file *f;

	list_for_each_entry(s, &core->incoming, list) {
		list_for_each_entry(f, &s->files, list) {
			if (f->fd >= 0 && fcntl(f->fd, F_SETFD, flag))
				ret = ret ?: -errno;
			if (f->retrieved_fd >= 0 &&
			    fcntl(f->retrieved_fd, F_SETFD, flag))
				ret = ret ?: -errno;
		}
	}
	return ret;
}

/**
 * luo_core_prepare_exec() - let every file the core holds cross the exec
 * @core: the core
 *
 * Outgoing file fds are kept without close-on-exec from preservation on.
 * Incoming ones (inherited, retrieved) lose it here: a REBOOT that rolls
 * back restores them as they were (DESIGN.md section 7), and the new
 * image that takes over closes them.  luo_core_finish_exec() undoes it.
 *
 * Return: 0, or the -errno of the first fcntl() that failed.
 */
int luo_core_prepare_exec(struct luo_core *core)
{
	return incoming_cloexec(core, false);
}

/**
 * luo_core_finish_exec() - the exec failed, or the files were taken back:
 * incoming files are close-on-exec again
 * @core: the core
 */
void luo_core_finish_exec(struct luo_core *core)
{
	incoming_cloexec(core, true);
}
