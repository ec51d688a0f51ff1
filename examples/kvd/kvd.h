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

/*
 * Where an fd stands in the outgoing session, which kvd keeps current for
 * its whole life so that an upgrade has only the state memfd to preserve.
 */
enum kvd_keep {
	KVD_KEEP_WAITING,	/* not preserved yet (kvd.unkept for a connection) */
	KVD_KEEP_KEPT,		/* preserved under its token */
	KVD_KEEP_INHERIT,	/* no handler (ENOENT): crosses the exec as an fd */
};

/**
 * struct kvd_conn - one client connection
 * @link:  in kvd.conns, most recently active first
 * @unkept: in kvd.unkept while @keep is KVD_KEEP_WAITING (else empty)
 * @fd:    the socket (owned)
 * @keep:  where it stands in the outgoing session
 * @token: its token there, when KVD_KEEP_KEPT
 * @in:    received bytes not yet executed
 * @out:   answers not yet sent
 * @proto: its place in a get line executed as it arrives
 */
struct kvd_conn {
	struct list_head link;
	struct list_head unkept;
	int fd;
	enum kvd_keep keep;
	uint64_t token;
	struct kvd_buf in;
	struct kvd_buf out;
	struct kvd_proto proto;
};

/**
 * struct kvd_adopt - connections still in the incoming session
 * @sfd:  the retrieved incoming session, or -1 once finished
 * @map:  the state memfd, mapped, or NULL
 * @size: bytes of @map
 * @off:  the next connection record in @map
 * @left: records not taken yet
 */
struct kvd_adopt {
	int sfd;
	char *map;
	size_t size;
	size_t off;
	uint32_t left;
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
 * @sfd:       the outgoing luo session, or -1
 * @next_token: the token of the next connection preserved into @sfd
 * @data_keep: the dataset memfd in @sfd
 * @listen_keep: the listening socket in @sfd
 * @unkept:     struct kvd_conn not preserved yet
 * @drops:     tokens of closed connections still in @sfd
 * @ndrops:    entries of @drops
 * @drops_cap: room in @drops
 * @adopt:     the previous image's session, while connections are retrieved
 * @keep_error: why the session could not be kept current (0: it can); the
 *             upgrade tries again
 * @keep_ready: "session ready" was logged since the last change
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
	int sfd;
	uint64_t next_token;
	enum kvd_keep data_keep;
	enum kvd_keep listen_keep;
	struct list_head unkept;
	uint64_t *drops;
	size_t ndrops;
	size_t drops_cap;
	struct kvd_adopt adopt;
	int keep_error;
	bool keep_ready;
};

/* Tokens in the session: the state memfd is preserved only at upgrade. */
#define KVD_TOKEN_DATA		1
#define KVD_TOKEN_STATE		2
#define KVD_TOKEN_LISTEN	3
#define KVD_TOKEN_CONN0		16

/* server.c */
int kvd_serve(struct kvd *k);
struct kvd_conn *kvd_conn_add(struct kvd *k, int fd, bool kick);
void kvd_conn_close(struct kvd *k, struct kvd_conn *c);

/* handoff.c */
int kvd_upgrade(struct kvd *k);
int kvd_open_device(struct kvd *k);

/* keep.c */
void kvd_keep_init(struct kvd *k);
void kvd_keep_conn(struct kvd *k, struct kvd_conn *c);
void kvd_keep_drop(struct kvd *k, struct kvd_conn *c);
bool kvd_keep_busy(const struct kvd *k);
void kvd_keep_step(struct kvd *k);
int kvd_keep_sync(struct kvd *k);
void kvd_keep_reset(struct kvd *k);
void kvd_keep_free(struct kvd *k);

/* takeover.c */
int kvd_takeover(struct kvd *k, const char *how);
/*
 * The state memfd an upgrading kvd writes (handoff.c) and its successor
 * reads (takeover.c): a header, then one record per connection.
 */
#define STATE_MAGIC	0x7473766b64ULL	/* "dkvst" */

/**
 * struct state_hdr - the state memfd's header
 * @magic:  STATE_MAGIC
 * @nconns: connection records that follow
 * @listen: the listening socket: an inherited fd, or -1 (KVD_TOKEN_LISTEN)
 */
struct state_hdr {
	uint64_t magic;
	uint32_t nconns;
	int32_t listen;
};

/**
 * struct state_conn - one connection, followed by its @inlen input bytes
 * and @outlen output bytes, padded to 8; most recently active first
 * @token:  its token in the session
 * @fd:     an inherited fd, or -1 (retrieve @token)
 * @inlen:  unexecuted input
 * @outlen: unsent output
 * @proto:  its struct kvd_proto flags: the input may go on with a get
 *          line's keys (0 from a kvd that wrote no flags here)
 */
struct state_conn {
	uint64_t token;
	int32_t fd;
	uint32_t inlen;
	uint32_t outlen;
	uint32_t proto;
};

int kvd_adopt_next(struct kvd *k);
int kvd_adopt_end(struct kvd *k);
void kvd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* KVD_H */
