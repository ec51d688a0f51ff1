// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The ioctl dispatch: one table per fd type, size-checked structs, and the
 * kernel's exact order of checks (SPEC.md 2.1 and 2.2).
 *
 * The tables are also the policy (DESIGN.md section 7a), declared per
 * request as the kernel's iommufd and fwctl declare theirs, and checked
 * here only: which kinds of fd may send it, whether it may carry an fd,
 * whether it needs the administrator, and what it charges to the owner's
 * limits.  A request without an entry cannot be sent; an entry cannot
 * forget its policy.
 */
#include <errno.h>
#include <string.h>

#include "core_internal.h"
#include "luo_wire.h"

union luo_ucmd {
	uint32_t size;
	struct liveupdate_ioctl_create_session create;
	struct liveupdate_ioctl_retrieve_session retrieve;
	struct liveupdate_session_preserve_fd preserve;
	struct liveupdate_session_retrieve_fd retrieve_fd;
	struct liveupdate_session_finish finish;
	struct liveupdate_session_get_name get_name;
	struct luo_status status;
	struct luo_list list;
	struct luo_reboot reboot;
	struct luo_upgrade upgrade;
	struct luo_session_handover handover;
	struct luo_ioctl_get_state get_state;
	struct luo_ioctl_set_event set_event;
	struct luo_session_unpreserve_fd unpreserve;
	struct luo_drop_session drop;
	struct luo_session_error last_error;
	struct luo_pool_memfd pool_memfd;
	struct luo_reboot_kexec kexec;
};

enum {
	DIR_OUT = 1 << 0,	/* valid on an outgoing session */
	DIR_IN = 1 << 1,	/* valid on an incoming session */
};

/* Who may send a request: enum luo_caller_kind bits. */
#define ON_DEVICE	LUO_CALLER_DEVICE
#define ON_ANY_DEVICE	(LUO_CALLER_DEVICE | LUO_CALLER_CONTROL)
#define ON_SESSION	LUO_CALLER_SESSION

/* struct luo_ioctl_op.flags */
enum {
	OP_FD = 1 << 0,		/* may carry an fd; without it, EINVAL */
	OP_ADMIN = 1 << 1,	/* the administrator's alone; EPERM */
	OP_NEW_SESSION = 1 << 2,/* answers with a session fd */
	OP_NOTE_ERROR = 1 << 3,	/* failures: the session's last error */
};

/* What a request charges to the owner's limits (owner.c); ENOSPC. */
enum {
	CHARGE_NONE,
	CHARGE_SESSION,		/* the caller gains a session */
	CHARGE_FILE,		/* the session's owner gains a file */
	/*
	 * The caller's uid is charged the space of the file it gets, as it
	 * writes it: the host makes the file the caller's, within its limit
	 * (liveupdated's --max-pool-per-user: the pool's user quota, which
	 * the kernel enforces, EDQUOT on the caller's write).  No check
	 * here: nothing is taken until the caller writes.
	 */
	CHARGE_POOL,
};

/**
 * struct luo_ioctl_op - one request and its policy
 * @cmd:      the full command word
 * @size:     the struct as the core knows it
 * @min_size: offsetofend of its last member
 * @dirs:     session commands: DIR_*
 * @callers:  the kinds of fd it may come on (enum luo_caller_kind): EPERM
 *            from any other, as the kernel's commands from a control fd
 * @flags:    OP_*
 * @charge:   CHARGE_*; given back when the session or file goes
 * @execute:  the command
 */
struct luo_ioctl_op {
	uint32_t cmd;
	uint32_t size;
	uint32_t min_size;
	unsigned int dirs;
	unsigned int callers;
	unsigned int flags;
	unsigned int charge;
	int (*execute)(struct luo_core *core, struct luo_session *s,
		       union luo_ucmd *u, struct luo_call *call);
};

#define IOCTL_OP(_cmd, _struct, _last, _dirs, _callers, _flags,	\
		 _charge, _fn) {					\
	.cmd = (_cmd),							\
	.size = sizeof(_struct),					\
	.min_size = offsetof(_struct, _last) +				\
		    sizeof(((_struct *)0)->_last),			\
	.dirs = (_dirs),						\
	.callers = (_callers),						\
	.flags = (_flags),						\
	.charge = (_charge),						\
	.execute = (_fn),						\
}

static int do_create(struct luo_core *core, struct luo_session *unused,
		     union luo_ucmd *u, struct luo_call *call)
{
	u->create.fd = -1;	/* the transport installs the real fd */
	if (luo_state_sealed(core))
		return -EBUSY;
	return luo_session_create(core, u->create.name, call->caller.uid,
				  &call->out_session);
}

static int do_retrieve(struct luo_core *core, struct luo_session *unused,
		       union luo_ucmd *u, struct luo_call *call)
{
	int ret = luo_session_retrieve(core, u->retrieve.name, call->caller.uid,
				       &call->out_session);

	u->retrieve.fd = -1;
	return ret;
}

static int do_preserve(struct luo_core *core, struct luo_session *s,
		       union luo_ucmd *u, struct luo_call *call)
{
	if (luo_state_sealed(core)) {
		luo_session_note_error(s, u->preserve.token, -EBUSY,
				       "the state is PREPARED: no file joins a session until CANCEL or the reboot");
		return -EBUSY;
	}
	return luo_file_preserve(core, s, call->in_fd, u->preserve.token);
}

static int do_retrieve_fd(struct luo_core *core, struct luo_session *s,
			  union luo_ucmd *u, struct luo_call *call)
{
	struct luo_file *f = luo_file_find(s, u->retrieve_fd.token);
	bool before = f && f->retrieve_status;
	int ret;

	u->retrieve_fd.fd = -1;
	ret = luo_file_retrieve(core, s, u->retrieve_fd.token, &call->out_fd);
	call->retrieved = !ret && !before;
	return ret;
}

static int do_finish(struct luo_core *core, struct luo_session *s,
		     union luo_ucmd *u, struct luo_call *call)
{
	return luo_session_finish(core, s);
}

static int do_get_name(struct luo_core *core, struct luo_session *s,
		       union luo_ucmd *u, struct luo_call *call)
{
	if (u->get_name.reserved)
		return -EINVAL;
	memset(u->get_name.name, 0, sizeof(u->get_name.name));
	memcpy(u->get_name.name, s->name, strlen(s->name));
	return 0;
}

static int do_status(struct luo_core *core, struct luo_session *unused,
		     union luo_ucmd *u, struct luo_call *call)
{
	return luo_ext_status(core, &u->status, &call->caller);
}

static int do_list(struct luo_core *core, struct luo_session *unused,
		   union luo_ucmd *u, struct luo_call *call)
{
	return luo_ext_list(core, &u->list, call);
}

static int do_reboot(struct luo_core *core, struct luo_session *unused,
		     union luo_ucmd *u, struct luo_call *call)
{
	if (u->reboot.flags & ~LUO_REBOOT_EXEC_FD)
		return -EOPNOTSUPP;
	if ((u->reboot.flags & LUO_REBOOT_EXEC_FD) && call->in_fd < 0)
		return -EBADF;
	if (!(u->reboot.flags & LUO_REBOOT_EXEC_FD) && call->in_fd >= 0)
		return -EINVAL;
	if (!core->host.reboot)
		return -EOPNOTSUPP;
	return core->host.reboot(core->host.ctx, &u->reboot, call->in_fd);
}

static int do_upgrade(struct luo_core *core, struct luo_session *unused,
		      union luo_ucmd *u, struct luo_call *call)
{
	if (u->upgrade.flags & ~LUO_UPGRADE_EXEC_FD)
		return -EOPNOTSUPP;
	if ((u->upgrade.flags & LUO_UPGRADE_EXEC_FD) && call->in_fd < 0)
		return -EBADF;
	if (!(u->upgrade.flags & LUO_UPGRADE_EXEC_FD) && call->in_fd >= 0)
		return -EINVAL;
	if (!core->host.upgrade)
		return -EOPNOTSUPP;
	return core->host.upgrade(core->host.ctx, &u->upgrade, call->in_fd);
}

/* CHARGE_POOL: the host charges the file to the caller's uid. */
static int do_pool_memfd(struct luo_core *core, struct luo_session *unused,
			 union luo_ucmd *u, struct luo_call *call)
{
	struct luo_pool_memfd *p = &u->pool_memfd;

	p->fd = -1;
	if ((p->flags & ~LUO_POOL_ALLOW_SEALING) || p->reserved ||
	    !memchr(p->name, 0, sizeof(p->name)))
		return -EINVAL;
	if (!core->host.pool_memfd)
		return -EOPNOTSUPP;
	return core->host.pool_memfd(core->host.ctx, p, call->caller.uid,
				     &call->out_fd);
}

static int do_reboot_kexec(struct luo_core *core, struct luo_session *unused,
			   union luo_ucmd *u, struct luo_call *call)
{
	struct luo_reboot_kexec *k = &u->kexec;

	if (k->flags & ~(LUO_KEXEC_NO_INITRD | LUO_KEXEC_CMDLINE))
		return -EOPNOTSUPP;
	if (!memchr(k->kernel, 0, sizeof(k->kernel)) ||
	    !memchr(k->initrd, 0, sizeof(k->initrd)) ||
	    !memchr(k->cmdline, 0, sizeof(k->cmdline)) ||
	    ((k->flags & LUO_KEXEC_NO_INITRD) && k->initrd[0]))
		return -EINVAL;
	k->update_number = 0;
	if (!core->host.reboot_kexec)
		return -EOPNOTSUPP;
	return core->host.reboot_kexec(core->host.ctx, k);
}

static int do_handover(struct luo_core *core, struct luo_session *s,
		       union luo_ucmd *u, struct luo_call *call)
{
	int ret;

	/* PREPARED seals the outgoing set: no session leaves it either. */
	if (luo_state_sealed(core))
		return -EBUSY;
	ret = luo_session_handover(core, s, &u->handover);
	call->detach = !ret;
	return ret;
}

static int do_get_state(struct luo_core *core, struct luo_session *unused,
			union luo_ucmd *u, struct luo_call *call)
{
	u->get_state.state = luo_state_get(core);
	return 0;
}

static int do_set_event(struct luo_core *core, struct luo_session *unused,
			union luo_ucmd *u, struct luo_call *call)
{
	return luo_state_set_event(core, u->set_event.event);
}

static int do_unpreserve(struct luo_core *core, struct luo_session *s,
			 union luo_ucmd *u, struct luo_call *call)
{
	return luo_state_unpreserve_fd(core, s, &u->unpreserve);
}

static int do_drop(struct luo_core *core, struct luo_session *unused,
		   union luo_ucmd *u, struct luo_call *call)
{
	if (u->drop.flags)
		return -EOPNOTSUPP;
	u->drop.nr_files = 0;
	return luo_session_drop(core, (const uint8_t *)u->drop.name,
				u->drop.owner, &u->drop.nr_files);
}

static int do_last_error(struct luo_core *core, struct luo_session *s,
			 union luo_ucmd *u, struct luo_call *call)
{
	u->last_error.error = s->err_errno;
	u->last_error.token = s->err_token;
	memset(u->last_error.reason, 0, sizeof(u->last_error.reason));
	memcpy(u->last_error.reason, s->err_reason,
	       strnlen(s->err_reason, sizeof(s->err_reason) - 1));
	return 0;
}

static const struct luo_ioctl_op device_ops[] = {
	IOCTL_OP(LIVEUPDATE_IOCTL_CREATE_SESSION,
		 struct liveupdate_ioctl_create_session, name, 0,
		 ON_DEVICE, OP_NEW_SESSION, CHARGE_SESSION, do_create),
	IOCTL_OP(LIVEUPDATE_IOCTL_RETRIEVE_SESSION,
		 struct liveupdate_ioctl_retrieve_session, name, 0,
		 ON_DEVICE, OP_NEW_SESSION, CHARGE_NONE, do_retrieve),
};

/*
 * luo's own requests.  REBOOT and UPGRADE (with or without an image to
 * execute) and SET_EVENT (the RFC's PREPARE, CANCEL and a global FINISH)
 * change the machine as a whole: the administrator's, as kexec needs
 * CAP_SYS_BOOT.  DROP_SESSION ends any user's stale incoming session: the
 * administrator's as well.
 */
static const struct luo_ioctl_op device_ext_ops[LUO_CMD_EXT_COUNT] = {
	IOCTL_OP(LUO_IOCTL_STATUS, struct luo_status, version, 0,
		 ON_ANY_DEVICE, 0, CHARGE_NONE, do_status),
	IOCTL_OP(LUO_IOCTL_LIST, struct luo_list, done, 0,
		 ON_ANY_DEVICE, 0, CHARGE_NONE, do_list),
	IOCTL_OP(LUO_IOCTL_REBOOT, struct luo_reboot, update_number, 0,
		 ON_ANY_DEVICE, OP_FD | OP_ADMIN, CHARGE_NONE, do_reboot),
	IOCTL_OP(LUO_IOCTL_GET_STATE, struct luo_ioctl_get_state, state, 0,
		 ON_ANY_DEVICE, 0, CHARGE_NONE, do_get_state),
	IOCTL_OP(LUO_IOCTL_SET_EVENT, struct luo_ioctl_set_event, event, 0,
		 ON_ANY_DEVICE, OP_ADMIN, CHARGE_NONE, do_set_event),
	IOCTL_OP(LUO_IOCTL_UPGRADE, struct luo_upgrade, update_number, 0,
		 ON_ANY_DEVICE, OP_FD | OP_ADMIN, CHARGE_NONE, do_upgrade),
	[LUO_CMD_DROP_SESSION - LUO_CMD_EXT_BASE] =
		IOCTL_OP(LUO_IOCTL_DROP_SESSION, struct luo_drop_session, name,
			 0, ON_ANY_DEVICE, OP_ADMIN, CHARGE_NONE, do_drop),
	/* A file in the pool: anyone's, like a memfd; its space theirs. */
	[LUO_CMD_POOL_MEMFD - LUO_CMD_EXT_BASE] =
		IOCTL_OP(LUO_IOCTL_POOL_MEMFD, struct luo_pool_memfd, name,
			 0, ON_ANY_DEVICE, 0, CHARGE_POOL, do_pool_memfd),
	/* A real kexec: the administrator's, as REBOOT. */
	[LUO_CMD_REBOOT_KEXEC - LUO_CMD_EXT_BASE] =
		IOCTL_OP(LUO_IOCTL_REBOOT_KEXEC, struct luo_reboot_kexec,
			 cmdline, 0, ON_ANY_DEVICE, OP_ADMIN, CHARGE_NONE,
			 do_reboot_kexec),
};

static const struct luo_ioctl_op session_ops[] = {
	IOCTL_OP(LIVEUPDATE_SESSION_PRESERVE_FD,
		 struct liveupdate_session_preserve_fd, token, DIR_OUT,
		 ON_SESSION, OP_FD | OP_NOTE_ERROR, CHARGE_FILE, do_preserve),
	IOCTL_OP(LIVEUPDATE_SESSION_RETRIEVE_FD,
		 struct liveupdate_session_retrieve_fd, token, DIR_IN,
		 ON_SESSION, 0, CHARGE_NONE, do_retrieve_fd),
	IOCTL_OP(LIVEUPDATE_SESSION_FINISH, struct liveupdate_session_finish,
		 reserved, DIR_IN, ON_SESSION, 0, CHARGE_NONE, do_finish),
	IOCTL_OP(LIVEUPDATE_SESSION_GET_NAME, struct liveupdate_session_get_name,
		 name, DIR_OUT | DIR_IN, ON_SESSION, 0, CHARGE_NONE,
		 do_get_name),
};

/* Sparse: a slot without an execute is not a command (EINVAL). */
static const struct luo_ioctl_op session_ext_ops[] = {
	[LUO_CMD_SESSION_UNPRESERVE_FD - LUO_CMD_SESSION_EXT_BASE] =
		IOCTL_OP(LUO_SESSION_UNPRESERVE_FD,
			 struct luo_session_unpreserve_fd, token, DIR_OUT,
			 ON_SESSION, 0, CHARGE_NONE, do_unpreserve),
	[LUO_CMD_HANDOVER - LUO_CMD_SESSION_EXT_BASE] =
		IOCTL_OP(LUO_IOCTL_HANDOVER, struct luo_session_handover,
			 flags, DIR_OUT, ON_SESSION, 0, CHARGE_NONE,
			 do_handover),
	[LUO_CMD_SESSION_LAST_ERROR - LUO_CMD_SESSION_EXT_BASE] =
		IOCTL_OP(LUO_SESSION_LAST_ERROR, struct luo_session_error,
			 reason, DIR_OUT | DIR_IN, ON_SESSION, 0, CHARGE_NONE,
			 do_last_error),
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const struct luo_ioctl_op *lookup(uint32_t nr, uint32_t base,
					 const struct luo_ioctl_op *ops,
					 size_t n)
{
	if (nr < base || nr - base >= n || !ops[nr - base].execute)
		return NULL;
	return &ops[nr - base];
}

/*
 * copy_struct_from_user() over the request buffer: bytes past what the core
 * knows must be zero.  Bytes past arg_len were checked by the client when
 * the wire capped the argument; anything else short is a fault.
 */
static int copy_in(const struct luo_ioctl_op *op, struct luo_call *call,
		   uint32_t usize, union luo_ucmd *u)
{
	uint32_t need = usize < LUO_WIRE_MAX_ARG ? usize : LUO_WIRE_MAX_ARG;
	const uint8_t *arg = call->arg;

	if (call->arg_len < need)
		return -EFAULT;
	for (uint32_t i = op->size; i < need; i++)
		if (arg[i])
			return -E2BIG;
	/* Bytes the caller did not give are zero, never the buffer's rest. */
	memset(u, 0, sizeof(*u));
	memcpy(u, arg, need < op->size ? need : op->size);
	return 0;
}

/*
 * The transport's rules, before anything of the request is read: an fd
 * only where the request takes one, and the kernel's commands only on a
 * device (a control fd is luo's).
 */
static int check_transport(const struct luo_ioctl_op *op,
			   const struct luo_call *call, unsigned int kind)
{
	if (call->in_fd >= 0 && !(op->flags & OP_FD))
		return -EINVAL;
	if (!(op->callers & kind))
		return -EPERM;
	return 0;
}

/* The token of a PRESERVE_FD as far as the caller sent it, else 0. */
static uint64_t call_token(const struct luo_call *call)
{
	struct liveupdate_session_preserve_fd p = { 0 };

	if (call->cmd != LIVEUPDATE_SESSION_PRESERVE_FD)
		return 0;
	memcpy(&p, call->arg, call->arg_len < sizeof(p) ? call->arg_len :
	       sizeof(p));
	return p.token;
}

/* After the size checks: who may, and whether the owner has room. */
static int check_policy(struct luo_core *core, struct luo_session *s,
			const struct luo_ioctl_op *op,
			const struct luo_call *call)
{
	int ret;

	if ((op->flags & OP_ADMIN) && !call->caller.admin)
		return -EPERM;
	switch (op->charge) {
	case CHARGE_SESSION:
		if (!call->caller.session_room)
			return -ENOSPC;
		return luo_owner_check(core, call->caller.uid, 1, 0);
	case CHARGE_FILE:
		ret = luo_owner_check(core, s->owner->uid, 0, 1);
		if (ret)
			luo_session_note_error(s, call_token(call), ret,
					       "uid %u holds the most files allowed per user",
					       s->owner->uid);
		return ret;
	default:
		return 0;
	}
}

static int run(struct luo_core *core, struct luo_session *s,
	       const struct luo_ioctl_op *op, struct luo_call *call,
	       unsigned int kind)
{
	union luo_ucmd u;
	uint32_t usize;
	int ret;

	ret = check_transport(op, call, kind);
	if (ret)
		return ret;
	if (call->arg_len < sizeof(usize))
		return -EFAULT;
	memcpy(&usize, call->arg, sizeof(usize));
	if (call->cmd != op->cmd)
		return -ENOTTY;
	if (s && !(op->dirs & (s->incoming ? DIR_IN : DIR_OUT)))
		return -EINVAL;
	if (usize < op->min_size)
		return -EINVAL;
	ret = copy_in(op, call, usize, &u);
	if (ret)
		return ret;
	ret = check_policy(core, s, op, call);
	if (ret)
		return ret;
	ret = op->execute(core, s, &u, call);
	if (ret < 0)
		return ret;
	call->copy_len = usize < op->size ? usize : op->size;
	memcpy(call->arg, &u, call->copy_len);
	return ret;
}

/**
 * luo_call_init() - prepare a request
 * @call:    the request; its caller is root on /dev/liveupdate until the
 *           transport says who it is (@call->caller)
 * @cmd:     the ioctl request code
 * @arg:     the caller's struct, updated in place on success
 * @arg_len: bytes available at @arg
 * @in_fd:   the fd attached to the request, or -1
 */
void luo_call_init(struct luo_call *call, uint32_t cmd, void *arg,
		   uint32_t arg_len, int in_fd)
{
	memset(call, 0, sizeof(*call));
	call->caller.uid = 0;
	call->caller.admin = true;
	call->caller.kind = LUO_CALLER_DEVICE;
	call->caller.session_room = UINT32_MAX;
	call->cmd = cmd;
	call->arg = arg;
	call->arg_len = arg_len;
	call->in_fd = in_fd;
	call->out_fd = -1;
}

/**
 * luo_core_device_ioctl() - an ioctl on /dev/liveupdate
 * @core: the core
 * @call: the request; its outputs are set on success
 *
 * EINVAL for a number outside the table; the transport's rules: EINVAL
 * for an fd the command does not take, EPERM for a command this kind of
 * fd may not send; EFAULT for a missing size word, ENOTTY for a mismatched
 * command word, EINVAL for a short size, E2BIG for non-zero bytes past the
 * struct; EPERM for an administrator's command from anyone else, ENOSPC
 * past the owner's limits; then the command's own result.
 *
 * Return: 0, LUO_CALL_DEFERRED (REBOOT or UPGRADE answered later) or
 * -errno.
 */
int luo_core_device_ioctl(struct luo_core *core, struct luo_call *call)
{
	uint32_t nr = call->cmd & 0xff;
	const struct luo_ioctl_op *op;

	op = lookup(nr, LIVEUPDATE_CMD_BASE, device_ops, ARRAY_SIZE(device_ops));
	if (!op)
		op = lookup(nr, LUO_CMD_EXT_BASE, device_ext_ops,
			    ARRAY_SIZE(device_ext_ops));
	if (!op)
		return -EINVAL;
	return run(core, NULL, op, call, call->caller.kind);
}

/**
 * luo_core_makes_session() - does a device request answer with a session?
 * @cmd: the request code
 *
 * For the transport, which reserves the session fd before the core runs
 * (SPEC.md 2.1, step 7).
 *
 * Return: true for CREATE_SESSION and RETRIEVE_SESSION.
 */
bool luo_core_makes_session(uint32_t cmd)
{
	const struct luo_ioctl_op *op;

	op = lookup(cmd & 0xff, LIVEUPDATE_CMD_BASE, device_ops,
		    ARRAY_SIZE(device_ops));
	return op && (op->flags & OP_NEW_SESSION);
}

/**
 * luo_core_session_ioctl() - an ioctl on a session fd
 * @core: the core
 * @s:    the session the fd stands for
 * @call: the request; its outputs are set on success
 *
 * As luo_core_device_ioctl() for a caller of kind LUO_CALLER_SESSION,
 * plus the direction check (EINVAL) between the command word and the size
 * checks.  After a successful HANDOVER
 * @call->detach is set: @s is no longer the fd's session.
 *
 * Return: 0 or -errno.
 */
int luo_core_session_ioctl(struct luo_core *core, struct luo_session *s,
			   struct luo_call *call)
{
	uint32_t nr = call->cmd & 0xff, seq;
	const struct luo_ioctl_op *op;
	int ret;

	op = lookup(nr, LIVEUPDATE_CMD_SESSION_BASE, session_ops,
		    ARRAY_SIZE(session_ops));
	if (!op)
		op = lookup(nr, LUO_CMD_SESSION_EXT_BASE, session_ext_ops,
			    ARRAY_SIZE(session_ext_ops));
	if (!op)
		return -EINVAL;
	seq = s->err_seq;
	ret = run(core, s, op, call, LUO_CALLER_SESSION);
	/* A failure the command did not explain itself: the rule it broke. */
	if (ret < 0 && ret != -EWOULDBLOCK && (op->flags & OP_NOTE_ERROR) &&
	    seq == s->err_seq)
		luo_session_note_error(s, call_token(call), ret, "%s",
				       ret == -EINVAL && s->incoming ?
				       "the session is incoming: files join outgoing sessions only" :
				       "the request was malformed");
	return ret;
}
