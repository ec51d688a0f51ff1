// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libluo: the client side of the wire protocol of src/common/luo_wire.h.
 *
 * An ioctl travels as one SOCK_SEQPACKET message (struct luo_wire_req and
 * the caller's struct as laid out) and comes back as one message (struct
 * luo_wire_rep, the bytes to copy back, optional payload), an fd riding
 * along with SCM_RIGHTS either way.  No global state: everything lives on
 * the caller's stack or in a buffer freed before return.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <luo/libluo.h>
#include "luo_wire.h"
#include "luo_wire_client.h"

#define LUO_EXPORT __attribute__((visibility("default")))

/* A reply without payload: header and the largest copy-back. */
#define LUO_REP_SMALL	(sizeof(struct luo_wire_rep) + LUO_WIRE_MAX_ARG)

/* Fds a reply may carry before we call it a truncation (EMFILE). */
#define LUO_RECV_MAX_FDS	8

/* What one request sends and where its reply goes. */
struct luo_xfer {
	int send_fd;		/* fd to attach with SCM_RIGHTS, or -1 */
	bool returns_fd;	/* the reply carries a new fd on success */
	void *rep_buf;		/* receive buffer, suitably aligned */
	size_t rep_size;	/* its size, at least LUO_REP_SMALL */
	const void *extra;	/* out: payload inside rep_buf, or NULL */
	size_t extra_len;	/* out: its length */
};

static int luo_check_fd(int fd)
{
	int type;
	socklen_t len = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		return errno == ENOTSOCK ? -ENOTTY : -errno;
	if (type != SOCK_SEQPACKET)
		return -ENOTTY;
	return 0;
}

static int luo_send(int fd, const struct luo_wire_req *req, const void *arg,
		    int send_fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cmsg;
	struct iovec iov[2] = {
		{ .iov_base = (void *)req, .iov_len = sizeof(*req) },
		{ .iov_base = (void *)arg, .iov_len = req->len },
	};
	struct msghdr msg = {
		.msg_iov = iov,
		.msg_iovlen = req->len ? 2 : 1,
	};
	ssize_t n;
	int ret;

	if (send_fd >= 0) {
		struct cmsghdr *c;

		memset(&cmsg, 0, sizeof(cmsg));
		msg.msg_control = cmsg.buf;
		msg.msg_controllen = sizeof(cmsg.buf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &send_fd, sizeof(int));
	}

	for (;;) {
		n = sendmsg(fd, &msg, MSG_NOSIGNAL);
		if (n >= 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			ret = luo_wire_wait(fd, POLLOUT);
			if (ret)
				return ret;
			continue;
		}
		if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN)
			return -ENODEV;
		return -errno;
	}
	/* SOCK_SEQPACKET sends all of it or nothing. */
	if ((size_t)n != sizeof(*req) + req->len)
		return -EPROTO;
	return 0;
}

static void luo_close_fds(struct msghdr *msg)
{
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		size_t i, nr;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		nr = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nr; i++) {
			int rfd;

			memcpy(&rfd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			close(rfd);
		}
	}
}

/*
 * Receive one reply; return its total length, the single fd it carried
 * (or -1) in *@rfd, or -errno.  Every fd of a malformed reply is closed.
 */
static ssize_t luo_recv(int fd, void *buf, size_t size, int *rfd)
{
	/* Room for a few fds, so that a misbehaving peer's are all closed. */
	union {
		char buf[CMSG_SPACE(LUO_RECV_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} cmsg;
	struct iovec iov = { .iov_base = buf, .iov_len = size };
	struct msghdr msg;
	struct cmsghdr *c;
	ssize_t n;
	int ret, nfds = 0;

	*rfd = -1;
	for (;;) {
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cmsg.buf;
		msg.msg_controllen = sizeof(cmsg.buf);
		/* MSG_TRUNC: return the real length of a longer message. */
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | MSG_TRUNC);
		if (n >= 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			ret = luo_wire_wait(fd, POLLIN);
			if (ret)
				return ret;
			continue;
		}
		if (errno == ECONNRESET || errno == ENOTCONN || errno == EPIPE)
			return -ENODEV;
		return -errno;
	}
	if (n == 0 && !(msg.msg_flags & MSG_CTRUNC)) {
		/* An empty message can still carry fds. */
		luo_close_fds(&msg);
		return -ENODEV;
	}

	if (msg.msg_flags & MSG_CTRUNC) {
		luo_close_fds(&msg);
		return -EMFILE;
	}
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		nfds += (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (nfds == 1)
			memcpy(rfd, CMSG_DATA(c), sizeof(int));
	}
	if (nfds > 1) {
		luo_close_fds(&msg);
		*rfd = -1;
		return -EPROTO;
	}
	return n;
}

/* Bytes [LUO_WIRE_MAX_ARG, size) of the caller's struct must be zero. */
static __attribute__((noinline)) bool luo_tail_is_zero(const void *arg,
							 uint32_t size)
{
	const unsigned char *p = arg;
	uint32_t i;

	for (i = LUO_WIRE_MAX_ARG; i < size; i++) {
		if (p[i])
			return false;
	}
	return true;
}

/* Close @fd keeping the caller's errno. */
static void luo_close_quiet(int fd)
{
	int saved = errno;

	close(fd);
	errno = saved;
}

static int luo_xfer_ioctl(int fd, unsigned long request, void *arg,
			  struct luo_xfer *x)
{
	const struct luo_wire_rep *rep = x->rep_buf;
	struct luo_wire_req req;
	uint32_t size;
	size_t total;
	ssize_t n;
	int ret, rfd, slot = -1;

	x->extra = NULL;
	x->extra_len = 0;

	ret = luo_check_fd(fd);
	if (ret)
		return ret;
	if (!arg)
		return -EFAULT;

	memcpy(&size, arg, sizeof(size));
	req.cmd = (uint32_t)request;
	req.len = size < LUO_WIRE_MAX_ARG ? size : LUO_WIRE_MAX_ARG;
	/* The size word is always there; the daemon must be able to read it. */
	if (req.len < sizeof(size))
		req.len = sizeof(size);
	if (size > LUO_WIRE_MAX_ARG && !luo_tail_is_zero(arg, size))
		return -E2BIG;

	x->returns_fd = luo_wire_returns_fd(req.cmd);
	if (x->returns_fd) {
		/* The kernel reserves the fd number before the operation. */
		slot = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (slot < 0)
			return -errno;
	}

	ret = luo_send(fd, &req, arg, x->send_fd);
	if (slot >= 0)
		luo_close_quiet(slot);
	if (ret)
		return ret;

	n = luo_recv(fd, x->rep_buf, x->rep_size, &rfd);
	if (n < 0)
		return n;

	ret = -EPROTO;
	if ((size_t)n < sizeof(*rep))
		goto bad;
	total = sizeof(*rep) + (size_t)rep->len + rep->extra_len;
	if ((size_t)n != total || rep->len > size ||
	    rep->len > LUO_WIRE_MAX_ARG || rep->result > 0 ||
	    rep->result < -4095)
		goto bad;
	/* The payload may be cut off only for a caller that does not want it. */
	if (total > x->rep_size && x->rep_size > LUO_REP_SMALL)
		goto bad;
	if (rfd >= 0 && (!x->returns_fd || rep->result)) {
		close(rfd);
		rfd = -1;
		goto bad;
	}
	if (x->returns_fd && !rep->result && rep->len >= 8 && rfd < 0)
		goto bad;
	/* A copy-back ending inside the fd field would hand out garbage. */
	if (x->returns_fd && rep->len > 4 && rep->len < 8)
		goto bad;

	memcpy(arg, rep + 1, rep->len);
	if (rfd >= 0) {
		if (rep->len >= 8)
			memcpy((char *)arg + 4, &rfd, sizeof(rfd));
		else
			close(rfd);
	}
	if (total <= x->rep_size) {
		x->extra = (const char *)(rep + 1) + rep->len;
		x->extra_len = rep->extra_len;
	}
	return rep->result;
bad:
	if (rfd >= 0)
		close(rfd);
	return ret;
}

/**
 * luo_ioctl() - issue one request of the /dev/liveupdate ABI
 * @fd:      a device fd, a session fd or a control fd from libluo
 * @request: the request code (LIVEUPDATE_IOCTL_*, LIVEUPDATE_SESSION_*,
 *           LUO_IOCTL_*); only its low 32 bits are used, as by ioctl(2)
 * @arg:     the caller's struct, starting with its __u32 size
 *
 * Behaves like ioctl(2) on the kernel's device: the struct is sent as laid
 * out, checked by the orchestrator in the kernel's order, and updated in
 * place with min(size, struct size) bytes.  A new fd from CREATE_SESSION,
 * RETRIEVE_SESSION or SESSION_RETRIEVE_FD is installed close-on-exec and its
 * number stored in the struct's fd field.  For SESSION_PRESERVE_FD the fd
 * field is sent along if it is an open fd.
 *
 * Return: 0 or a negative errno: the orchestrator's answer, or -ENOTTY for
 * an fd that is no orchestrator socket, -E2BIG for non-zero bytes beyond
 * LUO_WIRE_MAX_ARG, -EMFILE/-ENFILE if no fd is free for a new fd, -ENODEV
 * if the orchestrator went away, -EPROTO for a malformed reply.
 */
LUO_EXPORT int luo_ioctl(int fd, unsigned long request, void *arg)
{
	union {
		char buf[LUO_REP_SMALL];
		struct luo_wire_rep align;
	} rep;
	struct luo_xfer x = {
		.send_fd = -1,
		.rep_buf = rep.buf,
		.rep_size = sizeof(rep.buf),
	};

	if ((uint32_t)request == LIVEUPDATE_SESSION_PRESERVE_FD && arg) {
		uint32_t size;
		int32_t pfd;

		memcpy(&size, arg, sizeof(size));
		if (size >= 8) {
			memcpy(&pfd, (char *)arg + 4, sizeof(pfd));
			/* An invalid fd travels as nothing: the daemon says EBADF. */
			if (pfd >= 0 && fcntl(pfd, F_GETFD) >= 0)
				x.send_fd = pfd;
		}
	}
	return luo_xfer_ioctl(fd, request, arg, &x);
}

/**
 * luo_default_socket_path() - where the orchestrator listens by default
 * @buf: receives the NUL-terminated path
 * @len: size of @buf
 *
 * $LUO_SOCKET if set and not empty; otherwise /run/liveupdate/liveupdate.sock
 * for root (effective uid 0), $XDG_RUNTIME_DIR/liveupdate/liveupdate.sock
 * for everyone else.  The environment is ignored in set-uid programs.
 *
 * Return: 0, -EINVAL for no buffer, -ENAMETOOLONG if the path does not fit,
 * -ENOENT for a user without $XDG_RUNTIME_DIR.
 */
LUO_EXPORT int luo_default_socket_path(char *buf, size_t len)
{
	const char *env, *dir;
	int n;

	if (!buf || !len)
		return -EINVAL;
	env = secure_getenv(LUO_SOCKET_ENV);
	if (env && *env) {
		n = snprintf(buf, len, "%s", env);
	} else if (geteuid() == 0) {
		n = snprintf(buf, len, "%s", LUO_SOCKET_ROOT);
	} else {
		dir = secure_getenv("XDG_RUNTIME_DIR");
		if (!dir || !*dir)
			return -ENOENT;
		n = snprintf(buf, len, "%s/%s/%s", dir, LUO_SOCKET_USER_DIR,
			     LUO_SOCKET_NAME);
	}
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* How long an open waits for the orchestrator to answer (LUO_OPEN_TIMEOUT). */
#define LUO_OPEN_TIMEOUT_S	120

static int luo_open_timeout_ms(void)
{
	const char *env = secure_getenv("LUO_OPEN_TIMEOUT");
	char *end;
	long s;

	if (!env || !*env)
		return LUO_OPEN_TIMEOUT_S * 1000;
	s = strtol(env, &end, 10);
	if (*end || s <= 0 || s > INT32_MAX / 1000)
		return LUO_OPEN_TIMEOUT_S * 1000;
	return (int)s * 1000;
}

/* SO_SNDTIMEO, which bounds a connect() to a listener whose queue is full. */
static int luo_set_sndtimeo(int fd, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = ms % 1000 * 1000 };

	return setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ?
	       -errno : 0;
}

/* Waits up to @ms for the handshake's answer: 0 or -ETIMEDOUT. */
static int luo_wait_answer(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r;

	while ((r = poll(&p, 1, ms)) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return r ? 0 : -ETIMEDOUT;
}

/*
 * Who listens: root or we ourselves, nobody else.  A socket in a directory
 * another user controls would otherwise hand them our files (a root
 * client therefore only talks to root's daemon).
 */
static int luo_check_peer(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	if (len < sizeof(cred) || (cred.uid != 0 && cred.uid != geteuid()))
		return -EPERM;
	return 0;
}

/**
 * luo_open_at() - open the orchestrator, as open("/dev/liveupdate") would
 * @socket_path: the orchestrator's socket, NULL for the default
 *               (luo_default_socket_path())
 * @mode:        LUO_OPEN_DEVICE for the exclusive device open,
 *               LUO_OPEN_CONTROL for luo's administrative requests only
 *
 * Connects, checks that the listener is root or the caller's own effective
 * uid (SO_PEERCRED) before sending anything, and performs the open
 * handshake.  A connection made while the orchestrator re-executes itself
 * waits until the new image serves, but no open waits longer than
 * $LUO_OPEN_TIMEOUT seconds (120 by default) for its answer.
 *
 * Return: the fd (close-on-exec), or -ENOENT if no orchestrator listens
 * there, -EBUSY if another device open is held, -EIO if the orchestrator
 * could not read its handover, -EPERM if the listener is neither root nor
 * the caller's own uid, -ETIMEDOUT if the orchestrator did not answer in
 * time, -EACCES, -ENAMETOOLONG, -EINVAL for a bad
 * mode, -EPROTO for a malformed answer, another negative errno of socket(2)
 * or connect(2).
 */
LUO_EXPORT int luo_open_at(const char *socket_path, int mode)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	union {
		char buf[sizeof(struct luo_wire_rep) +
			 sizeof(struct luo_wire_open)];
		struct luo_wire_rep align;
	} rep;
	struct luo_wire_open op = {
		.size = sizeof(op),
		.mode = (uint32_t)mode,
		.version = LUO_WIRE_VERSION,
	};
	struct luo_wire_req req = {
		.cmd = LUO_WIRE_OPEN,
		.len = sizeof(op),
	};
	char path[PATH_MAX];
	int fd, ret, rfd, ms = luo_open_timeout_ms();
	ssize_t n;

	if (mode != LUO_OPEN_DEVICE && mode != LUO_OPEN_CONTROL)
		return -EINVAL;
	if (!socket_path) {
		ret = luo_default_socket_path(path, sizeof(path));
		if (ret)
			return ret;
		socket_path = path;
	}
	if (!*socket_path)
		return -ENOENT;
	if (strlen(socket_path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, socket_path);

	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ret = luo_set_sndtimeo(fd, ms);
	if (ret)
		goto fail;
	while (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		if (errno == EINTR)
			continue;
		ret = (errno == ECONNREFUSED || errno == ENOENT) ? -ENOENT :
		      errno == EAGAIN ? -ETIMEDOUT : -errno;
		goto fail;
	}
	ret = luo_set_sndtimeo(fd, 0);
	if (!ret)
		ret = luo_check_peer(fd);
	if (ret)
		goto fail;

	ret = luo_send(fd, &req, &op, -1);
	if (!ret)
		ret = luo_wait_answer(fd, ms);
	if (ret)
		goto fail;
	n = luo_recv(fd, rep.buf, sizeof(rep.buf), &rfd);
	if (n < 0) {
		ret = n;
		goto fail;
	}
	if (rfd >= 0)
		close(rfd);
	ret = -EPROTO;
	if (rfd >= 0 || (size_t)n < sizeof(rep.align) ||
	    (size_t)n != sizeof(rep.align) + rep.align.len +
			 rep.align.extra_len ||
	    rep.align.len > sizeof(op) || rep.align.result > 0 ||
	    rep.align.result < -4095)
		goto fail;
	if (rep.align.result) {
		ret = rep.align.result;
		goto fail;
	}
	return fd;
fail:
	luo_close_quiet(fd);
	return ret;
}

/**
 * luo_open() - open the orchestrator's device at the default socket
 *
 * Same as luo_open_at(NULL, LUO_OPEN_DEVICE).
 *
 * Return: the device fd or a negative errno, as luo_open_at().
 */
LUO_EXPORT int luo_open(void)
{
	return luo_open_at(NULL, LUO_OPEN_DEVICE);
}

/**
 * luo_close() - close an fd from libluo
 * @fd: a device, control or session fd
 *
 * Closing the last copy of a session fd releases the session by the
 * kernel's rules; closing the device fd lets another agent open it.
 *
 * Return: 0 or the negative errno of close(2); an interrupted close counts
 * as done, since Linux has released the fd either way.
 */
LUO_EXPORT int luo_close(int fd)
{
	if (close(fd) < 0 && errno != EINTR)
		return -errno;
	return 0;
}

static int luo_session_open(int devfd, unsigned long request, const char *name)
{
	struct liveupdate_ioctl_create_session arg = { .size = sizeof(arg) };
	int ret;

	if (!name)
		return -EINVAL;
	/* A longer name goes out unterminated and is judged by the daemon. */
	memcpy(arg.name, name, strnlen(name, sizeof(arg.name)));
	arg.fd = -1;
	ret = luo_ioctl(devfd, request, &arg);
	if (ret)
		return ret;
	/* Success without a session fd is a broken daemon, not -EPERM. */
	return arg.fd >= 0 ? arg.fd : -EPROTO;
}

/**
 * luo_create_session() - LIVEUPDATE_IOCTL_CREATE_SESSION
 * @devfd: the device fd from luo_open()
 * @name:  the session's name, 1 to 63 characters
 *
 * Creates an outgoing session.
 *
 * Return: the session fd (close-on-exec) or a negative errno.
 */
LUO_EXPORT int luo_create_session(int devfd, const char *name)
{
	return luo_session_open(devfd, LIVEUPDATE_IOCTL_CREATE_SESSION, name);
}

/**
 * luo_retrieve_session() - LIVEUPDATE_IOCTL_RETRIEVE_SESSION
 * @devfd: the device fd from luo_open()
 * @name:  the name of an incoming session
 *
 * Return: the session fd (close-on-exec) or a negative errno.
 */
LUO_EXPORT int luo_retrieve_session(int devfd, const char *name)
{
	return luo_session_open(devfd, LIVEUPDATE_IOCTL_RETRIEVE_SESSION, name);
}

/**
 * luo_session_preserve_fd() - LIVEUPDATE_SESSION_PRESERVE_FD
 * @sfd:   an outgoing session fd
 * @fd:    the fd to preserve; the caller may close it afterwards
 * @token: the caller's token for it, unique within the session
 *
 * Return: 0 or a negative errno.
 */
LUO_EXPORT int luo_session_preserve_fd(int sfd, int fd, uint64_t token)
{
	struct liveupdate_session_preserve_fd arg = {
		.size = sizeof(arg),
		.fd = fd,
		.token = token,
	};

	return luo_ioctl(sfd, LIVEUPDATE_SESSION_PRESERVE_FD, &arg);
}

/**
 * luo_session_retrieve_fd() - LIVEUPDATE_SESSION_RETRIEVE_FD
 * @sfd:   an incoming session fd
 * @token: the token the file was preserved under
 *
 * Return: a new fd (close-on-exec) for the preserved file, or a negative
 * errno.
 */
LUO_EXPORT int luo_session_retrieve_fd(int sfd, uint64_t token)
{
	struct liveupdate_session_retrieve_fd arg = {
		.size = sizeof(arg),
		.fd = -1,
		.token = token,
	};
	int ret;

	ret = luo_ioctl(sfd, LIVEUPDATE_SESSION_RETRIEVE_FD, &arg);
	return ret ? ret : arg.fd;
}

/**
 * luo_session_finish() - LIVEUPDATE_SESSION_FINISH
 * @sfd: an incoming session fd
 *
 * Return: 0 or a negative errno.
 */
LUO_EXPORT int luo_session_finish(int sfd)
{
	struct liveupdate_session_finish arg = { .size = sizeof(arg) };

	return luo_ioctl(sfd, LIVEUPDATE_SESSION_FINISH, &arg);
}

/**
 * luo_session_get_name() - LIVEUPDATE_SESSION_GET_NAME
 * @sfd:  a session fd, outgoing or incoming
 * @name: receives the NUL-terminated name
 * @len:  size of @name, at least LIVEUPDATE_SESSION_NAME_LENGTH
 *
 * Return: 0 or a negative errno (-EINVAL for a short buffer).
 */
LUO_EXPORT int luo_session_get_name(int sfd, char *name, size_t len)
{
	struct liveupdate_session_get_name arg = { .size = sizeof(arg) };
	int ret;

	if (!name || len < LIVEUPDATE_SESSION_NAME_LENGTH)
		return -EINVAL;
	ret = luo_ioctl(sfd, LIVEUPDATE_SESSION_GET_NAME, &arg);
	if (ret)
		return ret;
	memcpy(name, arg.name, sizeof(arg.name));
	name[LIVEUPDATE_SESSION_NAME_LENGTH - 1] = '\0';
	return 0;
}

/**
 * luo_session_handover() - LUO_IOCTL_HANDOVER: hand a session to a successor
 * @sfd:   an outgoing session fd
 * @flags: LUO_HANDOVER_KEEP_ON_CLOSE or 0
 *
 * The session's files are frozen and the session becomes incoming under
 * the same name, for the next process to retrieve.  @sfd is detached: every
 * later request on it fails with -ENOENT; the caller still closes it.
 *
 * Return: 0 or a negative errno.
 */
LUO_EXPORT int luo_session_handover(int sfd, uint32_t flags)
{
	struct luo_session_handover arg = {
		.size = sizeof(arg),
		.flags = flags,
	};

	return luo_ioctl(sfd, LUO_IOCTL_HANDOVER, &arg);
}

/**
 * luo_status() - LUO_IOCTL_STATUS: the orchestrator at a glance
 * @fd: a device or control fd
 * @st: receives the status; the library sets its size
 *
 * Return: 0 or a negative errno.
 */
LUO_EXPORT int luo_status(int fd, struct luo_status *st)
{
	int ret;

	if (!st)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	ret = luo_ioctl(fd, LUO_IOCTL_STATUS, st);
	/* The strings come from the daemon: never hand one out unterminated. */
	st->version[sizeof(st->version) - 1] = '\0';
	st->last_reboot_failure[sizeof(st->last_reboot_failure) - 1] = '\0';
	return ret;
}

/**
 * luo_list() - walk every session and file with LUO_IOCTL_LIST
 * @fd:  a device or control fd
 * @fn:  called once per record, in order: each session record is followed
 *       by the records of its files
 * @ctx: passed to @fn
 *
 * Pages through the listing until its end.  The listing is not a snapshot:
 * sessions created or closed during the walk may be missed or seen twice.
 *
 * Return: 0 at the end of the listing, the first non-zero value returned by
 * @fn, or a negative errno (-EPROTO for a malformed page).
 */
LUO_EXPORT int luo_list(int fd, luo_list_fn fn, void *ctx)
{
	struct luo_list arg = { .size = sizeof(arg) };
	struct luo_xfer x = { .send_fd = -1 };
	struct luo_list_record rec;
	uint32_t i;
	int ret;

	if (!fn)
		return -EINVAL;
	x.rep_size = LUO_WIRE_MAX_REP;
	x.rep_buf = malloc(x.rep_size);
	if (!x.rep_buf)
		return -ENOMEM;
	for (;;) {
		uint32_t session = arg.session, file = arg.file;

		arg.size = sizeof(arg);
		arg.flags = 0;
		arg.nr_records = 0;
		arg.done = 0;
		ret = luo_xfer_ioctl(fd, LUO_IOCTL_LIST, &arg, &x);
		if (ret)
			break;
		ret = -EPROTO;
		if (!x.extra || arg.nr_records > LUO_LIST_PAGE_RECORDS ||
		    x.extra_len != (size_t)arg.nr_records * sizeof(rec))
			break;
		/* A page that neither ends the walk nor moves on would loop. */
		if (!arg.done && !arg.nr_records && arg.session == session &&
		    arg.file == file)
			break;
		ret = 0;
		for (i = 0; i < arg.nr_records && !ret; i++) {
			memcpy(&rec, (const char *)x.extra + i * sizeof(rec),
			       sizeof(rec));
			rec.name[sizeof(rec.name) - 1] = '\0';
			ret = fn(&rec, ctx);
		}
		if (ret || arg.done)
			break;
	}
	free(x.rep_buf);
	return ret;
}

/**
 * luo_reboot() - LUO_IOCTL_REBOOT: the orchestrator's own live update
 * @fd:            a device or control fd
 * @exec_fd:       an fd of the executable to run as the new image (opened
 *                 O_PATH or read-only), or -1 to re-execute the same one
 * @update_number: receives the new image's update number; may be NULL
 *
 * Freezes every outgoing session, hands them over and re-executes the
 * orchestrator.  Blocks until the new image answers; then every session
 * is incoming.  On failure nothing has changed.
 *
 * Return: 0 or a negative errno.
 */
LUO_EXPORT int luo_reboot(int fd, int exec_fd, uint64_t *update_number)
{
	union {
		char buf[LUO_REP_SMALL];
		struct luo_wire_rep align;
	} rep;
	struct luo_reboot arg = { .size = sizeof(arg) };
	struct luo_xfer x = {
		.send_fd = -1,
		.rep_buf = rep.buf,
		.rep_size = sizeof(rep.buf),
	};
	int ret;

	if (exec_fd != -1) {
		if (exec_fd < 0 || fcntl(exec_fd, F_GETFD) < 0)
			return -EBADF;
		arg.flags = LUO_REBOOT_EXEC_FD;
		x.send_fd = exec_fd;
	}
	ret = luo_xfer_ioctl(fd, LUO_IOCTL_REBOOT, &arg, &x);
	if (!ret && update_number)
		*update_number = arg.update_number;
	return ret;
}

/**
 * luo_pool_memfd() - LUO_IOCTL_POOL_MEMFD: a memfd-like file in the pool
 * @devfd: a device or control fd
 * @name:  a label for the orchestrator's log (at most 255 bytes); the
 *         file itself has no name
 * @flags: MFD_CLOEXEC, MFD_ALLOW_SEALING
 *
 * An unnamed regular file in the orchestrator's pool (liveupdated
 * --pool), read-write: read, write, mmap MAP_SHARED and ftruncate it like
 * a memfd.  Its pages live in the pool, so preserving it in a session
 * stores no copy, and it survives a real kexec (LUO_IOCTL_REBOOT_KEXEC).
 *
 * Return: the new fd, or a negative errno: -EOPNOTSUPP if the
 * orchestrator has no pool, or for MFD_ALLOW_SEALING where the pool's
 * filesystem cannot seal; -EINVAL for unknown flags or a name too long;
 * -EFAULT for no name; the orchestrator's errno (ENOSPC...).
 */
LUO_EXPORT int luo_pool_memfd(int devfd, const char *name, unsigned int flags)
{
	struct luo_pool_memfd arg = { .size = sizeof(arg), .fd = -1 };
	size_t len;
	int ret;

	if (!name)
		return -EFAULT;
	if (flags & ~(unsigned int)(MFD_CLOEXEC | MFD_ALLOW_SEALING))
		return -EINVAL;
	len = strlen(name);
	if (len >= sizeof(arg.name))
		return -EINVAL;
	memcpy(arg.name, name, len);
	if (flags & MFD_ALLOW_SEALING)
		arg.flags |= LUO_POOL_ALLOW_SEALING;
	ret = luo_ioctl(devfd, LUO_IOCTL_POOL_MEMFD, &arg);
	if (ret)
		return ret;
	if (!(flags & MFD_CLOEXEC) && fcntl(arg.fd, F_SETFD, 0) < 0) {
		ret = -errno;
		close(arg.fd);
		return ret;
	}
	return arg.fd;
}

/**
 * luo_session_last_error() - LUO_SESSION_LAST_ERROR: why a file was refused
 * @sfd: a session fd, outgoing or incoming
 * @err: receives the session's record; the library sets its size
 *
 * The orchestrator remembers, per session, the last PRESERVE_FD that
 * failed: its errno (positive, in @err->error; 0 if none failed), its token
 * and the reason in words, e.g. why no file handler takes the file that
 * got ENOENT.
 *
 * Return: 0 or a negative errno (-EINVAL from an orchestrator that does
 * not know the request, as for any unknown command).
 */
LUO_EXPORT int luo_session_last_error(int sfd, struct luo_session_error *err)
{
	int ret;

	if (!err)
		return -EINVAL;
	memset(err, 0, sizeof(*err));
	err->size = sizeof(*err);
	ret = luo_ioctl(sfd, LUO_SESSION_LAST_ERROR, err);
	err->reason[sizeof(err->reason) - 1] = '\0';
	return ret;
}

/**
 * luo_drop_session() - LUO_IOCTL_DROP_SESSION: end a stale incoming session
 * @fd:       a device or control fd of the administrator
 * @name:     the incoming session's name
 * @owner:    the uid that owns it
 * @nr_files: receives the number of files it held; may be NULL
 *
 * Ends an incoming session that no session fd holds, by FINISH's rules:
 * files never retrieved are discarded, retrieved ones stay with their
 * retriever.
 *
 * Return: 0 or a negative errno: -EPERM for anyone but the administrator,
 * -ENOENT for no such session, -EBUSY if a session fd holds it or a
 * handler refuses FINISH, -EINVAL for a bad name.
 */
LUO_EXPORT int luo_drop_session(int fd, const char *name, uint32_t owner,
				uint32_t *nr_files)
{
	struct luo_drop_session arg = {
		.size = sizeof(arg),
		.owner = owner,
	};
	int ret;

	if (!name)
		return -EINVAL;
	/* A longer name goes out unterminated and is judged by the daemon. */
	memcpy(arg.name, name, strnlen(name, sizeof(arg.name)));
	ret = luo_ioctl(fd, LUO_IOCTL_DROP_SESSION, &arg);
	if (!ret && nr_files)
		*nr_files = arg.nr_files;
	return ret;
}

/**
 * luo_upgrade() - LUO_IOCTL_UPGRADE: the orchestrator upgrades itself
 * @fd:      a device or control fd
 * @exec_fd: an fd of the executable to run as the new image (opened
 *           O_PATH or read-only), or -1 to re-execute the same one
 *
 * The new image takes over the orchestrator's whole state: every session
 * stays in its direction and state, and every connection, device hold and
 * session fd, this one included, keeps working.  Blocks until the new
 * image answers.  On failure nothing has changed.
 *
 * Return: 0 or a negative errno (EPERM unless the caller is the
 * administrator, EBUSY while a REBOOT or UPGRADE is under way or a
 * request waits for a client's file, EPROTO if the new image refused the
 * handover and the old one was rolled back to).
 */
LUO_EXPORT int luo_upgrade(int fd, int exec_fd)
{
	union {
		char buf[LUO_REP_SMALL];
		struct luo_wire_rep align;
	} rep;
	struct luo_upgrade arg = { .size = sizeof(arg) };
	struct luo_xfer x = {
		.send_fd = -1,
		.rep_buf = rep.buf,
		.rep_size = sizeof(rep.buf),
	};

	if (exec_fd != -1) {
		if (exec_fd < 0 || fcntl(exec_fd, F_GETFD) < 0)
			return -EBADF;
		arg.flags = LUO_UPGRADE_EXEC_FD;
		x.send_fd = exec_fd;
	}
	return luo_xfer_ioctl(fd, LUO_IOCTL_UPGRADE, &arg, &x);
}
