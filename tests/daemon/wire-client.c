// SPDX-License-Identifier: LGPL-2.1-or-later
/* Raw wire messages for tests; see wire-client.h. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "wire-client.h"

/**
 * wc_connect() - connect to a daemon, no handshake
 * @path: its socket
 *
 * Return: a blocking, close-on-exec socket, or -errno.
 */
int wc_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	strncpy(sa.sun_path, path, sizeof(sa.sun_path) - 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

/**
 * wc_send_raw() - send any bytes, with @nfds fds
 * @sock: the connection
 * @buf:  the message
 * @len:  its size
 * @fds:  fds to attach, or NULL
 * @nfds: their number
 *
 * Return: 0 or -errno.
 */
int wc_send_raw(int sock, const void *buf, size_t len, const int *fds,
		int nfds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 8)];
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (nfds > 0) {
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/**
 * wc_send() - send a request
 * @sock: the connection
 * @cmd:  the command word
 * @arg:  argument bytes
 * @len:  their number (the header's len)
 * @fds:  fds to attach, or NULL
 * @nfds: their number
 *
 * Return: 0 or -errno.
 */
int wc_send(int sock, uint32_t cmd, const void *arg, uint32_t len,
	    const int *fds, int nfds)
{
	char buf[LUO_WIRE_MAX_REQ];
	struct luo_wire_req hdr = { .cmd = cmd, .len = len };

	if (len > LUO_WIRE_MAX_ARG)
		return -EINVAL;
	memcpy(buf, &hdr, sizeof(hdr));
	memcpy(buf + sizeof(hdr), arg, len);
	return wc_send_raw(sock, buf, sizeof(hdr) + len, fds, nfds);
}

/**
 * wc_recv() - read one reply
 * @sock:    the connection
 * @rep:     out: its header
 * @arg:     out: the copy-back bytes, or NULL
 * @arg_cap: room at @arg
 * @fd:      out: the fd attached, or -1; NULL to close it
 *
 * Return: 0, -ECONNRESET at end of stream, or -errno.
 */
int wc_recv(int sock, struct luo_wire_rep *rep, void *arg, size_t arg_cap,
	    int *fd)
{
	static char buf[LUO_WIRE_MAX_REP];
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm = NULL;
	int got = -1;
	ssize_t n;

	n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ECONNRESET;
	cm = CMSG_FIRSTHDR(&mh);
	if (cm && cm->cmsg_type == SCM_RIGHTS)
		memcpy(&got, CMSG_DATA(cm), sizeof(int));
	if (fd)
		*fd = got;
	else if (got >= 0)
		close(got);
	if ((size_t)n < sizeof(*rep))
		return -EPROTO;
	memcpy(rep, buf, sizeof(*rep));
	if (arg)
		memcpy(arg, buf + sizeof(*rep),
		       rep->len < arg_cap ? rep->len : arg_cap);
	return 0;
}

/**
 * wc_handshake() - LUO_WIRE_OPEN on a connected socket
 * @sock: the connection
 * @mode: LUO_WIRE_MODE_*
 *
 * Return: the daemon's result.
 */
int wc_handshake(int sock, uint32_t mode)
{
	struct luo_wire_open op = {
		.size = sizeof(op), .mode = mode, .version = LUO_WIRE_VERSION,
	};

	return wc_call(sock, LUO_WIRE_OPEN, &op, sizeof(op), -1, NULL);
}

/**
 * wc_open() - connect and open
 * @path: the socket
 * @mode: LUO_WIRE_MODE_*
 *
 * Return: the connection, or -errno.
 */
int wc_open(const char *path, uint32_t mode)
{
	int fd = wc_connect(path), r;

	if (fd < 0)
		return fd;
	r = wc_handshake(fd, mode);
	if (r) {
		close(fd);
		return r;
	}
	return fd;
}

/**
 * wc_call() - one request and its reply
 * @sock:   the connection
 * @cmd:    command word
 * @arg:    in: the struct; out: copied back
 * @len:    its size
 * @in_fd:  fd to attach, or -1
 * @out_fd: out: fd received, or -1; NULL to close it
 *
 * Return: the reply's result, or -errno of the transport.
 */
int wc_call(int sock, uint32_t cmd, void *arg, uint32_t len, int in_fd,
	    int *out_fd)
{
	struct luo_wire_rep rep;
	int r;

	r = wc_send(sock, cmd, arg, len, &in_fd, in_fd >= 0);
	if (!r)
		r = wc_recv(sock, &rep, arg, len, out_fd);
	return r ? r : rep.result;
}
