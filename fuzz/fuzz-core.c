// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz target: the core's dispatch.  The input is a program of operations
 * on one struct luo_core with the memfd handler and a fake pipe handler:
 * ioctls on the device or on a session the program holds (command words
 * mostly of type 0xBA with numbers from the tables and their neighbours,
 * sometimes arbitrary; sizes and bytes arbitrary; an fd from a small pool
 * or none), the last close of a session, freeze and unfreeze, the fake
 * handler's failure knobs, and a handover round trip into a fresh core.
 *
 * Every result is compared with the reference model (core-model.c), and
 * after every operation the core's STATUS and LIST must be the model's
 * (core-check.c).  After every input the fd count is what it was.
 *
 * The pool of fds is the one piece of process state: made once, never
 * handed to the core (it duplicates what it keeps).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core-check.h"
#include "core-model.h"
#include "fuzz.h"
#include "handlers.h"
#include "luo_wire.h"

/* Operations per input, and the pool: see pool_init(). */
#define MAX_OPS		64
#define NPOOL		9
#define LISTEN		7	/* the pool fd given to the handover as listen-fd */
#define NR_IDENTS	8

static struct m_fd pool[NPOOL];
static ino_t ident_ino[NR_IDENTS];

struct run {
	struct luo_core *core;
	struct model m;
	struct fz_fake fake;
	struct luo_file_handler memfd;
	struct fz_in in;
};

static int host_reboot(void *ctx, struct luo_reboot *arg, int exec_fd)
{
	return -M_REBOOT_ERR;
}

static void host_log(void *ctx, int level, const char *msg)
{
}

static void pool_add(int i, int fd, enum m_kind kind, int ident)
{
	struct stat st;

	FZ_CHECK(fd >= 0 && !fstat(fd, &st), "pool fd %d: %s", i,
		 strerror(errno));
	pool[i] = (struct m_fd){ .fd = fd, .kind = kind, .ident = ident };
	ident_ino[ident] = st.st_ino;
}

/*
 * Memfd A twice (two open file descriptions of one inode: one identity),
 * memfds B and C, both ends of one pipe (two descriptions, two
 * identities), the read end of another, /dev/null (no handler) and an
 * O_PATH fd of A (no file).
 */
static void pool_init(void)
{
	int p[2], q[2];
	char path[64];

	pool_add(0, memfd_create("fuzz-a", MFD_CLOEXEC), M_MEMFD, 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", pool[0].fd);
	pool_add(1, open(path, O_RDWR | O_CLOEXEC), M_MEMFD, 0);
	pool_add(2, memfd_create("fuzz-b", MFD_CLOEXEC), M_MEMFD, 1);
	pool_add(3, memfd_create("fuzz-c", MFD_CLOEXEC), M_MEMFD, 2);
	FZ_CHECK(!pipe2(p, O_CLOEXEC) && !pipe2(q, O_CLOEXEC), "pipe");
	pool_add(4, p[0], M_PIPE, 3);
	pool_add(5, p[1], M_PIPE, 4);
	pool_add(6, q[0], M_PIPE, 5);
	close(q[1]);
	pool_add(LISTEN, open("/dev/null", O_RDWR | O_CLOEXEC), M_OTHER, 6);
	pool_add(8, open(path, O_PATH | O_CLOEXEC), M_OPATH, 7);
}

/**
 * LLVMFuzzerInitialize() - libFuzzer's set-up: make the pool of fds the programs attach
 * @argc: unused
 * @argv: unused
 *
 * Return: 0.
 */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	pool_init();
	return 0;
}

/* A core with both handlers; the fake handler keeps its knobs. */
static void core_start(struct run *r)
{
	struct luo_core_config cfg = {
		.max_sessions = M_MAX_SESSIONS,
		.max_files = M_MAX_FILES,
		.host = { .reboot = host_reboot, .log = host_log, .ctx = r },
	};
	struct fz_fake knobs = r->fake;

	r->core = luo_core_new(&cfg);
	FZ_CHECK(r->core, "luo_core_new");
	fz_fake_init(&r->fake);
	r->fake.fail_preserve = knobs.fail_preserve;
	r->fake.fail_freeze = knobs.fail_freeze;
	r->fake.fail_retrieve = knobs.fail_retrieve;
	r->fake.refuse_finish = knobs.refuse_finish;
	luo_memfd_handler_init(&r->memfd);
	FZ_CHECK(!luo_register_file_handler(r->core, &r->memfd) &&
		 !luo_register_file_handler(r->core, &r->fake.h),
		 "registering the handlers");
}

/* The sessions the program holds an fd for, outgoing first. */
static int handles(struct run *r, struct m_session **hs)
{
	int n = 0;

	for (int i = 0; i < r->m.nout; i++)
		hs[n++] = &r->m.out[i];
	for (int i = 0; i < r->m.nin; i++)
		if (r->m.in[i].handle)
			hs[n++] = &r->m.in[i];
	return n;
}

static struct m_session *pick_session(struct run *r, uint8_t b)
{
	struct m_session *hs[2 * M_MAX_SESSIONS];
	int n = handles(r, hs);

	return n ? hs[b % n] : NULL;
}

static const uint8_t dev_nrs[] = { 0x00, 0x01, 0x80, 0x81, 0x82 };
static const uint8_t ses_nrs[] = { 0x40, 0x41, 0x42, 0x43 };
static const uint8_t odd_nrs[] = { 0x02, 0x3f, 0x44, 0x7f, 0x83, 0x84, 0xc0,
				   0xff, 0x00, 0x01, 0x40, 0x41, 0x42, 0x43,
				   0x80, 0x81, 0x82 };

#define PICK(a, b) ((a)[(b) % sizeof(a)])

/* Mostly a real command word for the target; sometimes anything. */
static uint32_t pick_cmd(struct fz_in *in, bool session)
{
	uint8_t c = fz_u8(in);
	uint32_t nr, cmd;

	switch (c >> 5) {
	case 5:
		nr = PICK(odd_nrs, c);
		cmd = _IO(LIVEUPDATE_IOCTL_TYPE, nr);
		break;
	case 6:
		nr = PICK(odd_nrs, c);
		cmd = nr | (uint32_t)fz_u8(in) << 8 | (uint32_t)fz_u8(in) << 16;
		break;
	case 7:
		cmd = fz_u32(in);
		nr = cmd & 0xff;
		break;
	default:
		nr = session ? PICK(ses_nrs, c) : PICK(dev_nrs, c);
		cmd = _IO(LIVEUPDATE_IOCTL_TYPE, nr);
		break;
	}
	/* A number the model does not know must not be able to succeed. */
	if (!m_modeled(session, nr) && cmd == _IO(LIVEUPDATE_IOCTL_TYPE, nr))
		cmd ^= 0x100;
	return cmd;
}

static const char *const names[] = {
	"a", "b", "c", "d", "e",
	"", "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn",
};

/* A name: one of a few (so that they collide), empty, 63 or 64 bytes. */
static void put_name(struct fz_in *in, uint8_t *arg, uint32_t len)
{
	uint8_t name[LIVEUPDATE_SESSION_NAME_LENGTH] = { 0 };
	uint8_t b = fz_u8(in);

	if ((b & 7) == 7)
		memset(name, 'x', sizeof(name));
	else
		memcpy(name, names[b & 7], strlen(names[b & 7]));
	if ((b & 0x80) && (b & 7) < 5)
		name[40] = 'j';	/* junk after the terminator */
	if (len > 8)
		memcpy(arg + 8, name, len - 8 < sizeof(name) ? len - 8 :
		       sizeof(name));
}

static void put_u64(uint8_t *arg, uint32_t len, uint32_t off, uint64_t v)
{
	for (uint32_t i = 0; i < 8 && off + i < len; i++)
		arg[off + i] = (uint8_t)(v >> (8 * i));
}

static uint64_t pick_token(struct fz_in *in)
{
	static const uint64_t tokens[] = { 0, 1, 2, 3, UINT64_MAX };
	uint8_t b = fz_u8(in);

	return b % 6 < 5 ? tokens[b % 6] : fz_u64(in);
}

/* The fields after the size word, as the command would have them. */
static void fill_fields(struct fz_in *in, uint32_t nr, uint8_t *arg,
			uint32_t len)
{
	uint8_t b = fz_u8(in);

	if (b & 0x80) {		/* raw bytes */
		if (len > 4)
			fz_bytes(in, arg + 4, len - 4 < 96 ? len - 4 : 96);
		return;
	}
	if (b & 0x40)		/* a non-zero word in the second field */
		put_u64(arg, len, 4, fz_u32(in));
	switch (nr) {
	case LIVEUPDATE_CMD_CREATE_SESSION:
	case LIVEUPDATE_CMD_RETRIEVE_SESSION:
		put_name(in, arg, len);
		break;
	case LIVEUPDATE_CMD_SESSION_PRESERVE_FD:
	case LIVEUPDATE_CMD_SESSION_RETRIEVE_FD:
		put_u64(arg, len, 8, pick_token(in));
		break;
	case LUO_CMD_REBOOT:
		if (len > 4)
			arg[4] = b & 3;
		break;
	case LUO_CMD_LIST:
		put_u64(arg, len, 8, fz_u64(in) % 16);
		break;
	default:
		break;
	}
}

/* A struct size as the caller might give it, and the bytes sent. */
static uint32_t pick_size(struct fz_in *in, uint32_t ssize, uint32_t *len,
			  bool *dirty)
{
	uint8_t z = fz_u8(in);
	uint32_t usize = ssize;

	*dirty = z & 0x80;
	switch (z & 7) {
	case 3:
		usize = ssize + 1 + fz_u8(in) % 64;
		break;
	case 4:
		usize = ssize > (uint32_t)(z >> 3 & 7) ? ssize - 1 - (z >> 3 & 7) :
			0;
		break;
	case 5:
		usize = fz_u32(in);
		break;
	default:
		break;
	}
	*len = usize < LUO_WIRE_MAX_ARG ? usize : LUO_WIRE_MAX_ARG;
	if (*len < sizeof(uint32_t))
		*len = sizeof(uint32_t);
	if ((z & 7) == 6)	/* short: the "pointer" faults */
		*len = fz_u8(in) % (*len + 1);
	return usize;
}

static uint32_t struct_size(uint32_t nr)
{
	switch (nr) {
	case LIVEUPDATE_CMD_CREATE_SESSION:
	case LIVEUPDATE_CMD_RETRIEVE_SESSION:
		return sizeof(struct liveupdate_ioctl_create_session);
	case LUO_CMD_STATUS:
		return sizeof(struct luo_status);
	case LUO_CMD_LIST:
		return sizeof(struct luo_list);
	case LIVEUPDATE_CMD_SESSION_FINISH:
		return sizeof(struct liveupdate_session_finish);
	case LIVEUPDATE_CMD_SESSION_GET_NAME:
		return sizeof(struct liveupdate_session_get_name);
	default:
		return 16;
	}
}

/* The argument buffer, of exactly the length sent (ASan sees overruns). */
static uint8_t *make_arg(struct fz_in *in, uint32_t nr, uint32_t *len)
{
	uint32_t ssize = struct_size(nr), usize;
	bool dirty;
	uint8_t *arg;

	usize = pick_size(in, ssize, len, &dirty);
	arg = calloc(1, *len ? *len : 1);
	FZ_CHECK(arg, "out of memory");
	memcpy(arg, &usize, *len < 4 ? *len : 4);
	fill_fields(in, nr, arg, *len);
	if (dirty && *len > ssize)
		arg[ssize + fz_u8(in) % (*len - ssize)] = 1;
	return arg;
}

static uint32_t pick_extra(uint8_t b)
{
	static const uint32_t caps[] = {
		0, sizeof(struct luo_list_record) - 1,
		2 * sizeof(struct luo_list_record) + 5,
		LUO_LIST_PAGE_RECORDS * sizeof(struct luo_list_record),
	};

	return caps[b & 3];
}

static void check_fd_out(int fd, const struct m_expect *e)
{
	struct stat st;

	FZ_CHECK(fd >= 0 && fcntl(fd, F_GETFD) == FD_CLOEXEC,
		 "RETRIEVE_FD: fd %d without close-on-exec", fd);
	FZ_CHECK(!fstat(fd, &st) && st.st_ino == ident_ino[e->f->ident],
		 "RETRIEVE_FD: not the file preserved under token %llu",
		 (unsigned long long)e->f->token);
	close(fd);
}

/* What a successful request returned besides its result. */
static void check_success(struct run *r, const struct m_req *q,
			  const struct m_expect *e, struct luo_call *call)
{
	const uint8_t *arg = call->arg;
	int32_t fd;

	FZ_CHECK(call->copy_len == e->copy_len, "copy-back of %u bytes, not %u",
		 call->copy_len, e->copy_len);
	if (e->effect == M_CREATE || e->effect == M_RETRIEVE) {
		FZ_CHECK(call->out_session, "no session");
		FZ_CHECK(!strncmp(luo_session_name(call->out_session),
				  (const char *)q->arg + 8,
				  LIVEUPDATE_SESSION_NAME_LENGTH) &&
			 luo_session_is_incoming(call->out_session) ==
			 (e->effect == M_RETRIEVE), "the wrong session");
		memcpy(&fd, arg + 4, sizeof(fd));
		FZ_CHECK(fd == -1, "fd field %d", fd);
	} else {
		FZ_CHECK(!call->out_session, "a session out of nowhere");
	}
	if (e->effect == M_RETRIEVE_FD)
		check_fd_out(call->out_fd, e);
	else
		FZ_CHECK(call->out_fd == -1, "an fd out of nowhere");
	if (e->effect == M_GET_NAME && call->copy_len >= 72) {
		char want[LIVEUPDATE_SESSION_NAME_LENGTH] = { 0 };

		strcpy(want, q->s->name);
		FZ_CHECK(!memcmp(arg + 8, want, sizeof(want)), "GET_NAME");
	}
	if ((q->cmd & 0xff) == LUO_CMD_LIST) {
		const struct luo_list *l = call->arg;

		FZ_CHECK(call->extra_len == l->nr_records *
			 sizeof(struct luo_list_record) &&
			 call->extra_len <= q->extra_cap && l->done <= 1,
			 "LIST: %u records in %u bytes", l->nr_records,
			 call->extra_len);
	}
}

static void check_result(struct run *r, const struct m_req *q,
			 const struct m_expect *e, struct luo_call *call,
			 int ret)
{
	if (e->effect == M_UNMODELED) {
		FZ_CHECK(ret == -EINVAL || ret == -ENOTTY || ret == -EFAULT,
			 "cmd %#x: %d for a command that cannot exist", q->cmd,
			 ret);
	} else {
		FZ_CHECK(ret == e->ret, "cmd %#x on %s (size %u, %u bytes): %d, expected %d",
			 q->cmd, q->s ? q->s->name : "the device",
			 q->arg_len >= 4 ? *(const uint32_t *)q->arg : 0,
			 q->arg_len, ret, e->ret);
	}
	if (!ret) {
		check_success(r, q, e, call);
		return;
	}
	FZ_CHECK(!call->out_session && call->out_fd == -1 && !call->copy_len,
		 "a failed request returned something");
	FZ_CHECK(!call->arg_len || !memcmp(call->arg, q->arg, call->arg_len),
		 "a failed request changed its argument");
}

static void op_ioctl(struct run *r)
{
	uint8_t t = fz_u8(&r->in), f, x;
	struct m_req q = { .s = t & 1 ? NULL : pick_session(r, t >> 1) };
	struct m_expect e;
	struct luo_call call;
	uint8_t *arg, *orig;
	void *extra;
	int ret;

	q.cmd = pick_cmd(&r->in, q.s != NULL);
	arg = make_arg(&r->in, q.cmd & 0xff, &q.arg_len);
	f = fz_u8(&r->in);
	x = fz_u8(&r->in);
	q.fd = f % (NPOOL + 3) < NPOOL ? &pool[f % (NPOOL + 3)] : NULL;
	q.extra_cap = pick_extra(x);
	orig = malloc(q.arg_len ? q.arg_len : 1);
	extra = q.extra_cap ? malloc(q.extra_cap) : NULL;
	FZ_CHECK(orig && (extra || !q.extra_cap), "out of memory");
	memcpy(orig, arg, q.arg_len);
	q.arg = orig;
	m_expect(&r->m, &q, &e);

	luo_call_init(&call, q.cmd, arg, q.arg_len, q.fd ? q.fd->fd : -1);
	call.extra = extra;
	call.extra_cap = q.extra_cap;
	ret = q.s ? luo_core_session_ioctl(r->core, q.s->handle, &call) :
		    luo_core_device_ioctl(r->core, &call);
	check_result(r, &q, &e, &call, ret);
	m_apply(&r->m, &q, &e, call.out_session);
	free(extra);
	free(orig);
	free(arg);
}

static void op_release(struct run *r)
{
	struct m_session *s = pick_session(r, fz_u8(&r->in));

	if (!s)
		return;
	luo_core_session_release(r->core, s->handle);
	m_release(&r->m, s);
}

static int expect_freeze(const struct run *r)
{
	if (!r->fake.fail_freeze)
		return 0;
	for (int i = 0; i < r->m.nout; i++)
		for (int j = 0; j < r->m.out[i].nfiles; j++)
			if (r->m.out[i].files[j].fake)
				return -FZ_FAKE_FREEZE_ERR;
	return 0;
}

static void op_freeze(struct run *r)
{
	int want = expect_freeze(r), ret = luo_core_freeze(r->core);

	FZ_CHECK(ret == want, "freeze: %d, expected %d", ret, want);
	if (!ret)
		luo_core_unfreeze(r->core);
	FZ_CHECK(r->fake.frozen == 0, "%d files left frozen", r->fake.frozen);
}

static int collect_fd(void *ctx, int fd)
{
	int *fds = ctx;

	fds[++fds[0]] = fd;
	return 0;
}

/* What the daemon's exec does: the outgoing files under the same numbers. */
static void exec_core(struct run *r)
{
	int fds[1 + M_MAX_SESSIONS * M_MAX_FILES] = { 0 };
	int saved[M_MAX_SESSIONS * M_MAX_FILES];

	FZ_CHECK(!luo_core_for_each_outgoing_fd(r->core, collect_fd, fds),
		 "outgoing fds");
	for (int i = 0; i < fds[0]; i++) {
		saved[i] = fcntl(fds[1 + i], F_DUPFD_CLOEXEC, 0);
		FZ_CHECK(saved[i] >= 0, "dup: %s", strerror(errno));
	}
	luo_core_free(r->core);
	for (int i = 0; i < fds[0]; i++) {
		FZ_CHECK(dup2(saved[i], fds[1 + i]) == fds[1 + i], "dup2");
		close(saved[i]);
	}
}

static void op_handover(struct run *r)
{
	struct luo_handover_info info = {
		.update_number = r->m.update_number + 1,
		.listen_fd = pool[LISTEN].fd,
		.reply_fd = -1,
		.self_fd = -1,
	}, got;
	int want = expect_freeze(r), ret;
	char why[256] = "";
	void *blob = NULL;
	size_t len = 0;

	ret = luo_core_freeze(r->core);
	FZ_CHECK(ret == want, "freeze: %d, expected %d", ret, want);
	if (ret)
		return;
	ret = luo_handover_write(r->core, &info, &blob, &len);
	FZ_CHECK(!ret, "handover write: %d", ret);
	exec_core(r);
	core_start(r);
	ret = luo_handover_read(r->core, blob, len, &got, why, sizeof(why));
	FZ_CHECK(!ret, "handover read: %d: %s", ret, why);
	FZ_CHECK(got.listen_fd == info.listen_fd && got.reply_fd == -1 &&
		 got.self_fd == -1 && got.update_number == info.update_number,
		 "handover info");
	free(blob);
	m_handover(&r->m);
}

static void op_knobs(struct run *r)
{
	uint8_t b = fz_u8(&r->in);

	r->fake.fail_preserve = b & 1;
	r->fake.fail_freeze = b & 2;
	r->fake.fail_retrieve = b & 4;
	r->fake.refuse_finish = b & 8;
}

static void run_op(struct run *r)
{
	uint8_t op = fz_u8(&r->in);

	switch (op % 16) {
	case 10:
		op_release(r);
		break;
	case 11:
		op_freeze(r);
		break;
	case 12:
		op_handover(r);
		break;
	case 13:
		op_knobs(r);
		break;
	default:
		op_ioctl(r);
		break;
	}
}

/**
 * LLVMFuzzerTestOneInput() - libFuzzer's entry: run one program on a fresh core, checking every step
 * @data: the input
 * @size: its length
 *
 * Return: 0; a failed check aborts.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run r = { .in = { data, size } };
	int fds = fz_count_fds();

	r.m.update_number = 1;
	r.m.fake = &r.fake;
	core_start(&r);
	for (int i = 0; i < MAX_OPS && r.in.n; i++) {
		run_op(&r);
		check_core(r.core, &r.m);
	}
	luo_core_free(r.core);
	FZ_CHECK(fz_count_fds() == fds, "%d fds open, %d before", fz_count_fds(),
		 fds);
	return 0;
}
