/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kvd: a memcached-protocol key-value server whose dataset lives in a memfd
 * and which live-updates itself to a new binary without dropping a
 * connection: its memfds, listening socket and client connections go into
 * a luo session that is handed over (LUO_IOCTL_HANDOVER) to the new image.
 */
#ifndef KVD_H
#define KVD_H

#include <stdbool.h>
#include <stdint.h>

#include "list.h"
#include "proto.h"
#include "store.h"

/**
 * struct kvd_conn - one client connection
 * @link: in kvd.conns
 * @fd:   the socket (owned)
 * @in:   received bytes not yet executed
 * @out:  answers not yet sent
 */
struct kvd_conn {
	struct list_head link;
	int fd;
	struct kvd_buf in;
	struct kvd_buf out;
};

enum kvd_handoff {
	KVD_HANDOFF_LUO,	/* a luo session, handed over */
	KVD_HANDOFF_UNIX,	/* SCM_RIGHTS over an inherited socket pair */
};

/**
 * struct kvd - the server
 * @store:     the dataset
 * @listen_fd: the listening socket
 * @epfd:      epoll
 * @sigfd:     signalfd of SIGUSR2, SIGTERM, SIGINT
 * @ctl_fd:    the control FIFO's read end ("kvd upgrade" writes to it), or -1
 * @conns:     struct kvd_conn
 * @nconns:    entries of @conns
 * @argv:      the command line, to re-execute with
 * @exec_path: the binary of the next upgrade
 * @session:   the luo session name
 * @socket:    liveupdated's socket, or NULL for the default
 * @handoff:   how an upgrade carries the fds
 * @ready_fd:  written and closed once serving, or -1
 * @stop:      leave the loop
 */
struct kvd {
	struct kvd_store store;
	int listen_fd;
	int epfd;
	int sigfd;
	int ctl_fd;
	struct list_head conns;
	uint32_t nconns;
	char **argv;
	char exec_path[4096];
	const char *session;
	const char *socket;
	enum kvd_handoff handoff;
	int ready_fd;
	bool stop;
};

/* server.c */
int kvd_serve(struct kvd *k);
struct kvd_conn *kvd_conn_add(struct kvd *k, int fd, bool kick);
void kvd_conn_close(struct kvd *k, struct kvd_conn *c);

/* handoff.c */
int kvd_upgrade(struct kvd *k);
int kvd_open_device(struct kvd *k);

/* takeover.c */
int kvd_takeover(struct kvd *k, const char *how);
void kvd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* KVD_H */
