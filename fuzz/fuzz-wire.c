// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz target: the daemon's wire decoder, msg_frame() and msg_decode() of
 * src/daemon/msg.c, as the daemon runs them on every message, and the core
 * behind them for what they let through, as request.c does.
 *
 * Input: one byte of parameters (the connection's type, the number of
 * fds received with the message, MSG_TRUNC and MSG_CTRUNC, a claimed
 * length beyond the bytes, and whether to make the header's length word
 * match), then the message as it arrived: a struct luo_wire_req and its
 * argument bytes.
 *
 * Checks: the framing gives exactly the errno luo_wire.h says, and the
 * core's dispatch table the transport's rules of DESIGN.md section 4 (an
 * fd only on PRESERVE_FD and REBOOT, the kernel's commands not on a
 * control open); every fd of a refused message is
 * closed and the one fd of an accepted one is kept; a decoded handshake is
 * what was sent; the core copies back no more than was received; no fd
 * leaks.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <luo/luo-ext.h>

#include "fuzz.h"
#include "handlers.h"
#include "luo_core.h"
#include "msg.h"

#define P_TRUNC		(1u << 4)
#define P_CTRUNC	(1u << 5)
#define P_LONGER	(1u << 6)
#define P_FIX_LEN	(1u << 7)

#define MAX_FDS		3

/**
 * LLVMFuzzerInitialize() - libFuzzer's set-up: nothing to prepare
 * @argc: unused
 * @argv: unused
 *
 * Return: 0.
 */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

/* The framing rules of luo_wire.h, restated. */
static int want_frame(const struct msg_req *req, size_t n, int flags,
		      int nfds)
{
	if (n > LUO_WIRE_MAX_REQ || (flags & MSG_TRUNC))
		return -EMSGSIZE;
	if (n < sizeof(req->hdr) || req->hdr.len != n - sizeof(req->hdr) ||
	    nfds > 1 || (flags & MSG_CTRUNC))
		return -EINVAL;
	return 0;
}

static int want_open(const struct msg_req *req)
{
	struct luo_wire_open op;
	uint32_t want_len;

	if (req->hdr.cmd != LUO_WIRE_OPEN || req->fd >= 0 ||
	    req->hdr.len < sizeof(op))
		return -EINVAL;
	memcpy(&op, req->arg, sizeof(op));
	want_len = op.size < LUO_WIRE_MAX_ARG ? op.size : LUO_WIRE_MAX_ARG;
	if (op.size < sizeof(op) || req->hdr.len != want_len)
		return -EINVAL;
	for (uint32_t i = sizeof(op); i < req->hdr.len; i++)
		if (req->arg[i])
			return -EINVAL;
	if (op.reserved || (op.mode != LUO_WIRE_MODE_DEVICE &&
			    op.mode != LUO_WIRE_MODE_CONTROL))
		return -EINVAL;
	return 0;
}

/* The decoder's rules: framing and the handshake; the rest is the core's. */
static int want_decode(enum conn_type type, const struct msg_req *req)
{
	if (req->error)
		return req->error;
	if (type == CONN_NEW)
		return want_open(req);
	return 0;
}

/*
 * The transport's rules of DESIGN.md section 4, restated: the core's
 * dispatch table must answer them first, or 0 if they let the request in.
 */
static int want_transport(enum conn_type type, const struct msg_req *req)
{
	uint32_t nr = _IOC_NR(req->hdr.cmd);
	bool fd_ok;

	fd_ok = type == CONN_SESSION ? nr == LIVEUPDATE_CMD_SESSION_PRESERVE_FD :
		nr == LUO_CMD_REBOOT || nr == LUO_CMD_UPGRADE;
	if (req->fd >= 0 && !fd_ok)
		return -EINVAL;
	if (type == CONN_CONTROL && nr <= LIVEUPDATE_CMD_RETRIEVE_SESSION)
		return -EPERM;
	return 0;
}

/* What request.c then does: the core runs it. */
static void run_core(enum conn_type type, struct msg_req *req)
{
	struct liveupdate_ioctl_create_session c = { .size = sizeof(c) };
	struct luo_file_handler memfd;
	struct luo_core *core = luo_core_new(NULL);
	struct luo_session *s;
	struct luo_call call;
	int ret;

	FZ_CHECK(core, "luo_core_new");
	luo_memfd_handler_init(&memfd);
	FZ_CHECK(!luo_register_file_handler(core, &memfd), "memfd handler");
	c.name[0] = 's';
	luo_call_init(&call, LIVEUPDATE_IOCTL_CREATE_SESSION, &c, sizeof(c), -1);
	FZ_CHECK(!luo_core_device_ioctl(core, &call), "a session");
	s = call.out_session;
	luo_call_init(&call, req->hdr.cmd, req->arg, req->hdr.len, req->fd);
	if (type == CONN_CONTROL)
		call.caller.kind = LUO_CALLER_CONTROL;
	ret = type == CONN_SESSION ? luo_core_session_ioctl(core, s, &call) :
	      luo_core_device_ioctl(core, &call);
	FZ_CHECK(ret <= 0, "the core answered %d without a reboot host", ret);
	FZ_CHECK(!want_transport(type, req) || ret == want_transport(type, req),
		 "the core answered %d, the transport's rules %d", ret,
		 want_transport(type, req));
	FZ_CHECK(call.copy_len <= req->hdr.len,
		 "%u bytes copied back of %u received", call.copy_len,
		 req->hdr.len);
	FZ_CHECK(call.out_fd < 0, "an fd out of nowhere");
	luo_core_free(core);
}

static void check_frame(const struct msg_req *req, int ret, int want,
			const int *fds, int nfds)
{
	FZ_CHECK(ret == want && req->error == ret, "msg_frame: %d, expected %d",
		 ret, want);
	for (int i = 0; i < nfds; i++) {
		bool kept = !ret && i == 0;

		FZ_CHECK(fz_fd_open(fds[i]) == kept, "fd %d of %d %s", i, nfds,
			 kept ? "closed" : "left open");
	}
	FZ_CHECK(req->fd == (!ret && nfds ? fds[0] : -1), "req->fd %d",
		 req->fd);
}

/**
 * LLVMFuzzerTestOneInput() - libFuzzer's entry: decode one received message
 * @data: the input
 * @size: its length
 *
 * Return: 0; a failed check aborts.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct msg_req req;
	struct fz_in in = { data, size };
	uint8_t p = fz_u8(&in);
	enum conn_type type = (enum conn_type)(p & 3);
	int nfds = (p >> 2) & 3, flags = 0, fds[MAX_FDS], count, ret;
	struct msg_decoded d;
	size_t n;

	if (p & P_TRUNC)
		flags |= MSG_TRUNC;
	if (p & P_CTRUNC)
		flags |= MSG_CTRUNC;
	n = in.n + (p & P_LONGER ? fz_u8(&in) * 64u : 0);
	memset(&req.hdr, 0, sizeof(req.hdr));
	fz_bytes(&in, &req.hdr, sizeof(req.hdr));
	fz_bytes(&in, req.arg, sizeof(req.arg));
	if (p & P_FIX_LEN)
		req.hdr.len = (uint32_t)(n >= sizeof(req.hdr) ?
					 n - sizeof(req.hdr) : 0);
	count = fz_count_fds();
	for (int i = 0; i < nfds; i++) {
		fds[i] = open("/dev/null", O_RDWR | O_CLOEXEC);
		FZ_CHECK(fds[i] >= 0, "/dev/null");
	}

	ret = msg_frame(&req, n, flags, fds, nfds);
	check_frame(&req, ret, want_frame(&req, n, flags, nfds), fds, nfds);
	ret = msg_decode(type, &req, &d);
	FZ_CHECK(ret == want_decode(type, &req), "msg_decode: %d, expected %d",
		 ret, want_decode(type, &req));
	if (!ret && type == CONN_NEW)
		FZ_CHECK(!memcmp(&d.open, req.arg, sizeof(d.open)),
			 "the handshake decoded wrong");
	FZ_CHECK(!d.makes_session || (!ret && type == CONN_DEVICE &&
				      _IOC_NR(req.hdr.cmd) <= 1),
		 "makes_session for cmd %#x", req.hdr.cmd);
	if (!ret && type != CONN_NEW)
		run_core(type, &req);
	if (req.fd >= 0)
		close(req.fd);
	FZ_CHECK(fz_count_fds() == count, "%d fds open, %d before",
		 fz_count_fds(), count);
	return 0;
}
