// SPDX-License-Identifier: LGPL-2.1-or-later
/* The orchestrator instance: creation, teardown, logging, counters. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core_internal.h"

/**
 * luo_core_new() - create an orchestrator with no session
 * @cfg: settings, or NULL for the defaults
 *
 * The update number starts at 1, as on a first boot.
 *
 * Return: the core, or NULL when out of memory.
 */
struct luo_core *luo_core_new(const struct luo_core_config *cfg)
{
	struct luo_core *core = calloc(1, sizeof(*core));

	if (!core)
		return NULL;
	if (cfg)
		core->host = cfg->host;
	core->max_sessions = cfg && cfg->max_sessions ? cfg->max_sessions :
			     LUO_DEFAULT_MAX_SESSIONS;
	core->max_files = cfg && cfg->max_files ? cfg->max_files :
			  LUO_DEFAULT_MAX_FILES;
	if (cfg) {
		core->max_sessions_per_user = cfg->max_sessions_per_user;
		core->max_files_per_user = cfg->max_files_per_user;
	}
	core->update_number = 1;
	core->next_seq = 1;
	luo_tree_init(&core->by_key);
	luo_hmap_init(&core->owners);
	list_init(&core->outgoing);
	list_init(&core->incoming);
	list_init(&core->handlers);
	list_init(&core->flbs);
	list_init(&core->dirty);
	list_init(&core->sdirty);
	core->next_rid = 1;
	luo_hmap_init(&core->outgoing_names);
	luo_hmap_init(&core->incoming_names);
	luo_hmap_init(&core->preserved);
	luo_hmap_init(&core->ofds);
	return core;
}

static void drop_sessions(struct luo_core *core, struct list_head *head)
{
	struct luo_session *s, *n;

	list_for_each_entry_safe_reverse(s, n, head, list)
		luo_session_destroy(core, s);
}

/**
 * luo_core_free() - release every session, file and FLB, then the core
 * @core: the core, or NULL
 *
 * Outgoing files are unpreserved and incoming ones finished (LIFO), as if
 * every session fd were closed; handlers stay registered with their owner.
 */
void luo_core_free(struct luo_core *core)
{
	struct luo_file_handler *h, *n;

	if (!core)
		return;
	drop_sessions(core, &core->outgoing);
	drop_sessions(core, &core->incoming);
	luo_flb_release_all(core);
	list_for_each_entry_safe(h, n, &core->handlers, list)
		list_del(&h->list);
	luo_hmap_free(&core->outgoing_names);
	luo_hmap_free(&core->incoming_names);
	luo_hmap_free(&core->owners);
	luo_hmap_free(&core->preserved);
	luo_hmap_free(&core->ofds);
	free(core->flbs_in);
	free(core->gone);
	free(core->sgone);
	free(core);
}

/**
 * luo_core_log() - log a message through the host
 * @core:  the core
 * @level: enum luo_log_level
 * @fmt:   printf format
 */
void luo_core_log(struct luo_core *core, int level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!core->host.log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	core->host.log(core->host.ctx, level, msg);
}

/**
 * luo_core_close_fd() - close an fd of a client's file that the core owns
 * @core: the core
 * @fd:   the fd; always taken over
 *
 * Through the host's @close_fd when it has one: a close may block (the last
 * close of a socket with SO_LINGER), and a daemon must not block on it.
 */
void luo_core_close_fd(struct luo_core *core, int fd)
{
	if (core->host.close_fd)
		core->host.close_fd(core->host.ctx, fd);
	else
		close(fd);
}

/**
 * luo_core_update_number() - the current update number
 * @core: the core
 *
 * Return: 1 after a first start, one more after every successful reboot.
 */
uint64_t luo_core_update_number(const struct luo_core *core)
{
	return core->update_number;
}

/**
 * luo_core_set_update_number() - restore the update number of a rollback
 * @core:   the core
 * @number: the update number to serve under
 *
 * A daemon image that takes back a handover it wrote itself (the new image
 * could not take over) serves under the number it had, not the one the
 * handover carries for the next image.
 */
void luo_core_set_update_number(struct luo_core *core, uint64_t number)
{
	core->update_number = number;
}

/**
 * luo_core_counts() - how much the core holds
 * @core:     the core
 * @outgoing: out: outgoing sessions, or NULL
 * @incoming: out: incoming sessions, or NULL
 * @files:    out: files held, or NULL
 */
void luo_core_counts(const struct luo_core *core, uint32_t *outgoing,
		     uint32_t *incoming, uint64_t *files)
{
	if (outgoing)
		*outgoing = core->nr_outgoing;
	if (incoming)
		*incoming = core->nr_incoming;
	if (files)
		*files = core->nr_files;
}

/**
 * luo_session_name() - a session's name
 * @s: the session
 *
 * Return: the NUL-terminated name.
 */
const char *luo_session_name(const struct luo_session *s)
{
	return s->name;
}

/**
 * luo_session_is_incoming() - direction of a session
 * @s: the session
 *
 * Return: true if it came from the previous image.
 */
bool luo_session_is_incoming(const struct luo_session *s)
{
	return s->incoming;
}

/**
 * luo_session_owner() - who owns a session
 * @s: the session
 *
 * Return: the uid that created it (0 for one from a handover that did not
 * record owners).
 */
uint32_t luo_session_owner(const struct luo_session *s)
{
	return s->owner->uid;
}
