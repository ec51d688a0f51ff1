// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * kvd's live update.  The old image stops serving (it simply does not go
 * back to its loop) and writes every connection's unexecuted input and
 * unsent output into a small state memfd.  Everything else is in its
 * outgoing luo session already (keep.c): the upgrade preserves the state
 * memfd, hands the session over (LUO_IOCTL_HANDOVER, KEEP_ON_CLOSE) and
 * executes the new binary with "--takeover luo:SESSION" — two round trips
 * to liveupdated whatever the number of connections.  The new image
 * retrieves everything, maps the dataset as it is, and carries on.
 *
 * A socket the orchestrator has no handler for (ENOENT) crosses the exec
 * as an inherited fd instead, its number recorded in the state memfd, so
 * kvd works with any liveupdated and uses the socket handler when there is
 * one.  "--handoff unix" skips the orchestrator entirely: every fd goes to
 * the new image over an inherited socket pair with SCM_RIGHTS (the floor
 * the benchmark compares against).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <luo/libluo.h>
#include <luo/luo-ext.h>

#include "kvd.h"

#define FDS_PER_MSG	250

/**
 * kvd_log() - a line on stderr with a timestamp and the pid
 * @fmt: printf format
 */
void kvd_log(const char *fmt, ...)
{
	struct timespec ts;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(stderr, "kvd[%d] %ld.%06ld: ", getpid(), (long)ts.tv_sec,
		ts.tv_nsec / 1000);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static size_t rec_size(const struct kvd_conn *c)
{
	return sizeof(struct state_conn) + ((c->in.len + c->out.len + 7) & ~7ul);
}

/* The fd to inherit, or -1 for one preserved or passed some other way. */
static int32_t inherited(enum kvd_keep keep, int fd)
{
	return keep == KVD_KEEP_INHERIT ? fd : -1;
}

/* Fill the state memfd, connections in the order of k->conns. */
static int state_write(struct kvd *k, int *out)
{
	size_t size = sizeof(struct state_hdr), off;
	struct state_hdr *h;
	struct kvd_conn *c;
	char *p;
	int fd;

	list_for_each_entry(c, &k->conns, link)
		size += rec_size(c);
	fd = memfd_create("kvd-state", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) ||
	    (p = mmap(NULL, size, PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
		close(fd);
		return -ENOMEM;
	}
	h = (struct state_hdr *)p;
	h->magic = STATE_MAGIC;
	h->nconns = k->nconns;
	h->listen = inherited(k->listen_keep, k->listen_fd);
	off = sizeof(*h);
	list_for_each_entry(c, &k->conns, link) {
		struct state_conn *r = (struct state_conn *)(p + off);

		r->token = c->token;
		r->fd = inherited(c->keep, c->fd);
		r->inlen = (uint32_t)c->in.len;
		r->outlen = (uint32_t)c->out.len;
		r->proto = c->proto.flags;
		if (c->in.len)
			memcpy(r + 1, c->in.p, c->in.len);
		if (c->out.len)
			memcpy((char *)(r + 1) + c->in.len, c->out.p, c->out.len);
		off += rec_size(c);
	}
	munmap(p, size);
	*out = fd;
	return 0;
}

/* The fds no handler took cross the exec. */
static int inherit_fds(struct kvd *k)
{
	struct kvd_conn *c;

	if (k->listen_keep == KVD_KEEP_INHERIT &&
	    fcntl(k->listen_fd, F_SETFD, 0))
		return -errno;
	list_for_each_entry(c, &k->conns, link)
		if (c->keep == KVD_KEEP_INHERIT && fcntl(c->fd, F_SETFD, 0))
			return -errno;
	return 0;
}

static void restore_cloexec(struct kvd *k)
{
	struct kvd_conn *c;

	fcntl(k->listen_fd, F_SETFD, FD_CLOEXEC);
	list_for_each_entry(c, &k->conns, link)
		fcntl(c->fd, F_SETFD, FD_CLOEXEC);
}

/**
 * kvd_open_device() - open liveupdated's device, waiting out a holder
 * @k: the server
 *
 * The previous image closed its device fd before it executed this one, but
 * the orchestrator may not have seen that close yet: EBUSY is retried for
 * up to a second.
 *
 * Return: the device fd or -errno.
 */
int kvd_open_device(struct kvd *k)
{
	struct timespec ms = { 0, 1000000 };
	int fd;

	for (int i = 0; i < 1000; i++) {
		fd = k->socket ? luo_open_at(k->socket, LUO_OPEN_DEVICE) :
				 luo_open();
		if (fd != -EBUSY)
			return fd;
		nanosleep(&ms, NULL);
	}
	return fd;
}

/* The state memfd into the session, and the session handed over. */
static int hand_over(struct kvd *k)
{
	struct luo_session_unpreserve_fd up = {
		.size = sizeof(up),
		.token = KVD_TOKEN_STATE,
	};
	int st = -1, ret;

	ret = state_write(k, &st);
	ret = ret ?: inherit_fds(k);
	ret = ret ?: luo_session_preserve_fd(k->sfd, st, KVD_TOKEN_STATE);
	if (st >= 0)
		close(st);
	if (ret)
		return ret;
	ret = luo_session_handover(k->sfd, LUO_HANDOVER_KEEP_ON_CLOSE);
	if (ret && luo_ioctl(k->sfd, LUO_SESSION_UNPRESERVE_FD, &up))
		kvd_log("upgrade: the state memfd stays in session %s",
			k->session);
	return ret;
}

static char **exec_args(struct kvd *k, const char *how)
{
	int n = 0, j = 0;
	char **av;

	while (k->argv[n])
		n++;
	av = calloc((size_t)n + 3, sizeof(*av));
	if (!av)
		return NULL;
	av[j++] = k->exec_path;
	for (int i = 1; i < n; i++) {
		if ((!strcmp(k->argv[i], "--takeover") ||
		     !strcmp(k->argv[i], "--ready-fd")) && i + 1 < n) {
			i++;
			continue;
		}
		av[j++] = k->argv[i];
	}
	av[j++] = "--takeover";
	av[j++] = (char *)how;
	return av;
}

#define MM_HOLDER_STACK	(64 << 10)

/*
 * The mm holder: shares our address space and keeps it alive until the
 * exec closes its pipe (raw system calls only: it runs on our memory).
 */
static int mm_holder(void *arg)
{
	int fd = *(int *)arg;
	char c;

	syscall(SYS_close_range, 0, fd - 1, 0);
	syscall(SYS_close_range, fd + 1, ~0U, 0);
	while (syscall(SYS_read, fd, &c, 1) < 0)
		;
	syscall(SYS_exit, 0);
	return 0;
}

/*
 * execve() tears our address space down before the new image runs: for a
 * dataset of N GiB mapped and touched, tens of milliseconds per GiB, which
 * would make the blackout grow with the data (measured: 31-66 ms at 1 GiB).
 * A CLONE_VM child holding the address space turns that teardown into its
 * own exit, after the new image already serves.  It reads a pipe whose
 * write end is close-on-exec here, so the exec (or the failure path)
 * releases it; SIGCHLD is ignored across the exec so nobody has to reap
 * it.  Without a holder the exec just costs more.
 */
struct mm_holder {
	void *stack;
	int rfd;
	int wfd;	/* -1: no holder */
	pid_t pid;
};

static void mm_hold(struct mm_holder *h)
{
	int p[2];

	h->wfd = -1;
	h->stack = malloc(MM_HOLDER_STACK);
	if (!h->stack || pipe2(p, O_CLOEXEC))
		return;
	h->rfd = p[0];
	signal(SIGCHLD, SIG_IGN);
	h->pid = clone(mm_holder, (char *)h->stack + MM_HOLDER_STACK,
		       CLONE_VM | SIGCHLD, &h->rfd);
	close(p[0]);
	if (h->pid < 0)
		close(p[1]);
	else
		h->wfd = p[1];
}

/* The exec failed: let the holder go and wait until it is off its stack. */
static void mm_release(struct mm_holder *h)
{
	int pidfd = -1;

	if (h->wfd >= 0) {
		pidfd = (int)syscall(SYS_pidfd_open, h->pid, 0);
		close(h->wfd);
	}
	if (pidfd >= 0) {
		struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

		while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
			;
		close(pidfd);
	} else if (h->wfd >= 0) {
		return;		/* cannot tell when it is gone: keep its stack */
	}
	free(h->stack);
	signal(SIGCHLD, SIG_DFL);
}

static int exec_next(struct kvd *k, const char *how)
{
	char **av = exec_args(k, how);
	struct mm_holder h;
	int err;

	if (!av)
		return -ENOMEM;
	kvd_log("upgrade: executing %s (%u connections)", k->exec_path,
		k->nconns);
	mm_hold(&h);
	execv(k->exec_path, av);
	err = errno;
	mm_release(&h);
	free(av);
	return -err;
}

/*
 * The exec failed: end the handed-over session (this image kept its fds)
 * and let the loop build the next one.
 */
static void reclaim(struct kvd *k)
{
	int dev = kvd_open_device(k), sfd;

	sfd = dev < 0 ? dev : luo_retrieve_session(dev, k->session);
	if (sfd >= 0) {
		luo_session_finish(sfd);
		luo_close(sfd);
	}
	if (dev >= 0)
		luo_close(dev);
	if (sfd < 0)
		kvd_log("upgrade: cannot take the session back: %s",
			strerror(-sfd));
	kvd_keep_reset(k);
}

static int upgrade_luo(struct kvd *k)
{
	char how[128];
	int ret;

	ret = kvd_keep_sync(k) ?: hand_over(k);
	if (ret)
		return ret;
	/* Detached by the handover: this close does nothing. */
	luo_close(k->sfd);
	k->sfd = -1;
	snprintf(how, sizeof(how), "luo:%s", k->session);
	ret = exec_next(k, how);
	kvd_log("upgrade: exec failed (%s): taking the session back",
		strerror(-ret));
	reclaim(k);
	return ret;
}

static int send_fds(int sock, const int *fds, size_t n)
{
	for (size_t i = 0; i < n; i += FDS_PER_MSG) {
		size_t m = n - i < FDS_PER_MSG ? n - i : FDS_PER_MSG;
		char cbuf[CMSG_SPACE(FDS_PER_MSG * sizeof(int))];
		struct iovec iov = { .iov_base = "F", .iov_len = 1 };
		struct msghdr msg = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cbuf,
			.msg_controllen = CMSG_SPACE(m * sizeof(int)),
		};
		struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(m * sizeof(int));
		memcpy(CMSG_DATA(cm), fds + i, m * sizeof(int));
		if (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
			return -errno;
	}
	return 0;
}

/* The floor: fd order data, state, listen, connections; no orchestrator. */
static int upgrade_unix(struct kvd *k)
{
	int *fds = calloc(k->nconns + 3, sizeof(int)), sv[2], st = -1;
	struct kvd_conn *c;
	char how[32];
	size_t n = 3;
	int ret;

	if (!fds || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		free(fds);
		return -ENOMEM;
	}
	ret = state_write(k, &st);
	fds[0] = k->store.fd;
	fds[1] = st;
	fds[2] = k->listen_fd;
	list_for_each_entry(c, &k->conns, link)
		fds[n++] = c->fd;
	ret = ret ?: send_fds(sv[0], fds, n);
	ret = ret ?: (fcntl(sv[1], F_SETFD, 0) ? -errno : 0);
	close(sv[0]);
	if (st >= 0)
		close(st);
	free(fds);
	if (ret) {
		close(sv[1]);
		return ret;
	}
	snprintf(how, sizeof(how), "unix:%d", sv[1]);
	ret = exec_next(k, how);
	close(sv[1]);
	return ret;
}

/**
 * kvd_upgrade() - hand everything over and execute k->exec_path
 * @k: the server; it does not read anything more from here on
 *
 * Returns only when the upgrade failed; the server then carries on.
 *
 * Return: -errno.
 */
int kvd_upgrade(struct kvd *k)
{
	int ret;

	kvd_log("upgrade: start, %u connections, %llu items", k->nconns,
		(unsigned long long)k->store.hdr->items);
	if (k->handoff == KVD_HANDOFF_UNIX)
		ret = upgrade_unix(k);
	else
		ret = upgrade_luo(k);
	restore_cloexec(k);
	kvd_log("upgrade failed: %s; still serving", strerror(-ret));
	return ret;
}
