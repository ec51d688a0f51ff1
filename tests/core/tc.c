// SPDX-License-Identifier: LGPL-2.1-or-later
/* Shared helpers of the core's unit tests; see tc.h. */
#include <dirent.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tc.h"

struct tc_event tc_log[TC_LOG_MAX];
size_t tc_nlog;
bool tc_log_queries;

/* ---- runner ------------------------------------------------------------ */

/* The core's event log starts empty for every case. */
static void tc_before_case(void)
{
	tc_log_reset();
	tc_log_queries = false;
}

int tc_main(int argc, char **argv, const struct test_case *cases, size_t n)
{
	return test_run(cases, n, argc, argv, tc_before_case);
}

/* ---- ioctl wrappers ---------------------------------------------------- */

static int name_call(struct luo_core *core, uint32_t cmd,
		     const uint8_t name[64], struct luo_session **s)
{
	struct liveupdate_ioctl_create_session arg = { .size = sizeof(arg) };
	struct luo_call call;
	int ret;

	memcpy(arg.name, name, sizeof(arg.name));
	luo_call_init(&call, cmd, &arg, sizeof(arg), -1);
	ret = luo_core_device_ioctl(core, &call);
	if (!ret && s)
		*s = call.out_session;
	if (!ret && (!call.out_session || call.copy_len != sizeof(arg)))
		return -1000;	/* a wrapper-detected inconsistency */
	return ret;
}

int tc_create_raw(struct luo_core *core, const uint8_t name[64],
		  struct luo_session **s)
{
	return name_call(core, LIVEUPDATE_IOCTL_CREATE_SESSION, name, s);
}

int tc_retrieve_raw(struct luo_core *core, const uint8_t name[64],
		    struct luo_session **s)
{
	return name_call(core, LIVEUPDATE_IOCTL_RETRIEVE_SESSION, name, s);
}

int tc_create(struct luo_core *core, const char *name, struct luo_session **s)
{
	uint8_t raw[64] = { 0 };

	memcpy(raw, name, strnlen(name, sizeof(raw)));
	return tc_create_raw(core, raw, s);
}

int tc_retrieve(struct luo_core *core, const char *name,
		struct luo_session **s)
{
	uint8_t raw[64] = { 0 };

	memcpy(raw, name, strnlen(name, sizeof(raw)));
	return tc_retrieve_raw(core, raw, s);
}

int tc_preserve(struct luo_core *core, struct luo_session *s, int fd,
		uint64_t token)
{
	struct liveupdate_session_preserve_fd arg = {
		.size = sizeof(arg), .fd = fd, .token = token,
	};
	struct luo_call call;
	int ret;

	luo_call_init(&call, LIVEUPDATE_SESSION_PRESERVE_FD, &arg, sizeof(arg),
		      fd);
	ret = luo_core_session_ioctl(core, s, &call);
	if (!ret && (call.copy_len != sizeof(arg) || arg.token != token ||
		     call.out_fd != -1))
		return -1000;
	return ret;
}

int tc_retrieve_fd(struct luo_core *core, struct luo_session *s,
		   uint64_t token, int *fd)
{
	struct liveupdate_session_retrieve_fd arg = {
		.size = sizeof(arg), .fd = 12345, .token = token,
	};
	struct luo_call call;
	int ret;

	luo_call_init(&call, LIVEUPDATE_SESSION_RETRIEVE_FD, &arg, sizeof(arg),
		      -1);
	ret = luo_core_session_ioctl(core, s, &call);
	if (ret)
		return call.out_fd == -1 ? ret : -1000;
	if (call.out_fd < 0 || call.copy_len != sizeof(arg) ||
	    arg.token != token)
		return -1000;
	if (!(fcntl(call.out_fd, F_GETFD) & FD_CLOEXEC)) {
		close(call.out_fd);
		return -1001;
	}
	if (fd)
		*fd = call.out_fd;
	else
		close(call.out_fd);
	return 0;
}

int tc_finish(struct luo_core *core, struct luo_session *s)
{
	struct liveupdate_session_finish arg = { .size = sizeof(arg) };
	struct luo_call call;

	luo_call_init(&call, LIVEUPDATE_SESSION_FINISH, &arg, sizeof(arg), -1);
	return luo_core_session_ioctl(core, s, &call);
}

int tc_get_name(struct luo_core *core, struct luo_session *s, char name[64])
{
	struct liveupdate_session_get_name arg = { .size = sizeof(arg) };
	struct luo_call call;
	int ret;

	memset(arg.name, 0xa5, sizeof(arg.name));
	luo_call_init(&call, LIVEUPDATE_SESSION_GET_NAME, &arg, sizeof(arg), -1);
	ret = luo_core_session_ioctl(core, s, &call);
	if (!ret) {
		if (call.copy_len != sizeof(arg))
			return -1000;
		memcpy(name, arg.name, sizeof(arg.name));
	}
	return ret;
}

/* ---- files ------------------------------------------------------------- */

int tc_memfd(const char *name)
{
	return memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
}

int tc_pipe(int *w)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC))
		return -1;
	if (w)
		*w = p[1];
	else
		close(p[1]);
	return p[0];
}

int tc_eventfd(void)
{
	return eventfd(0, EFD_CLOEXEC);
}

bool tc_same_ofd(int a, int b)
{
	pid_t pid = getpid();

	return syscall(SYS_kcmp, pid, pid, KCMP_FILE, a, b) == 0;
}

/* ---- the order log ----------------------------------------------------- */

void tc_log_reset(void)
{
	tc_nlog = 0;
}

static void log_event(enum tc_op op, void *owner, uint64_t tag, int status,
		      int retrieved_fd)
{
	if (tc_nlog >= TC_LOG_MAX)
		return;
	tc_log[tc_nlog++] = (struct tc_event){
		.op = op, .owner = owner, .tag = tag, .status = status,
		.retrieved_fd = retrieved_fd,
	};
}

size_t tc_log_tags(enum tc_op op, uint64_t *tags, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < tc_nlog; i++)
		if (tc_log[i].op == op && n < max)
			tags[n++] = tc_log[i].tag;
	return n;
}

size_t tc_log_count(enum tc_op op)
{
	size_t n = 0;

	for (size_t i = 0; i < tc_nlog; i++)
		n += tc_log[i].op == op;
	return n;
}

long tc_log_find(enum tc_op op, uint64_t tag, size_t from)
{
	for (size_t i = from; i < tc_nlog; i++)
		if (tc_log[i].op == op && tc_log[i].tag == tag)
			return (long)i;
	return -1;
}

/* ---- the fake file handler --------------------------------------------- */

struct tc_private {
	uint64_t tag;
};

static struct tc_handler *th_of(struct luo_file_handler *h)
{
	return container_of(h, struct tc_handler, h);
}

static uint64_t tag_of(const struct luo_file_op_args *a)
{
	uint64_t tag = 0;

	if (a->data_len >= sizeof(tag))
		memcpy(&tag, a->data, sizeof(tag));
	return tag;
}

/* Counts the call; true if this one must fail. */
static bool count(struct tc_handler *th, enum tc_op op)
{
	th->calls[op]++;
	return th->fail_all[op] || th->fail_at[op] == th->calls[op];
}

static int file_log(struct tc_handler *th, enum tc_op op,
		    const struct luo_file_op_args *a)
{
	log_event(op, th, tag_of(a), a->retrieve_status, a->retrieved_fd);
	if (count(th, op))
		return th->fail_errno[op] ? -th->fail_errno[op] : -EIO;
	return 0;
}

static bool fake_can_preserve(struct luo_file_handler *h, int fd)
{
	struct tc_handler *th = th_of(h);
	struct stat st;
	unsigned int kind;

	if (tc_log_queries)
		log_event(TC_CAN_PRESERVE, th, 0, 0, -1);
	th->calls[TC_CAN_PRESERVE]++;
	if (fstat(fd, &st))
		return false;
	switch (st.st_mode & S_IFMT) {
	case S_IFIFO:
		kind = TC_TAKE_FIFO;
		break;
	case S_IFREG:
		kind = TC_TAKE_REG;
		break;
	case 0:
		kind = TC_TAKE_ANON;
		break;
	default:
		return false;
	}
	return th->take & kind;
}

static int fake_preserve(struct luo_file_op_args *a)
{
	struct tc_handler *th = th_of(a->handler);
	struct tc_private *p;
	uint64_t tag = th->next_tag + 1;
	int ret;

	ret = file_log(th, TC_PRESERVE, a);
	if (ret)
		return ret;
	p = malloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->tag = tag;
	th->next_tag = tag;
	memcpy(a->data, &tag, sizeof(tag));
	a->data_len = sizeof(tag);
	a->private_data = p;
	tc_log[tc_nlog - 1].tag = tag;
	return 0;
}

static void fake_unpreserve(struct luo_file_op_args *a)
{
	file_log(th_of(a->handler), TC_UNPRESERVE, a);
	free(a->private_data);
}

static int fake_freeze(struct luo_file_op_args *a)
{
	return file_log(th_of(a->handler), TC_FREEZE, a);
}

static void fake_unfreeze(struct luo_file_op_args *a)
{
	file_log(th_of(a->handler), TC_UNFREEZE, a);
}

static int fake_retrieve(struct luo_file_op_args *a)
{
	struct tc_handler *th = th_of(a->handler);
	struct tc_private *p;
	int ret, fd;

	ret = file_log(th, TC_RETRIEVE, a);
	if (ret)
		return ret;
	fd = fcntl(a->fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	p = malloc(sizeof(*p));
	if (!p) {
		close(fd);
		return -ENOMEM;
	}
	p->tag = tag_of(a);
	a->private_data = p;
	a->retrieved_fd = fd;
	return 0;
}

static bool fake_can_finish(struct luo_file_op_args *a)
{
	return !file_log(th_of(a->handler), TC_CAN_FINISH, a);
}

static void fake_finish(struct luo_file_op_args *a)
{
	file_log(th_of(a->handler), TC_FINISH, a);
	free(a->private_data);
}

static int fake_get_id(struct luo_file_handler *h, int fd,
		       struct luo_file_id *id)
{
	struct tc_handler *th = th_of(h);
	struct stat st;

	if (tc_log_queries)
		log_event(TC_GET_ID, th, 0, 0, -1);
	th->calls[TC_GET_ID]++;
	if (fstat(fd, &st))
		return -errno;
	id->a = st.st_dev;
	id->b = st.st_ino;
	return 0;
}

void tc_handler_init(struct tc_handler *th, const char *compatible,
		     unsigned int take, bool get_id)
{
	memset(th, 0, sizeof(*th));
	th->ops = (struct luo_file_handler_ops){
		.can_preserve = fake_can_preserve,
		.preserve = fake_preserve,
		.unpreserve = fake_unpreserve,
		.freeze = fake_freeze,
		.unfreeze = fake_unfreeze,
		.retrieve = fake_retrieve,
		.can_finish = fake_can_finish,
		.finish = fake_finish,
		.get_id = get_id ? fake_get_id : NULL,
	};
	th->h.ops = &th->ops;
	snprintf(th->h.compatible, sizeof(th->h.compatible), "%s", compatible);
	list_init(&th->h.list);
	list_init(&th->h.flb_links);
	th->take = take;
}

/* ---- fake FLBs --------------------------------------------------------- */

static struct tc_flb *tf_of(struct luo_flb *flb)
{
	return container_of(flb, struct tc_flb, flb);
}

static int flb_count(struct tc_flb *tf, enum tc_op op)
{
	log_event(op, tf, 0, 0, -1);
	tf->calls[op]++;
	if (tf->fail_at[op] && tf->fail_at[op] == tf->calls[op])
		return tf->fail_errno[op] ? -tf->fail_errno[op] : -EIO;
	return 0;
}

static int fake_flb_preserve(struct luo_flb_op_args *a)
{
	struct tc_flb *tf = tf_of(a->flb);
	int ret = flb_count(tf, TC_FLB_PRESERVE);

	if (ret)
		return ret;
	a->data = tf->data;
	a->obj = &tf->out_obj;
	return 0;
}

static void fake_flb_unpreserve(struct luo_flb_op_args *a)
{
	struct tc_flb *tf = tf_of(a->flb);

	flb_count(tf, TC_FLB_UNPRESERVE);
	tf->last_obj = a->obj;
}

static int fake_flb_retrieve(struct luo_flb_op_args *a)
{
	struct tc_flb *tf = tf_of(a->flb);
	int ret = flb_count(tf, TC_FLB_RETRIEVE);

	tf->seen_data = a->data;
	if (ret)
		return ret;
	a->obj = &tf->in_obj;
	return 0;
}

static void fake_flb_finish(struct luo_flb_op_args *a)
{
	struct tc_flb *tf = tf_of(a->flb);

	flb_count(tf, TC_FLB_FINISH);
	tf->last_obj = a->obj;
}

void tc_flb_init(struct tc_flb *tf, const char *compatible, uint64_t data)
{
	memset(tf, 0, sizeof(*tf));
	tf->ops = (struct luo_flb_ops){
		.preserve = fake_flb_preserve,
		.unpreserve = fake_flb_unpreserve,
		.retrieve = fake_flb_retrieve,
		.finish = fake_flb_finish,
	};
	tf->flb.ops = &tf->ops;
	snprintf(tf->flb.compatible, sizeof(tf->flb.compatible), "%s",
		 compatible);
	tf->data = data;
}

/* ---- cores and reboots -------------------------------------------------- */

struct luo_core *tc_core(uint32_t max_sessions, uint32_t max_files)
{
	struct luo_core_config cfg = {
		.max_sessions = max_sessions,
		.max_files = max_files,
	};

	return luo_core_new(&cfg);
}

struct fd_list {
	int *fds;
	size_t n, cap;
};

static int collect_fd(void *ctx, int fd)
{
	struct fd_list *l = ctx;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		int *p = realloc(l->fds, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		l->fds = p;
		l->cap = cap;
	}
	l->fds[l->n++] = fd;
	return 0;
}

int tc_exec(struct luo_core *old, uint64_t update_number, void **blob,
	    size_t *len, int *listen_fd)
{
	struct luo_handover_info info = {
		.update_number = update_number,
		.reply_fd = -1,
		.self_fd = -1,
	};
	struct fd_list l = { 0 };
	int *saved = NULL, ret;

	info.listen_fd = tc_pipe(NULL);
	if (info.listen_fd < 0)
		return -errno;
	ret = luo_core_freeze(old);
	if (ret)
		goto out;
	ret = luo_handover_write(old, &info, blob, len);
	if (ret)
		goto out;
	ret = luo_core_for_each_outgoing_fd(old, collect_fd, &l);
	if (ret)
		goto out_blob;
	/* Keep each preserved fd's file alive while the old core closes it. */
	saved = calloc(l.n + 1, sizeof(*saved));
	if (!saved) {
		ret = -ENOMEM;
		goto out_blob;
	}
	for (size_t i = 0; i < l.n; i++) {
		saved[i] = fcntl(l.fds[i], F_DUPFD_CLOEXEC, 0);
		if (saved[i] < 0) {
			ret = -errno;
			while (i--)
				close(saved[i]);
			goto out_blob;
		}
	}
	luo_core_free(old);
	/* What an exec does: the same files under the same numbers. */
	for (size_t i = 0; i < l.n; i++) {
		if (dup2(saved[i], l.fds[i]) < 0)
			ret = -errno;
		close(saved[i]);
	}
	free(saved);
	free(l.fds);
	*listen_fd = info.listen_fd;
	return ret;
out_blob:
	free(*blob);
	*blob = NULL;
out:
	free(l.fds);
	close(info.listen_fd);
	return ret;
}

struct luo_core *tc_reboot(struct luo_core *old, uint64_t update_number,
			   int (*setup)(struct luo_core *core, void *ctx),
			   void *ctx)
{
	struct luo_handover_info info;
	struct luo_core *core;
	char why[256] = "";
	void *blob = NULL;
	size_t len = 0;
	int lfd, ret;

	ret = tc_exec(old, update_number, &blob, &len, &lfd);
	if (ret) {
		fprintf(stderr, "tc_reboot: exec: %s\n", strerror(-ret));
		return NULL;
	}
	core = tc_core(0, 0);
	ret = core ? 0 : -ENOMEM;
	if (!ret && setup)
		ret = setup(core, ctx);
	if (!ret) {
		ret = luo_handover_read(core, blob, len, &info, why, sizeof(why));
		if (!ret && (info.listen_fd != lfd ||
			     info.update_number != update_number))
			ret = -1000;
	}
	free(blob);
	close(lfd);
	if (ret) {
		fprintf(stderr, "tc_reboot: read: %d %s\n", ret, why);
		luo_core_free(core);
		return NULL;
	}
	return core;
}
