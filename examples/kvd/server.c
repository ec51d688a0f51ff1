// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * kvd's event loop: accept, read, execute, write, with epoll; SIGUSR2 or the
 * control FIFO starts a live update.  Between two turns it rebuilds the
 * outgoing luo session when there is something to rebuild (keep.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kvd.h"

#define READ_CHUNK	(64 * 1024)
#define READ_TURN	(16 * READ_CHUNK)	/* read per turn, at most */
#define OUT_HIGH	KVD_OUT_HIGH	/* stop reading past this much unsent */

static int64_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	return ts.tv_sec;
}

static int watch(struct kvd *k, int op, int fd, uint32_t ev, void *ptr)
{
	struct epoll_event e = { .events = ev, .data.ptr = ptr };

	return epoll_ctl(k->epfd, op, fd, &e) ? -errno : 0;
}

/**
 * kvd_conn_add() - serve a connected socket
 * @k:  the server
 * @fd:   the socket, owned by the connection from now on (closed on failure)
 * @kick: run its buffers at the first turn of the loop (a connection taken
 *        over with input or output pending)
 *
 * Return: the connection, or NULL.
 */
struct kvd_conn *kvd_conn_add(struct kvd *k, int fd, bool kick)
{
	struct kvd_conn *c = calloc(1, sizeof(*c));
	uint32_t ev = EPOLLIN | EPOLLRDHUP | (kick ? EPOLLOUT : 0);

	if (!c || fcntl(fd, F_SETFL, O_NONBLOCK) ||
	    watch(k, EPOLL_CTL_ADD, fd, ev, c)) {
		free(c);
		close(fd);
		return NULL;
	}
	c->fd = fd;
	list_init(&c->unkept);
	list_add_tail(&c->link, &k->conns);
	k->nconns++;
	kvd_keep_conn(k, c);
	return c;
}

/**
 * kvd_conn_close() - forget a connection and close its socket
 * @k: the server
 * @c: the connection
 */
void kvd_conn_close(struct kvd *k, struct kvd_conn *c)
{
	kvd_keep_drop(k, c);
	list_del(&c->link);
	k->nconns--;
	/*
	 * The orchestrator may hold a duplicate of the socket: the epoll
	 * registration lives as long as the open file, not the fd.
	 */
	epoll_ctl(k->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	kvd_buf_free(&c->in);
	kvd_buf_free(&c->out);
	free(c);
}

/*
 * Send what can be sent; EPOLLOUT while something is left, or while
 * commands received wait for the output to go down (@held): the next turn
 * executes them, not just the next bytes the client sends.
 */
static int flush_out(struct kvd *k, struct kvd_conn *c, bool held)
{
	uint32_t ev = EPOLLIN | EPOLLRDHUP;

	while (c->out.len) {
		ssize_t n = send(c->fd, c->out.p, c->out.len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			return -errno;
		if (n < 0)
			break;
		kvd_buf_consume(&c->out, (size_t)n);
	}
	if (c->out.len > OUT_HIGH)
		ev = EPOLLOUT;
	else if (c->out.len || held)
		ev = EPOLLIN | EPOLLOUT;
	return watch(k, EPOLL_CTL_MOD, c->fd, ev, c);
}

/* Execute every complete command received; 1 when the client quit. */
static int execute(struct kvd *k, struct kvd_conn *c)
{
	size_t off = 0, used;
	int64_t now = now_s();
	int r = KVD_DONE;

	while (off < c->in.len && c->out.len <= OUT_HIGH) {
		r = kvd_proto_step(&c->proto, &k->store, c->in.p + off,
				   c->in.len - off, &used, &c->out, now);
		if (r < 0 || r == KVD_MORE)
			break;
		off += used;
		if (r == KVD_QUIT)
			break;
	}
	if (off)
		kvd_buf_consume(&c->in, off);
	return r < 0 ? r : r == KVD_QUIT;
}

/*
 * What the socket has, up to READ_TURN: a client that sends faster than
 * kvd reads cannot make one turn's input grow without end (the rest is
 * read at the next turn, EPOLLIN being level-triggered).
 */
static int conn_read(struct kvd_conn *c)
{
	char buf[READ_CHUNK];
	size_t got = 0;
	ssize_t n;

	while (got < READ_TURN) {
		n = recv(c->fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		if (n == 0)
			return 1;
		if (kvd_buf_put(&c->in, buf, (size_t)n))
			return -ENOMEM;
		if (n < (ssize_t)sizeof(buf))
			return 0;
		got += (size_t)n;
	}
	return 0;
}

static void conn_event(struct kvd *k, struct kvd_conn *c, uint32_t ev)
{
	int eof = 0, r = 0;

	/* Most recently active first: the order of an upgrade's state. */
	list_del(&c->link);
	list_add(&c->link, &k->conns);
	if (ev & EPOLLIN && c->out.len <= OUT_HIGH)
		eof = conn_read(c);
	if (eof >= 0)
		r = execute(k, c);
	/* execute() stopped with input left only for the output's sake. */
	if (eof >= 0 && r >= 0)
		r = flush_out(k, c, c->in.len && c->out.len > OUT_HIGH) ?: r;
	/* A client that half-closed still gets the answers it asked for. */
	if (eof < 0 || r || (eof > 0 && !c->out.len) ||
	    (ev & (EPOLLERR | EPOLLHUP)))
		kvd_conn_close(k, c);
}

static void accept_all(struct kvd *k)
{
	for (;;) {
		int fd = accept4(k->listen_fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0)
			return;
		if (kvd_conn_add(k, fd, false))
			k->store.hdr->stats.total_connections++;
	}
}

static void signal_event(struct kvd *k)
{
	struct signalfd_siginfo si;

	while (read(k->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGUSR2)
			kvd_upgrade(k);
		else
			k->stop = true;
	}
}

/* "kvd upgrade PATH" writes PATH and a newline into the control FIFO. */
static void control_event(struct kvd *k)
{
	char buf[sizeof(k->exec_path)];
	ssize_t n = read(k->ctl_fd, buf, sizeof(buf) - 1);
	char *nl;

	if (n <= 0)
		return;
	buf[n] = '\0';
	nl = strchr(buf, '\n');
	if (nl)
		*nl = '\0';
	if (buf[0])
		snprintf(k->exec_path, sizeof(k->exec_path), "%s", buf);
	kvd_upgrade(k);
}

static int setup(struct kvd *k)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	k->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (k->sigfd < 0)
		return -errno;
	if (fcntl(k->listen_fd, F_SETFL, O_NONBLOCK))
		return -errno;
	return watch(k, EPOLL_CTL_ADD, k->sigfd, EPOLLIN, &k->sigfd) ?:
	       watch(k, EPOLL_CTL_ADD, k->listen_fd, EPOLLIN, &k->listen_fd) ?:
	       (k->ctl_fd >= 0 ? watch(k, EPOLL_CTL_ADD, k->ctl_fd, EPOLLIN,
				       &k->ctl_fd) : 0);
}

/* Tell whoever started us that we serve, and on which port. */
static void ready(struct kvd *k)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	char line[16];
	int n;

	if (k->ready_fd < 0)
		return;
	if (getsockname(k->listen_fd, (struct sockaddr *)&sa, &len))
		sa.sin_port = 0;
	n = snprintf(line, sizeof(line), "%u\n", ntohs(sa.sin_port));
	if (write(k->ready_fd, line, (size_t)n) < 0)
		kvd_log("ready fd: %m");
	close(k->ready_fd);
	k->ready_fd = -1;
}

/**
 * kvd_serve() - run until SIGTERM or SIGINT
 * @k: the server, with its store, listening socket, epoll fd and any
 *     connections taken over already registered
 *
 * Return: 0 or -errno of the setup.
 */
int kvd_serve(struct kvd *k)
{
	struct epoll_event ev[256];
	int ret = setup(k);

	if (ret)
		return ret;
	ready(k);
	while (!k->stop) {
		bool busy = kvd_keep_busy(k);
		int n = epoll_wait(k->epfd, ev, 256, busy ? 0 : -1);

		for (int i = 0; i < n && !k->stop; i++) {
			void *p = ev[i].data.ptr;

			if (p == &k->listen_fd)
				accept_all(k);
			else if (p == &k->sigfd)
				signal_event(k);
			else if (p == &k->ctl_fd)
				control_event(k);
			else
				conn_event(k, p, ev[i].events);
		}
		if (busy && !k->stop)
			kvd_keep_step(k);
	}
	return 0;
}
