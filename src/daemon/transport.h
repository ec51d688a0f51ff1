/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Connections: the listening socket, device and control opens (the
 * LUO_WIRE_OPEN handshake), session connections, and the requests and
 * replies on them, handed to the core.
 */
#ifndef LUOD_TRANSPORT_H
#define LUOD_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct access;
struct luo_core;
struct luo_handover_info;
struct loop;
struct transport;

struct transport *transport_new(struct luo_core *core, struct loop *loop);
void transport_free(struct transport *t);
int transport_listen(struct transport *t, const char *path, gid_t gid);
int transport_adopt_listener(struct transport *t, int fd);
void transport_set_access(struct transport *t, struct access *a,
			  uint32_t max_pending);
void transport_set_conn_limit(struct transport *t, uint32_t per_user);
int transport_listen_fd(const struct transport *t);
void transport_leave_socket_file(struct transport *t);
const char *transport_path(const struct transport *t);
bool transport_device_held(const struct transport *t);
int transport_current(const struct transport *t, uint32_t *size);
int transport_adopt_reply(struct transport *t, int fd, int result,
			  const void *arg, uint32_t len);

/* conn_handover.c: connections across a REBOOT's exec */
int transport_save(struct transport *t, void **blob, size_t *len);
bool transport_busy(const struct transport *t);
int transport_inherit(struct transport *t, bool on);
int transport_check_conns(struct transport *t,
			  const struct luo_handover_info *info, bool restore,
			  char *why, size_t why_len);
int transport_adopt_conns(struct transport *t,
			  const struct luo_handover_info *info, bool restore,
			  int result, const void *arg, uint32_t len);

int transport_check_conns_recover(struct transport *t,
				  const struct luo_handover_info *info,
				  char *why, size_t why_len);

/* What became of a session whose connection a recovery dropped. */
enum transport_orphan {
	TRANSPORT_ORPHAN_NONE,
	TRANSPORT_ORPHAN_RELEASE,	/* closed, as by its client */
	TRANSPORT_ORPHAN_ABANDON,	/* its fd never reached its caller */
};

int transport_adopt_all(struct transport *t,
			const struct luo_handover_info *info,
			uint8_t *orphans, unsigned int *dropped);

/**
 * struct transport_reply_ops - the records' part in a reply (records.c)
 * @sent:      the pending reply of connection @conn, which the committed
 *             records hold, is being sent: from now on a new engine
 *             counts it as sent; @conn -1: it was not sent after all
 * @killpoint: a testing aid: die at this step if asked (killpoint.c)
 */
struct transport_reply_ops {
	void (*sent)(void *ctx, int conn);
	void (*killpoint)(void *ctx, const char *step);
};

/*
 * conn_slots.c, conn_handover.c: each connection as a slot of the records
 * a vault keeps (records.c): a fixed-size record of TRANSPORT_CONN_SLOT
 * bytes, its pending reply inline.  One whose pending reply does not fit
 * is recorded in the handover instead (transport_save_big()).
 */
#define TRANSPORT_CONN_SLOT	496

/**
 * struct transport_conn_gone - a connection closed since the last commit
 * @slot: its records slot
 * @fds:  the socket and pending fd its slot named (-1: none)
 */
struct transport_conn_gone {
	int32_t slot;
	int fds[2];
};

/**
 * struct transport_conn_change - a connection to record again
 * @old_slot: its slot so far, or -1
 * @old_fds:  the fds its slot named so far (-1: none)
 * @fds:      the fds its new slot names (-1: none)
 * @rec:      its new slot's record; @len 0: none, it is recorded in the
 *            handover (transport_save_big())
 * @len:      bytes of @rec used
 */
struct transport_conn_change {
	int32_t old_slot;
	int old_fds[2];
	int fds[2];
	uint8_t rec[TRANSPORT_CONN_SLOT];
	size_t len;
};

/**
 * struct transport_records_ops - what transport_records_changes() reports
 * @gone:    a connection that closed, every one before any @changed
 * @changed: a connection to record; returns its new slot (>= 0), -1 if
 *           it has none (@len 0), or -errno
 */
struct transport_records_ops {
	void (*gone)(void *ctx, const struct transport_conn_gone *g);
	int (*changed)(void *ctx, const struct transport_conn_change *c);
};

void transport_track_changes(struct transport *t);
int transport_records_changes(struct transport *t, bool all,
			      const struct transport_records_ops *ops,
			      void *ctx);
int transport_save_big(struct transport *t, void **blob, size_t *len);
int transport_conns_assemble(const uint8_t *slots, size_t n,
			     const void *big, size_t big_len,
			     int (*hidx)(void *ctx, uint64_t rid), void *ctx,
			     void **blob, size_t *len);

/* conn_records.c: the records a vault keeps (liveupdated(8)) */
void transport_set_records(struct transport *t, void (*commit)(void *ctx),
			   void *ctx, volatile int32_t *inflight);
void transport_set_reply_ops(struct transport *t,
			     const struct transport_reply_ops *ops, void *ctx);
void transport_killpoint(struct transport *t, const char *step);
void transport_mark_dirty(struct transport *t);
void transport_commit(struct transport *t);
int transport_for_each_fd(const struct transport *t,
			  int (*fn)(void *ctx, int fd), void *ctx);
int transport_for_each_big_fd(const struct transport *t,
			      int (*fn)(void *ctx, int fd), void *ctx);
void transport_answer_inflight(struct transport *t, int fd, int sent,
			       int err);

#endif /* LUOD_TRANSPORT_H */
