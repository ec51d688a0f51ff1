// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Wire framing.  A request is read in one recvmsg() with MSG_TRUNC, so a
 * message bigger than the buffer is seen for what it is (EMSGSIZE), and
 * with room for several fds, so a message carrying more than one is seen
 * too (EINVAL).  Every fd received is closed on every error path.
 * Every send is MSG_NOSIGNAL | MSG_DONTWAIT: a client can never block the
 * daemon nor kill it with SIGPIPE.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <luo/luo-ext.h>
#include "luo_core.h"
#include "msg.h"
#include "worker.h"

/*
 * Room for every fd one message can carry (the kernel's SCM_MAX_FD): the
 * kernel closes those that do not fit itself, in the receiving thread, and
 * the last close of a lingering socket would then block the loop.
 */
#define MSG_MAX_FDS	253

union msg_cmsg {
	struct cmsghdr align;
	char buf[CMSG_SPACE(sizeof(struct ucred)) +
		 CMSG_SPACE(sizeof(int) * MSG_MAX_FDS)];
};

/* Collects the SCM_RIGHTS fds of @mh; returns how many there were. */
static int msg_take_fds(struct msghdr *mh, int *fds, int max)
{
	struct cmsghdr *cm;
	int n = 0, i, cnt;

	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		cnt = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < cnt && n < max; i++)
			memcpy(&fds[n++], CMSG_DATA(cm) + i * sizeof(int),
			       sizeof(int));
	}
	return n;
}

static void msg_close_fds(int *fds, int n)
{
	while (n-- > 0)
		worker_close(fds[n]);
}

/**
 * msg_frame() - the framing rules of one received request
 * @req:       the request; @req->hdr and @req->arg hold what was received
 * @n:         the message's real length (recvmsg() with MSG_TRUNC)
 * @msg_flags: recvmsg()'s msg_flags
 * @fds:       the fds that came with it, closed here on error
 * @nfds:      their number
 *
 * A pure function of its arguments but for closing @fds: the wire decoder
 * the daemon runs on every message, callable on its own (fuzz/fuzz-wire.c).
 * Sets @req->error and @req->fd (the one attached fd, or -1).
 *
 * Return: @req->error: 0, -EMSGSIZE for a message bigger than the largest
 * request, -EINVAL for one shorter than its header says, a length that does
 * not match its header, more than one fd or truncated control data.
 */
int msg_frame(struct msg_req *req, size_t n, int msg_flags, int *fds,
	      int nfds)
{
	req->fd = -1;
	req->error = 0;
	if (n > LUO_WIRE_MAX_REQ || (msg_flags & MSG_TRUNC))
		req->error = -EMSGSIZE;
	else if (n < sizeof(req->hdr) ||
		 req->hdr.len != n - sizeof(req->hdr) ||
		 nfds > 1 || (msg_flags & MSG_CTRUNC))
		req->error = -EINVAL;
	if (req->error) {
		msg_close_fds(fds, nfds);
		return req->error;
	}
	if (nfds == 1)
		req->fd = fds[0];
	return 0;
}

/* Returns 0 or -EINVAL for a bad handshake; fills @op. */
static int msg_check_open(const struct msg_req *req, struct luo_wire_open *op)
{
	uint32_t i;

	if (req->hdr.cmd != LUO_WIRE_OPEN || req->fd >= 0 ||
	    req->hdr.len < sizeof(*op))
		return -EINVAL;
	memcpy(op, req->arg, sizeof(*op));
	if (op->size < sizeof(*op) || req->hdr.len !=
	    (op->size < LUO_WIRE_MAX_ARG ? op->size : LUO_WIRE_MAX_ARG))
		return -EINVAL;
	for (i = sizeof(*op); i < req->hdr.len; i++)
		if (req->arg[i])
			return -EINVAL;
	if (op->reserved || (op->mode != LUO_WIRE_MODE_DEVICE &&
			     op->mode != LUO_WIRE_MODE_CONTROL))
		return -EINVAL;
	return 0;
}

/**
 * msg_decode() - what a framed request asks of a connection of @type
 * @type: the connection's type
 * @req:  a request from msg_frame(), whatever its @req->error
 * @d:    out: the decoded handshake, whether a session fd is to be made
 *
 * A pure function.  On a new connection only a well-formed LUO_WIRE_OPEN
 * without an fd is accepted.  Any other request goes to the core, whose
 * dispatch table says who may send it and whether it may carry an fd;
 * here it is only told whether a session fd is to be made for the reply.
 * The fd, if any, stays with the caller.
 *
 * Return: 0, @req->error or -EINVAL.
 */
int msg_decode(enum conn_type type, const struct msg_req *req,
	       struct msg_decoded *d)
{
	memset(d, 0, sizeof(*d));
	if (req->error)
		return req->error;
	if (type == CONN_NEW)
		return msg_check_open(req, &d->open);
	d->makes_session = type == CONN_DEVICE &&
			   luo_core_makes_session(req->hdr.cmd);
	return 0;
}

/**
 * msg_recv() - read one request from a non-blocking socket
 * @sock: the connection
 * @req:  out: the request; check @req->error before using it
 *
 * Return: the message size (> 0), 0 for end of stream (or an empty
 * message), or -errno (-EAGAIN: nothing to read).
 */
int msg_recv(int sock, struct msg_req *req)
{
	struct iovec iov[2] = {
		{ .iov_base = &req->hdr, .iov_len = sizeof(req->hdr) },
		{ .iov_base = req->arg, .iov_len = sizeof(req->arg) },
	};
	union msg_cmsg cbuf;
	struct msghdr mh = {
		.msg_iov = iov, .msg_iovlen = 2,
		.msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf),
	};
	int fds[MSG_MAX_FDS], nfds;
	ssize_t n;

	memset(&req->hdr, 0, sizeof(req->hdr));
	req->fd = -1;
	req->error = 0;
	n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0)
		return -errno;
	nfds = msg_take_fds(&mh, fds, MSG_MAX_FDS);
	if (n == 0) {
		msg_close_fds(fds, nfds);
		return 0;
	}
	msg_frame(req, (size_t)n, mh.msg_flags, fds, nfds);
	return n > INT32_MAX ? INT32_MAX : (int)n;
}

/**
 * msg_close_socket() - close a connection's socket without blocking
 * @sock: the socket, or -1; always closed
 *
 * Messages still queued on it may carry fds (a TCP socket with SO_LINGER
 * whose sender closed its own copy): closing the socket would close them in
 * this thread, and the last close of a lingering socket blocks.  So the
 * socket is shut down first (the peer can queue nothing more) and drained,
 * the fds it held closed by the worker.  SO_PASSCRED gives every queued
 * message, an empty one too, a control message, which tells it from the
 * end of the queue.
 */
void msg_close_socket(int sock)
{
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union msg_cmsg cbuf;
	struct msghdr mh;
	int fds[MSG_MAX_FDS], nfds, on = 1;
	ssize_t n;

	if (sock < 0)
		return;
	if (!shutdown(sock, SHUT_RDWR) &&
	    !setsockopt(sock, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on))) {
		for (;;) {
			memset(&mh, 0, sizeof(mh));
			mh.msg_iov = &iov;
			mh.msg_iovlen = 1;
			mh.msg_control = cbuf.buf;
			mh.msg_controllen = sizeof(cbuf.buf);
			n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
			if (n < 0 || (n == 0 && mh.msg_controllen == 0))
				break;
			nfds = msg_take_fds(&mh, fds, MSG_MAX_FDS);
			msg_close_fds(fds, nfds);
		}
	}
	close(sock);
}

/**
 * msg_send() - send one message, with an fd if @fd >= 0
 * @sock: the connection
 * @iov:  the message parts
 * @niov: their number
 * @fd:   fd to pass (not closed), or -1
 *
 * Return: 0, or -errno (-EAGAIN: try again when writable).
 */
int msg_send(int sock, const struct iovec *iov, int niov, int fd)
{
	union msg_cmsg cbuf;
	struct msghdr mh = {
		.msg_iov = (struct iovec *)iov, .msg_iovlen = niov,
	};
	struct cmsghdr *cm;

	if (fd >= 0) {
		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	if (sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		return -errno;
	return 0;
}

/**
 * msg_buf_fill() - keep a message for later
 * @buf:  an empty buffer
 * @iov:  the message parts
 * @niov: their number
 * @fd:   fd to send with it, or -1; the buffer takes it over on success
 *
 * Return: 0 or -ENOMEM.
 */
int msg_buf_fill(struct msg_buf *buf, const struct iovec *iov, int niov,
		 int fd)
{
	size_t len = 0, off = 0;
	int i;

	for (i = 0; i < niov; i++)
		len += iov[i].iov_len;
	buf->data = malloc(len ? len : 1);
	if (!buf->data)
		return -ENOMEM;
	for (i = 0; i < niov; i++) {
		if (!iov[i].iov_len)
			continue;	/* its base may be NULL */
		memcpy((char *)buf->data + off, iov[i].iov_base,
		       iov[i].iov_len);
		off += iov[i].iov_len;
	}
	buf->len = len;
	buf->fd = fd;
	return 0;
}

/**
 * msg_buf_send() - try to send a kept message
 * @sock: the connection
 * @buf:  a filled buffer; cleared once sent
 *
 * Return: 0, or -errno (-EAGAIN: still not writable).
 */
int msg_buf_send(int sock, struct msg_buf *buf)
{
	struct iovec iov = { .iov_base = buf->data, .iov_len = buf->len };
	int r = msg_send(sock, &iov, 1, buf->fd);

	if (!r)
		msg_buf_clear(buf);
	return r;
}

/**
 * msg_buf_clear() - drop a kept message and its fd
 * @buf: a filled or empty buffer
 */
void msg_buf_clear(struct msg_buf *buf)
{
	free(buf->data);
	buf->data = NULL;
	buf->len = 0;
	worker_close(buf->fd);
	buf->fd = -1;
}
