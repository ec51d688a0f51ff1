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
void transport_answer_inflight(struct transport *t, int fd, int sent,
			       int err);

#endif /* LUOD_TRANSPORT_H */
