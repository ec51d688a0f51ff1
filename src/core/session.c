// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Sessions: creation, retrieval, FINISH and the last close (SPEC.md 3).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_internal.h"

static struct luo_hmap *names(struct luo_core *core, bool incoming)
{
	return incoming ? &core->incoming_names : &core->outgoing_names;
}

/**
 * luo_session_name_hash() - where a name of one owner is filed
 * @name: 64 bytes, compared as strncmp over the full 64
 * @uid:  the owner: each uid has its own namespace
 *
 * Return: the hash.
 */
uint64_t luo_session_name_hash(const void *name, uint32_t uid)
{
	size_t len = strnlen(name, LIVEUPDATE_SESSION_NAME_LENGTH);

	return luo_hash_bytes(name, len) ^ luo_hash_u64(uid);
}

/**
 * luo_session_find() - look a session up by owner and name in one direction
 * @core:     the core
 * @name:     64 bytes, not necessarily terminated
 * @incoming: which list
 * @uid:      the owner whose namespace is searched
 *
 * Return: the session, or NULL.
 */
struct luo_session *luo_session_find(struct luo_core *core, const void *name,
				     bool incoming, uint32_t uid)
{
	struct luo_hnode *n;

	luo_hmap_for_each_hash(n, names(core, incoming),
			       luo_session_name_hash(name, uid)) {
		struct luo_session *s = container_of(n, struct luo_session,
						     name_node);

		if (s->owner->uid == uid &&
		    !strncmp(s->name, name, LIVEUPDATE_SESSION_NAME_LENGTH))
			return s;
	}
	return NULL;
}

/**
 * luo_session_new() - add an empty session to one list
 * @core:     the core
 * @name:     a terminated name of 1 to 63 characters
 * @incoming: which list
 * @uid:      its owner, charged one session
 *
 * Return: the session, or NULL when out of memory.
 */
struct luo_session *luo_session_new(struct luo_core *core, const char *name,
				    bool incoming, uint32_t uid)
{
	struct luo_session *s = calloc(1, sizeof(*s));
	struct luo_owner *o = s ? luo_owner_get(core, uid) : NULL;

	if (!o) {
		free(s);
		return NULL;
	}
	strncpy(s->name, name, sizeof(s->name) - 1);
	s->incoming = incoming;
	s->owner = o;
	s->rid = core->next_rid++;
	s->rec_slot = -1;
	list_init(&s->dirty);
	list_init(&s->files);
	luo_tree_init(&s->files_by_key);
	s->next_file_key = 1;
	luo_hmap_init(&s->tokens);
	if (luo_hmap_insert(names(core, incoming), &s->name_node,
			    luo_session_name_hash(s->name, uid))) {
		luo_owner_put(core, o);
		free(s);
		return NULL;
	}
	o->nr_sessions++;
	luo_list_add(core, s);
	if (incoming)
		core->nr_incoming++;
	else
		core->nr_outgoing++;
	return s;
}

static void session_free(struct luo_core *core, struct luo_session *s)
{
	luo_session_gone(core, s);
	luo_hmap_remove(names(core, s->incoming), &s->name_node);
	luo_list_del(core, s);
	if (s->incoming)
		core->nr_incoming--;
	else
		core->nr_outgoing--;
	s->owner->nr_sessions--;
	luo_owner_put(core, s->owner);
	luo_hmap_free(&s->tokens);
	free(s);
}

/**
 * luo_session_destroy() - drop a session and everything it holds
 * @core: the core
 * @s:    the session
 *
 * Outgoing files are unpreserved and incoming ones finished without asking
 * can_finish, newest first.  For teardown of the whole core.
 */
void luo_session_destroy(struct luo_core *core, struct luo_session *s)
{
	struct luo_file *f, *n;

	list_for_each_entry_safe_reverse(f, n, &s->files, list) {
		if (s->incoming)
			luo_file_finish(core, f);
		else
			luo_file_unpreserve(core, f);
	}
	session_free(core, s);
}

/**
 * luo_session_create() - CREATE_SESSION
 * @core: the core
 * @name: the caller's 64 name bytes
 * @uid:  the caller: the session's owner, whose namespace is searched
 * @out:  out: the new outgoing session
 *
 * Return: 0; -EINVAL for an empty or unterminated name; -ENOSPC at the
 * session limit (checked first, as G4 grows its capacity before looking for
 * a duplicate); -EEXIST for a duplicate outgoing name of the same owner
 * (another uid's names are never seen); -ENOMEM.
 */
int luo_session_create(struct luo_core *core, const uint8_t *name,
		       uint32_t uid, struct luo_session **out)
{
	size_t len = strnlen((const char *)name, LIVEUPDATE_SESSION_NAME_LENGTH);

	if (len == 0 || len == LIVEUPDATE_SESSION_NAME_LENGTH)
		return -EINVAL;
	if (core->nr_outgoing >= core->max_sessions)
		return -ENOSPC;
	if (luo_session_find(core, name, false, uid))
		return -EEXIST;
	*out = luo_session_new(core, (const char *)name, false, uid);
	if (!*out)
		return -ENOMEM;
	luo_core_log(core, LUO_LOG_DEBUG, "session '%s' of uid %u created",
		     (*out)->name, uid);
	return 0;
}

/**
 * luo_session_retrieve() - RETRIEVE_SESSION
 * @core: the core
 * @name: the caller's 64 name bytes, not validated
 * @uid:  the caller: only its own sessions are found, root's included
 * @out:  out: the incoming session
 *
 * Return: 0; -ENOENT if no incoming session of @uid has that name; -EINVAL
 * if it was retrieved already (once per session per boot).
 */
int luo_session_retrieve(struct luo_core *core, const uint8_t *name,
			 uint32_t uid, struct luo_session **out)
{
	struct luo_session *s = luo_session_find(core, name, true, uid);

	if (!s)
		return -ENOENT;
	if (s->retrieved)
		return -EINVAL;
	s->retrieved = true;
	luo_session_touch(core, s);
	/* A new holder: the previous one's refusals are not its own. */
	s->err_errno = 0;
	s->err_token = 0;
	s->err_reason[0] = '\0';
	*out = s;
	luo_core_log(core, LUO_LOG_DEBUG, "session '%s' retrieved", s->name);
	return 0;
}

/**
 * luo_session_finish() - SESSION_FINISH
 * @core: the core
 * @s:    an incoming session
 *
 * Asks can_finish of every file (FIFO) first; only if all agree, finishes
 * them newest first, discarding files never retrieved.  Idempotent.
 *
 * Return: 0, or -EBUSY if a handler refused (nothing changed).
 */
int luo_session_finish(struct luo_core *core, struct luo_session *s)
{
	struct luo_file *f, *n;

	if (list_empty(&s->files)) {
		s->finished = true;
		luo_session_touch(core, s);
		return 0;
	}
	list_for_each_entry(f, &s->files, list) {
		if (!luo_file_can_finish(f)) {
			luo_core_log(core, LUO_LOG_NOTICE,
				     "session '%s': token %llu cannot finish yet",
				     s->name, (unsigned long long)f->token);
			return -EBUSY;
		}
	}
	list_for_each_entry_safe_reverse(f, n, &s->files, list)
		luo_file_finish(core, f);
	s->finished = true;
	luo_session_touch(core, s);
	luo_core_log(core, LUO_LOG_INFO, "session '%s' finished", s->name);
	return 0;
}

/**
 * luo_core_session_abandon() - a session fd that never reached its caller
 * @core: the core
 * @s:    the session a CREATE_SESSION or RETRIEVE_SESSION just made or
 *        retrieved, whose reply was lost (a crash of the daemon)
 *
 * Undoes the request: a created session (outgoing, nothing preserved in
 * it, as no one had its fd) goes; a retrieved one is retrievable again,
 * its files untouched.  The caller is told EIO.
 */
void luo_core_session_abandon(struct luo_core *core, struct luo_session *s)
{
	if (!s->incoming) {
		luo_core_log(core, LUO_LOG_NOTICE,
			     "session '%s': its creation was not answered: removed",
			     s->name);
		luo_session_destroy(core, s);
		return;
	}
	s->retrieved = false;
	luo_session_touch(core, s);
	luo_core_log(core, LUO_LOG_NOTICE,
		     "session '%s': its retrieval was not answered: retrievable again",
		     s->name);
}

/**
 * luo_core_session_release() - the last close of a session fd
 * @core: the core
 * @s:    the session
 *
 * Outgoing: every file is unpreserved, newest first, and the session goes,
 * freeing its name.  Incoming: an implicit FINISH; if a handler refuses,
 * the session stays, retrieved and without an fd, until the next reboot.
 * A session handed over with LUO_HANDOVER_KEEP_ON_CLOSE and not finished
 * instead goes back to the incoming list, un-retrieved, files untouched.
 */
void luo_core_session_release(struct luo_core *core, struct luo_session *s)
{
	if (s->incoming && s->keep_on_close && !s->finished) {
		s->retrieved = false;
		luo_session_touch(core, s);
		luo_core_log(core, LUO_LOG_NOTICE,
			     "session '%s' closed before FINISH: kept for the next retriever",
			     s->name);
		return;
	}
	if (!s->incoming) {
		luo_core_log(core, LUO_LOG_DEBUG,
			     "session '%s' closed: %u files unpreserved",
			     s->name, s->nr_files);
		luo_session_destroy(core, s);
		return;
	}
	if (luo_session_finish(core, s)) {
		luo_core_log(core, LUO_LOG_WARNING,
			     "session '%s' closed but could not finish: its files stay until the next reboot",
			     s->name);
		s->released = true;
		luo_session_touch(core, s);
		return;
	}
	session_free(core, s);
}

/**
 * luo_session_drop() - LUO_IOCTL_DROP_SESSION: end a stale incoming session
 * @core:     the core
 * @name:     the caller's 64 name bytes
 * @uid:      the session's owner
 * @nr_files: out: the files it held
 *
 * For a session no fd holds: never retrieved, or retrieved and closed
 * without a successful FINISH.  FINISH's rules apply (SPEC.md 3.6):
 * can_finish of every file first, then finish, newest first; files never
 * retrieved are discarded, retrieved ones stay their retriever's.
 *
 * Return: 0; -EINVAL for an empty or unterminated name; -ENOENT if @uid
 * has no incoming session of that name; -EBUSY if a session fd holds it
 * or a handler refused FINISH (nothing changed).
 */
int luo_session_drop(struct luo_core *core, const uint8_t *name,
		     uint32_t uid, uint32_t *nr_files)
{
	size_t len = strnlen((const char *)name,
			     LIVEUPDATE_SESSION_NAME_LENGTH);
	struct luo_session *s;
	int ret;

	if (len == 0 || len == LIVEUPDATE_SESSION_NAME_LENGTH)
		return -EINVAL;
	s = luo_session_find(core, name, true, uid);
	if (!s)
		return -ENOENT;
	if (s->retrieved && !s->released)
		return -EBUSY;
	*nr_files = s->nr_files;
	ret = luo_session_finish(core, s);
	if (ret)
		return ret;
	luo_core_log(core, LUO_LOG_NOTICE,
		     "session '%s' of uid %u dropped: %u files, %s",
		     s->name, uid, *nr_files,
		     s->retrieved ? "retrieved and closed before FINISH" :
		     "never retrieved");
	session_free(core, s);
	return 0;
}

/**
 * luo_session_note_error() - remember why a request on @s failed
 * @s:     the session
 * @token: the token the request named
 * @err:   its -errno
 * @fmt:   the reason, printf-style; "" for none
 *
 * What LUO_SESSION_LAST_ERROR answers, until the next failure.
 */
void luo_session_note_error(struct luo_session *s, uint64_t token, int err,
			    const char *fmt, ...)
{
	va_list ap;

	s->err_errno = -err;
	s->err_token = token;
	s->err_seq++;
	va_start(ap, fmt);
	vsnprintf(s->err_reason, sizeof(s->err_reason), fmt, ap);
	va_end(ap);
}
