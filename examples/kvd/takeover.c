// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The new image's side of a live update: take the dataset, the listening
 * socket and every connection, with its pending bytes, from the session the
 * previous image handed over ("luo:NAME") or from the socket pair it left
 * behind ("unix:FD"), and serve them as if nothing happened.
 *
 * From a session, only what serving needs comes first: the dataset, the
 * state memfd and the listening socket.  The connections are retrieved
 * after that, one per turn of the event loop (keep.c), in the order the
 * state memfd lists them: most recently active first, so a client in the
 * middle of a conversation is served again after a few round trips
 * whatever the number of idle connections.  Then the session is finished.
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
	c->proto.flags = r->proto & KVD_PROTO_FLAGS;
	if (kvd_buf_put(&c->in, bytes, r->inlen) ||
	    kvd_buf_put(&c->out, bytes + r->inlen, r->outlen))
		return -ENOMEM;
	return 0;
}

/* Map the state memfd and check its header. */
static int state_map(struct kvd_adopt *a, int state)
{
	const struct state_hdr *h;
	struct stat sb;
	char *p;

	if (fstat(state, &sb) || (size_t)sb.st_size < sizeof(*h))
		return -EINVAL;
	p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, state, 0);
	if (p == MAP_FAILED)
		return -errno;
	h = (const struct state_hdr *)p;
	if (h->magic != STATE_MAGIC) {
		munmap(p, (size_t)sb.st_size);
		return -EINVAL;
	}
	a->map = p;
	a->size = (size_t)sb.st_size;
	a->off = sizeof(*h);
	a->left = h->nconns;
	return 0;
}

static void state_unmap(struct kvd_adopt *a)
{
	if (a->map)
		munmap(a->map, a->size);
	a->map = NULL;
	a->left = 0;
}

/* The next connection record, or NULL if it overruns the memfd. */
static const struct state_conn *next_rec(struct kvd_adopt *a)
{
	const struct state_conn *r = (const void *)(a->map + a->off);

	if (a->off + sizeof(*r) > a->size ||
	    (size_t)r->inlen + r->outlen > a->size - a->off - sizeof(*r))
		return NULL;
	a->off += sizeof(*r) + (((size_t)r->inlen + r->outlen + 7) & ~7ul);
	a->left--;
	return r;
}

static int listener_of(struct kvd *k, struct source *src,
		       const struct kvd_adopt *a)
{
	const struct state_hdr *h = (const void *)a->map;

	k->listen_fd = fd_of(src, h->listen, KVD_TOKEN_LISTEN, 2);
	return k->listen_fd < 0 ? k->listen_fd : 0;
}

/* Every connection at once: the socket pair's way. */
static int restore(struct kvd *k, struct source *src, int state)
{
	struct kvd_adopt a = { .sfd = -1 };
	int ret = state_map(&a, state);

	ret = ret ?: listener_of(k, src, &a);
	for (size_t i = 3; a.left && !ret; i++) {
		const struct state_conn *r = next_rec(&a);

		ret = r ? add_conn(k, src, r, i) : -EINVAL;
	}
	state_unmap(&a);
	return ret;
}

static int take_store(struct kvd *k, int data)
{
	int ret;

	if (data < 0)
		return data;
	ret = kvd_store_attach(&k->store, data);
	if (ret)
		close(data);
	return ret;
}

/**
 * kvd_adopt_next() - retrieve the next connection of the incoming session
 * @k: the server, with k->adopt.left records to go
 *
 * A connection that cannot be retrieved is logged and left to the FINISH.
 *
 * Return: 0, or -EINVAL if the state memfd is cut short (nothing left).
 */
int kvd_adopt_next(struct kvd *k)
{
	struct source src = { .sfd = k->adopt.sfd };
	const struct state_conn *r = next_rec(&k->adopt);
	int ret;

	if (!r) {
		state_unmap(&k->adopt);
		return -EINVAL;
	}
	ret = add_conn(k, &src, r, 0);
	if (ret)
		kvd_log("takeover: connection %llu lost: %s",
			(unsigned long long)r->token, strerror(-ret));
	return 0;
}

/**
 * kvd_adopt_end() - every connection is ours: finish the incoming session
 * @k: the server
 *
 * Return: 0, or the FINISH's -errno (the session fd is closed either way).
 */
int kvd_adopt_end(struct kvd *k)
{
	int ret;

	state_unmap(&k->adopt);
	ret = luo_session_finish(k->adopt.sfd);
	luo_close(k->adopt.sfd);
	k->adopt.sfd = -1;
	if (ret)
		kvd_log("takeover: cannot finish session %s: %s", k->session,
			strerror(-ret));
	else
		kvd_log("takeover: session %s finished, %u connections",
			k->session, k->nconns);
	return ret;
}

/* The dataset, the state and the listener; the connections come later. */
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
	ret = take_store(k, luo_session_retrieve_fd(src.sfd, KVD_TOKEN_DATA));
	if (!ret)
		state = luo_session_retrieve_fd(src.sfd, KVD_TOKEN_STATE);
	ret = ret ?: (state < 0 ? state : state_map(&k->adopt, state));
	if (state >= 0)
		close(state);
	ret = ret ?: listener_of(k, &src, &k->adopt);
	if (ret) {
		/* Not finished: KEEP_ON_CLOSE gives the session back intact. */
		state_unmap(&k->adopt);
		luo_close(src.sfd);
		return ret;
	}
	k->adopt.sfd = src.sfd;
	return 0;
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
	ret = ret ?: take_store(k, src.fds[0]);
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
	kvd_log("takeover: serving %llu items, %u connections, %u to retrieve",
		(unsigned long long)k->store.hdr->items, k->nconns,
		k->adopt.left);
	return 0;
}
