// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The new image's side of a live update: take the dataset, the listening
 * socket and every connection, with its pending bytes, from the session the
 * previous image handed over ("luo:NAME") or from the socket pair it left
 * behind ("unix:FD"), and serve them as if nothing happened.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "kvd.h"

#define STATE_MAGIC	0x7473766b64ULL
#define TOKEN_DATA	1
#define TOKEN_STATE	2
#define TOKEN_LISTEN	3
#define TOKEN_CONN0	16

struct state_hdr {
	uint64_t magic;
	uint32_t nconns;
	int32_t listen;
};

struct state_conn {
	uint64_t token;
	int32_t fd;
	uint32_t inlen;
	uint32_t outlen;
	uint32_t pad;
};

/**
 * struct source - where the fds come from
 * @sfd: the retrieved session, or -1
 * @fds: unix: every fd received, in order data, state, listen, connections
 * @n:   entries of @fds
 */
struct source {
	int sfd;
	int *fds;
	size_t n;
};

/* The fd of a record: inherited, received, or retrieved from the session. */
static int fd_of(struct source *src, int32_t inherited, uint64_t token,
		 size_t index)
{
	if (src->sfd < 0)
		return index < src->n ? src->fds[index] : -EBADF;
	if (inherited >= 0) {
		if (fcntl(inherited, F_SETFD, FD_CLOEXEC))
			return -errno;
		return inherited;
	}
	return luo_session_retrieve_fd(src->sfd, token);
}

static int add_conn(struct kvd *k, struct source *src,
		    const struct state_conn *r, size_t index)
{
	int fd = fd_of(src, r->fd, r->token, index);
	const char *bytes = (const char *)(r + 1);
	struct kvd_conn *c;

	if (fd < 0)
		return fd;
	c = kvd_conn_add(k, fd, r->inlen || r->outlen);
	if (!c)
		return -ENOMEM;
	if (kvd_buf_put(&c->in, bytes, r->inlen) ||
	    kvd_buf_put(&c->out, bytes + r->inlen, r->outlen))
		return -ENOMEM;
	return 0;
}

static int restore(struct kvd *k, struct source *src, int state)
{
	struct stat sb;
	struct state_hdr *h;
	size_t off;
	char *p;
	int ret = 0;

	if (fstat(state, &sb) || (size_t)sb.st_size < sizeof(*h))
		return -EINVAL;
	p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, state, 0);
	if (p == MAP_FAILED)
		return -errno;
	h = (struct state_hdr *)p;
	if (h->magic != STATE_MAGIC) {
		munmap(p, (size_t)sb.st_size);
		return -EINVAL;
	}
	k->listen_fd = fd_of(src, h->listen, TOKEN_LISTEN, 2);
	if (k->listen_fd < 0)
		ret = k->listen_fd;
	off = sizeof(*h);
	for (uint32_t i = 0; i < h->nconns && !ret; i++) {
		const struct state_conn *r = (const void *)(p + off);

		if (off + sizeof(*r) > (size_t)sb.st_size)
			ret = -EINVAL;
		else
			ret = add_conn(k, src, r, 3 + i);
		off += sizeof(*r) + ((r->inlen + r->outlen + 7) & ~7u);
	}
	munmap(p, (size_t)sb.st_size);
	return ret;
}

static int take_store(struct kvd *k, struct source *src, int data)
{
	int ret;

	if (data < 0)
		return data;
	ret = kvd_store_attach(&k->store, data);
	if (ret)
		close(data);
	return ret;
}

static int from_luo(struct kvd *k, const char *name)
{
	struct source src = { .sfd = -1 };
	int dev = kvd_open_device(k), state = -1, ret;

	if (dev < 0)
		return dev;
	src.sfd = luo_retrieve_session(dev, name);
	luo_close(dev);
	if (src.sfd < 0)
		return src.sfd;
	ret = take_store(k, &src, luo_session_retrieve_fd(src.sfd, TOKEN_DATA));
	if (!ret)
		state = luo_session_retrieve_fd(src.sfd, TOKEN_STATE);
	ret = ret ?: (state < 0 ? state : restore(k, &src, state));
	if (state >= 0)
		close(state);
	/* FINISH only once everything is ours; else KEEP_ON_CLOSE keeps it. */
	ret = ret ?: luo_session_finish(src.sfd);
	luo_close(src.sfd);
	return ret;
}

static int recv_fds(int sock, struct source *src)
{
	char cbuf[CMSG_SPACE(256 * sizeof(int))], byte;

	for (;;) {
		struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
		struct msghdr msg = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
		};
		struct cmsghdr *cm;
		ssize_t r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		size_t m;
		int *grown;

		if (r <= 0)
			return r < 0 && errno != EAGAIN ? -errno : 0;
		cm = CMSG_FIRSTHDR(&msg);
		if (!cm || cm->cmsg_type != SCM_RIGHTS)
			return -EPROTO;
		m = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		grown = realloc(src->fds, (src->n + m) * sizeof(int));
		if (!grown)
			return -ENOMEM;
		src->fds = grown;
		memcpy(src->fds + src->n, CMSG_DATA(cm), m * sizeof(int));
		src->n += m;
	}
}

static int from_unix(struct kvd *k, int sock)
{
	struct source src = { .sfd = -1 };
	int ret = recv_fds(sock, &src);

	close(sock);
	if (!ret && src.n < 3)
		ret = -EPROTO;
	ret = ret ?: take_store(k, &src, src.fds[0]);
	ret = ret ?: restore(k, &src, src.fds[1]);
	if (src.n > 1)
		close(src.fds[1]);
	free(src.fds);
	return ret;
}

/**
 * kvd_takeover() - become the server the previous image was
 * @k:   a server with its epoll fd and nothing else
 * @how: "luo:SESSION" or "unix:FD"
 *
 * Return: 0 or -errno; on failure the process should exit (with
 * KEEP_ON_CLOSE the session goes back to the orchestrator intact).
 */
int kvd_takeover(struct kvd *k, const char *how)
{
	int ret;

	if (!strncmp(how, "luo:", 4))
		ret = from_luo(k, how + 4);
	else if (!strncmp(how, "unix:", 5))
		ret = from_unix(k, atoi(how + 5));
	else
		ret = -EINVAL;
	if (ret)
		return ret;
	k->store.hdr->stats.upgrades++;
	kvd_log("takeover: serving %llu items, %u connections",
		(unsigned long long)k->store.hdr->items, k->nconns);
	return 0;
}
