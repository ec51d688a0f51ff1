// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The core fuzzer's reference model (core-model.h): the kernel's order of
 * checks (SPEC.md 2.1, 2.2), then each command's own rules (sections 3, 4).
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "core-model.h"
#include "luo_wire.h"

#define offsetofend(T, m)	(offsetof(T, m) + sizeof(((T *)0)->m))

enum { DIR_OUT = 1, DIR_IN = 2 };

/* A command the model knows: its number, struct size and minimum size. */
struct m_cmd {
	uint32_t nr;
	bool session;
	unsigned int dirs;
	uint32_t size;
	uint32_t min;
};

#define M_CMD(_nr, _session, _dirs, _T, _last) \
	{ (_nr), (_session), (_dirs), sizeof(_T), offsetofend(_T, _last) }

static const struct m_cmd m_cmds[] = {
	M_CMD(LIVEUPDATE_CMD_CREATE_SESSION, false, 0,
	      struct liveupdate_ioctl_create_session, name),
	M_CMD(LIVEUPDATE_CMD_RETRIEVE_SESSION, false, 0,
	      struct liveupdate_ioctl_retrieve_session, name),
	M_CMD(LUO_CMD_STATUS, false, 0, struct luo_status, version),
	M_CMD(LUO_CMD_LIST, false, 0, struct luo_list, done),
	M_CMD(LUO_CMD_REBOOT, false, 0, struct luo_reboot, update_number),
	M_CMD(LIVEUPDATE_CMD_SESSION_PRESERVE_FD, true, DIR_OUT,
	      struct liveupdate_session_preserve_fd, token),
	M_CMD(LIVEUPDATE_CMD_SESSION_RETRIEVE_FD, true, DIR_IN,
	      struct liveupdate_session_retrieve_fd, token),
	M_CMD(LIVEUPDATE_CMD_SESSION_FINISH, true, DIR_IN,
	      struct liveupdate_session_finish, reserved),
	M_CMD(LIVEUPDATE_CMD_SESSION_GET_NAME, true, DIR_OUT | DIR_IN,
	      struct liveupdate_session_get_name, name),
};

static const struct m_cmd *m_cmd(bool session, uint32_t nr)
{
	for (size_t i = 0; i < sizeof(m_cmds) / sizeof(m_cmds[0]); i++)
		if (m_cmds[i].nr == nr && m_cmds[i].session == session)
			return &m_cmds[i];
	return NULL;
}

/**
 * m_modeled() - whether the model knows command @nr on this kind of fd
 * @session: a session fd (else the device)
 * @nr:      the command number
 *
 * Return: true if the model predicts its result exactly.
 */
bool m_modeled(bool session, uint32_t nr)
{
	return m_cmd(session, nr) != NULL;
}

static uint32_t ld32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t ld64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static struct m_session *find_in(struct model *m, const uint8_t *name)
{
	for (int i = 0; i < m->nin; i++)
		if (!strncmp(m->in[i].name, (const char *)name,
			     LIVEUPDATE_SESSION_NAME_LENGTH))
			return &m->in[i];
	return NULL;
}

static struct m_session *find_out(struct model *m, const uint8_t *name)
{
	for (int i = 0; i < m->nout; i++)
		if (!strncmp(m->out[i].name, (const char *)name,
			     LIVEUPDATE_SESSION_NAME_LENGTH))
			return &m->out[i];
	return NULL;
}

static struct m_file *find_file(struct m_session *s, uint64_t token)
{
	for (int i = 0; i < s->nfiles; i++)
		if (s->files[i].token == token)
			return &s->files[i];
	return NULL;
}

/*
 * "The same file" is held: by an outgoing file, or by an incoming one not
 * yet finished, retrieved or not.  The kernel files an incoming file when
 * it is retrieved, having no file before; here the previous image's
 * description crossed the re-exec, and the pool still holds it, so an
 * incoming file holds its identity from the handover on (DESIGN.md 4).
 * A finished session has no files left.
 */
static bool ident_busy(const struct model *m, int ident)
{
	for (int i = 0; i < m->nout; i++)
		for (int j = 0; j < m->out[i].nfiles; j++)
			if (m->out[i].files[j].ident == ident)
				return true;
	for (int i = 0; i < m->nin; i++)
		for (int j = 0; j < m->in[i].nfiles; j++)
			if (m->in[i].files[j].ident == ident)
				return true;
	return false;
}

static int x_create(struct model *m, const uint8_t *arg)
{
	size_t len = strnlen((const char *)arg + 8, LIVEUPDATE_SESSION_NAME_LENGTH);

	if (!len || len == LIVEUPDATE_SESSION_NAME_LENGTH)
		return -EINVAL;
	if (m->nout >= M_MAX_SESSIONS)
		return -ENOSPC;
	return find_out(m, arg + 8) ? -EEXIST : 0;
}

static int x_retrieve(struct model *m, const uint8_t *arg,
		      struct m_expect *e)
{
	e->s = find_in(m, arg + 8);
	if (!e->s)
		return -ENOENT;
	return e->s->retrieved ? -EINVAL : 0;
}

static int x_preserve(struct model *m, const struct m_req *r)
{
	if (find_file(r->s, ld64(r->arg + 8)))
		return -EEXIST;
	if (r->s->nfiles >= M_MAX_FILES)
		return -ENOSPC;
	if (!r->fd || r->fd->kind == M_OPATH)
		return -EBADF;
	if (r->fd->kind == M_OTHER)
		return -ENOENT;
	if (ident_busy(m, r->fd->ident))
		return -EBUSY;
	if (r->fd->kind == M_PIPE && m->fake->fail_preserve)
		return -FZ_FAKE_PRESERVE_ERR;
	return 0;
}

static int x_retrieve_fd(struct model *m, const struct m_req *r,
			 struct m_expect *e)
{
	e->f = find_file(r->s, ld64(r->arg + 8));
	if (!e->f)
		return -ENOENT;
	if (e->f->rstatus < 0)
		return e->f->rstatus;
	if (!e->f->rstatus && e->f->fake && m->fake->fail_retrieve)
		return -FZ_FAKE_RETRIEVE_ERR;
	return 0;
}

static int x_finish(struct model *m, struct m_session *s)
{
	for (int i = 0; i < s->nfiles; i++)
		if (s->files[i].fake && m->fake->refuse_finish)
			return -EBUSY;
	return 0;
}

static int x_reboot(const struct m_req *r)
{
	uint32_t flags = ld32(r->arg + 4);

	if (flags & ~LUO_REBOOT_EXEC_FD)
		return -EOPNOTSUPP;
	if ((flags & LUO_REBOOT_EXEC_FD) && !r->fd)
		return -EBADF;
	if (!(flags & LUO_REBOOT_EXEC_FD) && r->fd)
		return -EINVAL;
	return -M_REBOOT_ERR;
}

static int x_list(const struct m_req *r)
{
	if (ld32(r->arg + 4))
		return -EINVAL;
	return r->extra_cap < sizeof(struct luo_list_record) ? -ENOBUFS : 0;
}

/* The command's own rules, once the generic checks passed. */
static int execute(struct model *m, const struct m_req *r, uint32_t nr,
		   struct m_expect *e)
{
	static const enum m_effect effects[] = {
		[LIVEUPDATE_CMD_CREATE_SESSION] = M_CREATE,
		[LIVEUPDATE_CMD_RETRIEVE_SESSION] = M_RETRIEVE,
		[LIVEUPDATE_CMD_SESSION_PRESERVE_FD] = M_PRESERVE,
		[LIVEUPDATE_CMD_SESSION_RETRIEVE_FD] = M_RETRIEVE_FD,
		[LIVEUPDATE_CMD_SESSION_FINISH] = M_FINISH,
		[LIVEUPDATE_CMD_SESSION_GET_NAME] = M_GET_NAME,
		[LUO_CMD_STATUS] = M_NONE,
	};

	e->effect = nr < sizeof(effects) / sizeof(effects[0]) ?
		    effects[nr] : M_NONE;
	e->s = r->s;
	switch (nr) {
	case LIVEUPDATE_CMD_CREATE_SESSION:
		return x_create(m, r->arg);
	case LIVEUPDATE_CMD_RETRIEVE_SESSION:
		return x_retrieve(m, r->arg, e);
	case LUO_CMD_LIST:
		return x_list(r);
	case LUO_CMD_REBOOT:
		return x_reboot(r);
	case LIVEUPDATE_CMD_SESSION_PRESERVE_FD:
		return x_preserve(m, r);
	case LIVEUPDATE_CMD_SESSION_RETRIEVE_FD:
		return x_retrieve_fd(m, r, e);
	case LIVEUPDATE_CMD_SESSION_FINISH:
		return x_finish(m, r->s);
	case LIVEUPDATE_CMD_SESSION_GET_NAME:
		return ld32(r->arg + 4) ? -EINVAL : 0;
	default:
		return 0;
	}
}

/* The generic checks of SPEC.md 2.1 and 2.2, in the kernel's order. */
static int generic(const struct m_cmd *c, const struct m_req *r)
{
	uint32_t usize, need;

	if (r->arg_len < sizeof(usize))
		return -EFAULT;
	usize = ld32(r->arg);
	if (r->cmd != _IO(LIVEUPDATE_IOCTL_TYPE, c->nr))
		return -ENOTTY;
	if (r->s && !(c->dirs & (r->s->incoming ? DIR_IN : DIR_OUT)))
		return -EINVAL;
	if (usize < c->min)
		return -EINVAL;
	need = usize < LUO_WIRE_MAX_ARG ? usize : LUO_WIRE_MAX_ARG;
	if (r->arg_len < need)
		return -EFAULT;
	for (uint32_t i = c->size; i < need; i++)
		if (r->arg[i])
			return -E2BIG;
	return 0;
}

/**
 * m_expect() - what the rules say a request must return
 * @m: the model, unchanged
 * @r: the request
 * @e: out: the result, the copy-back length and the effect on success
 */
void m_expect(struct model *m, const struct m_req *r, struct m_expect *e)
{
	uint32_t nr = r->cmd & 0xff;
	const struct m_cmd *c = m_cmd(r->s != NULL, nr);

	memset(e, 0, sizeof(*e));
	if (!c) {
		e->effect = M_UNMODELED;
		e->ret = -EINVAL;
		return;
	}
	/* The dispatch table's rule: an fd only where one is taken. */
	if (r->fd && nr != (r->s ? LIVEUPDATE_CMD_SESSION_PRESERVE_FD :
				   LUO_CMD_REBOOT)) {
		e->ret = -EINVAL;
		return;
	}
	e->ret = generic(c, r);
	if (!e->ret)
		e->ret = execute(m, r, nr, e);
	if (e->ret && e->effect != M_RETRIEVE_FD)
		e->effect = M_NONE;
	if (!e->ret)
		e->copy_len = ld32(r->arg) < c->size ? ld32(r->arg) : c->size;
}

static struct m_session *add_out(struct model *m, const uint8_t *name,
				 struct luo_session *handle)
{
	struct m_session *s = &m->out[m->nout++];

	memset(s, 0, sizeof(*s));
	memcpy(s->name, name, LIVEUPDATE_SESSION_NAME_LENGTH);
	s->handle = handle;
	return s;
}

/**
 * m_apply() - the effect of a request whose result matched the rules
 * @m:   the model
 * @r:   the request
 * @e:   from m_expect()
 * @out: the session CREATE or RETRIEVE_SESSION returned
 *
 * Return: the session the request created or retrieved, else NULL.
 */
struct m_session *m_apply(struct model *m, const struct m_req *r,
			  const struct m_expect *e, struct luo_session *out)
{
	struct m_file *f;

	switch (e->effect) {
	case M_CREATE:
		return add_out(m, r->arg + 8, out);
	case M_RETRIEVE:
		e->s->retrieved = true;
		e->s->handle = out;
		return e->s;
	case M_PRESERVE:
		f = &r->s->files[r->s->nfiles++];
		f->token = ld64(r->arg + 8);
		f->ident = r->fd->ident;
		f->fake = r->fd->kind == M_PIPE;
		f->rstatus = 0;
		break;
	case M_RETRIEVE_FD:
		if (e->f && !e->f->rstatus)
			e->f->rstatus = e->ret ? e->ret : 1;
		break;
	case M_FINISH:
		r->s->nfiles = 0;
		r->s->finished = true;
		break;
	default:
		break;
	}
	return NULL;
}

static void drop(struct m_session *arr, int *n, struct m_session *s)
{
	int i = (int)(s - arr);

	memmove(&arr[i], &arr[i + 1], (size_t)(*n - i - 1) * sizeof(*s));
	(*n)--;
}

/**
 * m_release() - the last close of a session fd
 * @m: the model
 * @s: a session the fuzzer holds
 *
 * Outgoing: the session goes.  Incoming: an implicit FINISH; if it is
 * refused the session stays, retrieved, with no fd.
 */
void m_release(struct model *m, struct m_session *s)
{
	if (!s->incoming) {
		drop(m->out, &m->nout, s);
		return;
	}
	if (x_finish(m, s)) {
		s->handle = NULL;
		return;
	}
	drop(m->in, &m->nin, s);
}

/**
 * m_handover() - a reboot: the outgoing sessions become the incoming ones
 * @m: the model
 */
void m_handover(struct model *m)
{
	memcpy(m->in, m->out, sizeof(m->out));
	m->nin = m->nout;
	m->nout = 0;
	for (int i = 0; i < m->nin; i++) {
		m->in[i].incoming = true;
		m->in[i].handle = NULL;
	}
	m->update_number++;
}

/**
 * m_nr_files() - files the model holds
 * @m: the model
 *
 * Return: outgoing and incoming files together.
 */
uint64_t m_nr_files(const struct model *m)
{
	uint64_t n = 0;

	for (int i = 0; i < m->nout; i++)
		n += (uint64_t)m->out[i].nfiles;
	for (int i = 0; i < m->nin; i++)
		n += (uint64_t)m->in[i].nfiles;
	return n;
}
