// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz target: libluo's validation of the daemon's replies.  The library
 * source is compiled into this program (its validation is internal), and
 * each call talks to a socket pair whose other end already holds the
 * fuzzer's replies: a daemon that answers anything, with any number of
 * fds.  The other end is then shut down, so a call that wants more
 * replies than the input gave sees the daemon go (ENODEV) instead of
 * hanging.
 *
 * Input: one byte choosing the call (luo_ioctl(), luo_list(), luo_status(),
 * luo_create_session(), luo_session_get_name(), luo_reboot()), one byte
 * choosing luo_ioctl()'s command and the caller's struct size, then up to
 * four replies, each a parameter byte (fds to attach, whether to make the
 * header's lengths add up) and a length-prefixed message.
 *
 * Checks: no crash or overrun of the caller's struct (it is allocated at
 * exactly its size); results are 0 or an errno; a failed call leaves the
 * caller's struct as it was unless the reply was well-formed; every fd
 * received is either handed to the caller or closed; no fd leaks.
 */
#include "../src/lib/libluo.c"

#include <sys/stat.h>

#include "fuzz.h"

#define MAX_REPLIES	4
#define R_FIX_LEN	(1u << 2)

enum call {
	C_IOCTL, C_LIST, C_STATUS, C_CREATE, C_GET_NAME, C_REBOOT, C_NR,
};

static const uint32_t cmds[] = {
	LIVEUPDATE_IOCTL_CREATE_SESSION, LIVEUPDATE_IOCTL_RETRIEVE_SESSION,
	LIVEUPDATE_SESSION_PRESERVE_FD, LIVEUPDATE_SESSION_RETRIEVE_FD,
	LIVEUPDATE_SESSION_FINISH, LIVEUPDATE_SESSION_GET_NAME,
	LUO_IOCTL_STATUS, LUO_IOCTL_REBOOT, 0xBA99,
};

static const uint32_t sizes[] = { 4, 8, 16, 72, 80, 4096, 5000, 0 };

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

/* Sends one reply; returns the result word it carries (0 if none). */
static int32_t send_reply(int sock, struct fz_in *in)
{
	uint8_t p = fz_u8(in), msg[LUO_WIRE_MAX_REP];
	size_t len = (fz_u8(in) | (size_t)fz_u8(in) << 8) % sizeof(msg);
	int nfds = p & 3, fds[3];
	union {
		char buf[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} cmsg;
	struct iovec iov = { .iov_base = msg, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct luo_wire_rep rep = { .result = 0 };

	len = fz_bytes(in, msg, len);
	iov.iov_len = len;
	if ((p & R_FIX_LEN) && len >= sizeof(rep)) {
		memcpy(&rep, msg, sizeof(rep));
		rep.len %= (uint32_t)(len - sizeof(rep)) + 1;
		rep.extra_len = (uint32_t)(len - sizeof(rep)) - rep.len;
		memcpy(msg, &rep, sizeof(rep));
	}
	for (int i = 0; i < nfds; i++)
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (nfds) {
		struct cmsghdr *c;

		memset(&cmsg, 0, sizeof(cmsg));
		mh.msg_control = cmsg.buf;
		mh.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
	}
	FZ_CHECK(sendmsg(sock, &mh, MSG_NOSIGNAL) == (ssize_t)len,
		 "sendmsg: %s", strerror(errno));
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	if (len >= sizeof(rep.result))
		memcpy(&rep.result, msg, sizeof(rep.result));
	return rep.result;
}

static int count_records(const struct luo_list_record *rec, void *ctx)
{
	FZ_CHECK(!rec->name[sizeof(rec->name) - 1], "name unterminated");
	(*(int *)ctx)++;
	return 0;
}

static void close_if_fd(int ret)
{
	if (ret >= 0) {
		FZ_CHECK(fcntl(ret, F_GETFD) == FD_CLOEXEC,
			 "fd %d without close-on-exec", ret);
		close(ret);
	}
}

/*
 * luo_ioctl() on a struct of exactly the caller's size.  @daemon_err is
 * the result the (first) reply carried: an errno libluo passes on, where
 * the reply may legitimately have copied bytes back.
 */
static void call_ioctl(int sock, uint8_t b, int32_t daemon_err)
{
	uint32_t cmd = cmds[b % (sizeof(cmds) / sizeof(cmds[0]))];
	uint32_t size = sizes[(b >> 4) % (sizeof(sizes) / sizeof(sizes[0]))];
	uint32_t alloc = size < 4 ? 4 : size;
	uint8_t *arg = calloc(1, alloc), *orig = malloc(alloc);
	int32_t fd;
	int ret;

	FZ_CHECK(arg && orig, "out of memory");
	memcpy(arg, &size, sizeof(size));
	fd = -1;		/* so that an fd stored here is libluo's */
	if (size >= 8)
		memcpy(arg + 4, &fd, sizeof(fd));
	memcpy(orig, arg, alloc);
	ret = luo_ioctl(sock, cmd, arg);
	FZ_CHECK(ret <= 0 && ret >= -4095, "luo_ioctl: %d", ret);
	if ((ret == -EPROTO || ret == -ENODEV || ret == -EMFILE) &&
	    ret != daemon_err)
		FZ_CHECK(!memcmp(arg, orig, alloc),
			 "a refused reply changed the caller's struct");
	if (!ret && luo_wire_returns_fd(cmd) && size >= 8) {
		memcpy(&fd, arg + 4, sizeof(fd));
		if (fd != -1)
			close_if_fd(fd);
	}
	free(orig);
	free(arg);
}

static void call_one(int sock, enum call c, uint8_t b, int32_t daemon_err)
{
	struct luo_status st;
	char name[LIVEUPDATE_SESSION_NAME_LENGTH];
	uint64_t update = 0;
	int n = 0, ret = 0;

	switch (c) {
	case C_IOCTL:
		call_ioctl(sock, b, daemon_err);
		return;
	case C_LIST:
		ret = luo_list(sock, count_records, &n);
		break;
	case C_STATUS:
		ret = luo_status(sock, &st);
		FZ_CHECK(!st.version[sizeof(st.version) - 1] &&
			 !st.last_reboot_failure[sizeof(st.last_reboot_failure) - 1],
			 "a string of STATUS unterminated");
		break;
	case C_CREATE:
		ret = luo_create_session(sock, "fuzz");
		close_if_fd(ret);
		ret = ret > 0 ? 0 : ret;
		break;
	case C_GET_NAME:
		ret = luo_session_get_name(sock, name, sizeof(name));
		if (!ret)
			FZ_CHECK(strnlen(name, sizeof(name)) < sizeof(name),
				 "name unterminated");
		break;
	default:
		ret = luo_reboot(sock, -1, &update);
		break;
	}
	FZ_CHECK(ret <= 0 && ret >= -4095, "call %d: %d", c, ret);
}

/**
 * LLVMFuzzerTestOneInput() - libFuzzer's entry: answer one libluo call with the input's replies
 * @data: the input
 * @size: its length
 *
 * Return: 0; a failed check aborts.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	enum call c = (enum call)(fz_u8(&in) % C_NR);
	uint8_t b = fz_u8(&in);
	int sv[2], count = fz_count_fds();
	int32_t first = 0;

	FZ_CHECK(!socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv),
		 "socketpair");
	for (int i = 0; i < MAX_REPLIES && in.n; i++) {
		int32_t result = send_reply(sv[1], &in);

		if (!i)
			first = result;
	}
	shutdown(sv[1], SHUT_WR);
	call_one(sv[0], c, b, first);
	close(sv[0]);
	close(sv[1]);
	FZ_CHECK(fz_count_fds() == count, "%d fds open, %d before",
		 fz_count_fds(), count);
	return 0;
}
