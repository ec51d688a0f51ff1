// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The RFC global state machine (SPEC.md 9.2, DESIGN.md section 6):
 * GET_STATE, SET_EVENT and the session extension UNPRESERVE_FD.
 *
 * The session ABI is the primary one; the state machine is a view on top
 * of it.  Only PREPARED and FROZEN are stored; UPDATED is derived: it holds
 * while an incoming session that came from the previous image (not from a
 * HANDOVER in this one) is not finished.  So nothing of the state crosses
 * the handover: the new image starts in UPDATED if the old one handed over
 * at least one session, otherwise in NORMAL, and turns NORMAL by itself when
 * the last such session is finished, closed, or discarded by a global
 * FINISH.  A REBOOT from NORMAL carries the sessions as always (the RFC's
 * "reboot without LUO" would drop what session-ABI agents preserved).
 *
 *   NORMAL --PREPARE--> PREPARED --REBOOT--> FROZEN --exec--> (new image)
 *   PREPARED, FROZEN --CANCEL, or a failed freeze or exec--> NORMAL
 *   UPDATED --FINISH, or the last incoming session finished--> NORMAL
 */
#include <errno.h>

#include "core_internal.h"

static const char *const state_names[] = {
	[LIVEUPDATE_STATE_UNDEFINED] = "undefined",
	[LIVEUPDATE_STATE_NORMAL] = "normal",
	[LIVEUPDATE_STATE_PREPARED] = "prepared",
	[LIVEUPDATE_STATE_FROZEN] = "frozen",
	[LIVEUPDATE_STATE_UPDATED] = "updated",
};

static const char *state_name(uint32_t state)
{
	if (state >= sizeof(state_names) / sizeof(state_names[0]))
		return "unknown";
	return state_names[state];
}

/* Incoming sessions that make the image UPDATED. */
static bool from_previous_image(const struct luo_session *s)
{
	return s->incoming && !s->handed_over;
}

static bool has_unfinished_incoming(const struct luo_core *core)
{
	const struct luo_session *s;

	list_for_each_entry(s, &core->incoming, list)
		if (from_previous_image(s) && !s->finished)
			return true;
	return false;
}

/**
 * luo_state_get() - the global state of the RFC state machine
 * @core: the core
 *
 * Return: an enum liveupdate_state other than UNDEFINED.
 */
uint32_t luo_state_get(const struct luo_core *core)
{
	if (core->rfc_frozen)
		return LIVEUPDATE_STATE_FROZEN;
	if (core->rfc_prepared)
		return LIVEUPDATE_STATE_PREPARED;
	if (has_unfinished_incoming(core))
		return LIVEUPDATE_STATE_UPDATED;
	return LIVEUPDATE_STATE_NORMAL;
}

/**
 * luo_state_sealed() - whether the outgoing set is sealed
 * @core: the core
 *
 * Return: true in PREPARED and FROZEN, where CREATE_SESSION and
 * PRESERVE_FD get EBUSY.
 */
bool luo_state_sealed(const struct luo_core *core)
{
	return core->rfc_prepared || core->rfc_frozen;
}

static int wrong_state(struct luo_core *core, uint32_t to, uint32_t from)
{
	luo_core_log(core, LUO_LOG_WARNING, "Can't switch to [%s] from [%s]",
		     state_name(to), state_name(from));
	return -EINVAL;
}

static void cancel(struct luo_core *core, const char *why)
{
	bool frozen = core->rfc_frozen;

	core->rfc_prepared = false;
	core->rfc_frozen = false;
	if (frozen)
		luo_core_unfreeze(core);
	luo_core_log(core, LUO_LOG_NOTICE, "state: %s: cancel, back to [normal]",
		     why);
}

/* Can every unfinished incoming file finish?  Asked before anything ends. */
static int can_finish_all(struct luo_core *core)
{
	struct luo_session *s;
	struct luo_file *f;

	list_for_each_entry(s, &core->incoming, list) {
		if (!from_previous_image(s) || s->finished)
			continue;
		list_for_each_entry(f, &s->files, list) {
			if (luo_file_can_finish(f))
				continue;
			luo_core_log(core, LUO_LOG_NOTICE,
				     "FINISH: session '%s': token %llu cannot finish yet",
				     s->name, (unsigned long long)f->token);
			return -EBUSY;
		}
	}
	return 0;
}

/*
 * The global FINISH: every incoming session from the previous image is
 * finished, files never retrieved discarded.  A session nobody holds (never
 * retrieved, or closed when its implicit finish was refused) goes entirely;
 * a retrieved one stays, finished, until its fd is closed.
 */
static int finish_all(struct luo_core *core)
{
	struct luo_session *s, *n;
	int ret = can_finish_all(core);

	if (ret)
		return ret;
	list_for_each_entry_safe(s, n, &core->incoming, list) {
		if (!from_previous_image(s) || s->finished)
			continue;
		ret = luo_session_finish(core, s);
		if (ret)
			return ret;
		if (!s->retrieved || s->released)
			luo_session_destroy(core, s);
	}
	luo_core_log(core, LUO_LOG_INFO, "state: finish, [updated] to [normal]");
	return 0;
}

/**
 * luo_state_set_event() - SET_EVENT
 * @core:  the core
 * @event: enum liveupdate_event
 *
 * PREPARE: NORMAL to PREPARED.  CANCEL: PREPARED or FROZEN to NORMAL,
 * every token still valid.  FINISH: UPDATED to NORMAL, see finish_all().
 *
 * Return: 0; -EINVAL for FREEZE or an unknown event, or from the wrong
 * state (logged as "Can't switch to [x] from [y]"); -EBUSY if a handler
 * refused FINISH (nothing changed).
 */
int luo_state_set_event(struct luo_core *core, uint32_t event)
{
	uint32_t state = luo_state_get(core);

	switch (event) {
	case LIVEUPDATE_PREPARE:
		if (state != LIVEUPDATE_STATE_NORMAL)
			return wrong_state(core, LIVEUPDATE_STATE_PREPARED, state);
		core->rfc_prepared = true;
		luo_core_log(core, LUO_LOG_INFO,
			     "state: prepare, [normal] to [prepared]");
		return 0;
	case LIVEUPDATE_CANCEL:
		if (state != LIVEUPDATE_STATE_PREPARED &&
		    state != LIVEUPDATE_STATE_FROZEN)
			return wrong_state(core, LIVEUPDATE_STATE_NORMAL, state);
		cancel(core, "requested");
		return 0;
	case LIVEUPDATE_FINISH:
		if (state != LIVEUPDATE_STATE_UPDATED)
			return wrong_state(core, LIVEUPDATE_STATE_NORMAL, state);
		return finish_all(core);
	default:
		return -EINVAL;
	}
}

/**
 * luo_state_frozen() - the reboot's freeze ended
 * @core: the core
 * @ret:  its result
 *
 * From PREPARED: FROZEN on success, an automatic CANCEL on failure.  From
 * any other state the reboot proceeds as the session ABI says and the
 * state does not move.
 */
void luo_state_frozen(struct luo_core *core, int ret)
{
	if (!core->rfc_prepared)
		return;
	if (ret) {
		cancel(core, "freeze failed");
		return;
	}
	core->rfc_prepared = false;
	core->rfc_frozen = true;
}

/**
 * luo_state_thawed() - a frozen reboot failed and was undone
 * @core: the core
 *
 * FROZEN becomes NORMAL, as after a failed FREEZE callback.
 */
void luo_state_thawed(struct luo_core *core)
{
	if (core->rfc_frozen) {
		core->rfc_frozen = false;
		luo_core_log(core, LUO_LOG_NOTICE,
			     "state: reboot failed: cancel, back to [normal]");
	}
}

/**
 * luo_state_unpreserve_fd() - LUO_SESSION_UNPRESERVE_FD
 * @core: the core
 * @s:    an outgoing session (the dispatch table checked it)
 * @arg:  the request
 *
 * Return: 0; -EINVAL for non-zero @arg->reserved; -EBUSY unless the global
 * state is NORMAL; -ENOENT for a token not in @s.
 */
int luo_state_unpreserve_fd(struct luo_core *core, struct luo_session *s,
			    const struct luo_session_unpreserve_fd *arg)
{
	struct luo_file *f;

	if (arg->reserved)
		return -EINVAL;
	if (luo_state_get(core) != LIVEUPDATE_STATE_NORMAL)
		return -EBUSY;
	f = luo_file_find(s, arg->token);
	if (!f)
		return -ENOENT;
	luo_file_unpreserve(core, f);
	luo_core_log(core, LUO_LOG_DEBUG, "session '%s': token %llu unpreserved",
		     s->name, (unsigned long long)arg->token);
	return 0;
}
