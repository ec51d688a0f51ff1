// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * ioctl(2) on a device or session fd, as the kernel answers it.
 *
 * The caller's struct is read into a buffer of ours without faulting
 * (umem.c) and handed to libluo's luo_ioctl(), which carries it to the
 * daemon; the daemon checks it in the kernel's order.  What the kernel
 * would copy back, min(size, struct size) bytes, is written back without
 * faulting either.  Where the caller's memory ends early, the part we
 * could read goes to the daemon as a short argument, which the wire
 * protocol defines as a fault: the daemon makes every check that comes
 * before the copy and answers EFAULT only if they pass, exactly the
 * kernel's order.  libluo cannot send such a request, so it is sent here.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <luo/libluo.h>
#include "luo_wire.h"
#include "luo_wire_client.h"
#include "preload.h"

/* The kernel struct of each command, for the copy-back size. */
static size_t lp_ksize(uint32_t cmd)
{
	switch (cmd) {
	case LIVEUPDATE_IOCTL_CREATE_SESSION:
		return sizeof(struct liveupdate_ioctl_create_session);
	case LIVEUPDATE_IOCTL_RETRIEVE_SESSION:
		return sizeof(struct liveupdate_ioctl_retrieve_session);
	case LIVEUPDATE_SESSION_PRESERVE_FD:
		return sizeof(struct liveupdate_session_preserve_fd);
	case LIVEUPDATE_SESSION_RETRIEVE_FD:
		return sizeof(struct liveupdate_session_retrieve_fd);
	case LIVEUPDATE_SESSION_FINISH:
		return sizeof(struct liveupdate_session_finish);
	case LIVEUPDATE_SESSION_GET_NAME:
		return sizeof(struct liveupdate_session_get_name);
	case LUO_IOCTL_STATUS:
		return sizeof(struct luo_status);
	case LUO_IOCTL_LIST:
		return sizeof(struct luo_list);
	case LUO_IOCTL_REBOOT:
		return sizeof(struct luo_reboot);
	}
	return 0;
}

static int lp_send_short(int fd, const struct luo_wire_req *req,
			 const void *arg)
{
	struct iovec iov[2] = {
		{ (void *)req, sizeof(*req) },
		{ (void *)arg, req->len },
	};
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = req->len ? 2 : 1 };
	int ret;

	while (sendmsg(fd, &msg, MSG_NOSIGNAL) < 0) {
		if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN)
			return -ENODEV;
		if (errno == EAGAIN) {
			ret = luo_wire_wait(fd, POLLOUT);
			if (ret)
				return ret;
		} else if (errno != EINTR) {
			return -errno;
		}
	}
	return 0;
}

/* Close whatever fds a reply carried; a short request gets none. */
static void lp_drop_fds(struct msghdr *msg)
{
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		size_t i, nr = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		for (i = 0; c->cmsg_type == SCM_RIGHTS && i < nr; i++) {
			int rfd;

			memcpy(&rfd, CMSG_DATA(c) + i * sizeof(int), sizeof(rfd));
			close(rfd);
		}
	}
}

static int lp_recv_result(int fd)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} cmsg;
	struct luo_wire_rep rep;
	struct iovec iov = { &rep, sizeof(rep) };
	struct msghdr msg;
	ssize_t n;
	int ret;

	for (;;) {
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cmsg.buf;
		msg.msg_controllen = sizeof(cmsg.buf);
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
		if (n >= 0)
			break;
		if (errno == ECONNRESET || errno == ENOTCONN || errno == EPIPE)
			return -ENODEV;
		if (errno == EAGAIN) {
			ret = luo_wire_wait(fd, POLLIN);
			if (ret)
				return ret;
		} else if (errno != EINTR) {
			return -errno;
		}
	}
	lp_drop_fds(&msg);
	if (n == 0)
		return -ENODEV;
	/* A short argument can never succeed: it faults at the latest. */
	if ((size_t)n < sizeof(rep) || rep.result >= 0 || rep.result < -4095)
		return -EPROTO;
	return rep.result;
}

/* A request whose argument ends after @len readable bytes. */
static int lp_short_request(int fd, uint32_t cmd, const void *arg,
			    size_t len)
{
	struct luo_wire_req req = { .cmd = cmd, .len = (uint32_t)len };
	int ret = lp_send_short(fd, &req, arg);

	return ret ? ret : lp_recv_result(fd);
}

/* The kernel's copy-back; a fault releases a new fd, as the kernel does. */
static int lp_copy_back(uint32_t cmd, void *arg, const unsigned char *buf,
			uint32_t usize, size_t have)
{
	size_t n = lp_ksize(cmd);
	int32_t nfd;

	/* An unknown command copies back what we hold, unchanged or not. */
	if (!n || n > have)
		n = have;
	if (n > usize)
		n = usize;
	if (!lp_umem_write(arg, buf, n))
		return 0;
	if (luo_wire_returns_fd(cmd)) {
		memcpy(&nfd, buf + 4, sizeof(nfd));
		close(nfd);
	}
	return -EFAULT;
}

/**
 * lp_emulate_ioctl() - the kernel's ioctl on a device or session fd
 * @fd:  an fd lp_fd_is_ours() accepted
 * @cmd: the request code (its low 32 bits, as the kernel takes it)
 * @arg: the caller's pointer, possibly bad
 *
 * Return: 0 or a negative errno.
 */
int lp_emulate_ioctl(int fd, uint32_t cmd, void *arg)
{
	union {
		unsigned char b[LUO_WIRE_MAX_ARG];
		uint64_t align;
	} buf;
	uint32_t usize, len;
	size_t got;
	int ret;

	got = lp_umem_read(buf.b, arg, sizeof(usize));
	if (got < sizeof(usize))
		return lp_short_request(fd, cmd, buf.b, got);
	memcpy(&usize, buf.b, sizeof(usize));
	len = usize < LUO_WIRE_MAX_ARG ? usize : LUO_WIRE_MAX_ARG;
	if (len < sizeof(usize))
		len = sizeof(usize);
	got = lp_umem_read(buf.b, arg, len);
	if (got < len)
		return lp_short_request(fd, cmd, buf.b, got);
	if (usize > LUO_WIRE_MAX_ARG) {
		/* Past what the wire carries: checked here, after the rest. */
		ret = lp_umem_zero_tail(arg, LUO_WIRE_MAX_ARG, usize);
		if (ret) {
			int first = lp_short_request(fd, cmd, buf.b,
						     sizeof(usize));

			return first == -EFAULT ? ret : first;
		}
		/* Same answer from the daemon, and libluo reads no further. */
		len = LUO_WIRE_MAX_ARG;
		memcpy(buf.b, &len, sizeof(len));
	}
	ret = luo_ioctl(fd, cmd, buf.b);
	if (ret)
		return ret;
	memcpy(buf.b, &usize, sizeof(usize));
	return lp_copy_back(cmd, arg, buf.b, usize, len);
}
