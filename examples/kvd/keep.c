// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * kvd's outgoing luo session, kept current for its whole life.  PRESERVE_FD
 * is the heavyweight step, done while the workload still runs (SPEC.md
 * 4.1): the dataset memfd and the listening socket go in at start-up, each
 * connection when it is accepted.  A closed connection comes out again with
 * LUO_SESSION_UNPRESERVE_FD (else the orchestrator's duplicate would keep
 * the TCP connection open), a few turns of the event loop later, so that
 * many clients leaving at once do not stall the others; an upgrade leaves
 * the ones not taken out yet to the successor's FINISH, which drops every
 * file it did not retrieve.  An upgrade then preserves only the small state
 * memfd, hands the session over and executes: a constant number of round
 * trips to liveupdated, however many connections there are.
 *
 * After a take-over, or an exec that failed, the session is rebuilt off the
 * critical path, one request per turn of the event loop: the connections
 * still in the incoming session are retrieved (most recently active first),
 * the incoming session is finished (its fds are EBUSY until then), and a
 * new outgoing session gets the dataset, the listener and every connection.
 * An upgrade that comes before that is done first finishes it
 * (kvd_keep_sync()).  A socket no handler takes (ENOENT) is not an error:
 * it crosses the exec as an inherited fd.
 *
 * An UPGRADE of liveupdated itself changes nothing here: the session fd,
 * its files and the device keep working across it, so nothing is rebuilt
 * (tests/kvd/test-luo-upgrade.c).  Only a REBOOT of liveupdated (the kexec
 * stand-in) ends the session fd, as a kexec ends the process holding it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <luo/libluo.h>
#include <luo/luo-ext.h>

#include "kvd.h"

/*
 * Requests of the rebuild per turn of the event loop.  One per turn keeps a
 * client that is in the middle of a conversation served between two round
 * trips.  Measured with bench/blackout (median of 5, 2 busy CPUs): with
 * 1,000 and 5,000 idle connections the probe's blackout was 74 and 234 ms
 * when every connection was retrieved and preserved in one tight loop right
 * after serving again (-DKVD_KEEP_BATCH=100000), 5-8 and 28-55 ms at one
 * per turn, against the floor's 4-11 and 16-31 ms.
 */
#ifndef KVD_KEEP_BATCH
#define KVD_KEEP_BATCH	1
#endif

/* Preserve @fd as @token; ENOENT (no handler) makes it an inherited fd. */
static int keep_fd(struct kvd *k, int fd, uint64_t token, enum kvd_keep *keep)
{
	int ret = luo_session_preserve_fd(k->sfd, fd, token);

	if (ret == -ENOENT) {
		*keep = KVD_KEEP_INHERIT;
		return 0;
	}
	if (!ret)
		*keep = KVD_KEEP_KEPT;
	return ret;
}

static int keep_conn(struct kvd *k, struct kvd_conn *c)
{
	int ret = keep_fd(k, c->fd, k->next_token, &c->keep);

	if (ret)
		return ret;
	c->token = k->next_token++;
	list_del(&c->unkept);
	return 0;
}

static int open_session(struct kvd *k)
{
	int dev = kvd_open_device(k), sfd;

	if (dev < 0)
		return dev;
	sfd = luo_create_session(dev, k->session);
	luo_close(dev);
	if (sfd < 0)
		return sfd;
	k->sfd = sfd;
	k->next_token = KVD_TOKEN_CONN0;
	return 0;
}

static int unpreserve(struct kvd *k, uint64_t token)
{
	struct luo_session_unpreserve_fd up = {
		.size = sizeof(up),
		.token = token,
	};
	int ret = luo_ioctl(k->sfd, LUO_SESSION_UNPRESERVE_FD, &up);

	if (ret)
		kvd_log("luo: cannot unpreserve connection %llu: %s",
			(unsigned long long)token, strerror(-ret));
	return ret;
}

/* Remember @token for a later UNPRESERVE_FD; at once if out of memory. */
static void drop_later(struct kvd *k, uint64_t token)
{
	if (k->ndrops == k->drops_cap) {
		size_t cap = k->drops_cap ? 2 * k->drops_cap : 64;
		uint64_t *d = realloc(k->drops, cap * sizeof(*d));

		if (!d) {
			unpreserve(k, token);
			return;
		}
		k->drops = d;
		k->drops_cap = cap;
	}
	k->drops[k->ndrops++] = token;
}

/* One request of the rebuild: 1 done, 0 nothing left, or -errno. */
static int keep_one(struct kvd *k)
{
	struct kvd_conn *c;
	int ret;

	if (k->adopt.sfd >= 0) {
		ret = k->adopt.left ? kvd_adopt_next(k) : kvd_adopt_end(k);
		return ret ?: 1;
	}
	if (k->keep_error)
		return 0;
	if (k->sfd < 0)
		return open_session(k) ?: 1;
	if (k->data_keep == KVD_KEEP_WAITING)
		return keep_fd(k, k->store.fd, KVD_TOKEN_DATA,
			       &k->data_keep) ?: 1;
	if (k->listen_keep == KVD_KEEP_WAITING)
		return keep_fd(k, k->listen_fd, KVD_TOKEN_LISTEN,
			       &k->listen_keep) ?: 1;
	if (list_empty(&k->unkept))
		return 0;
	c = list_entry(k->unkept.next, struct kvd_conn, unkept);
	return keep_conn(k, c) ?: 1;
}

/* A closed connection out of the session: 1 done, 0 none left. */
static int drop_one(struct kvd *k)
{
	if (!k->ndrops || k->sfd < 0)
		return 0;
	/* A failure is logged: the FINISH after the next upgrade drops it. */
	unpreserve(k, k->drops[--k->ndrops]);
	return 1;
}

static void keep_failed(struct kvd *k, int err)
{
	k->keep_error = err;
	kvd_log("luo: session %s not kept current: %s (the upgrade tries again)",
		k->session, strerror(-err));
}

/* Say once that the session is complete: the benchmark waits for it. */
static void keep_done(struct kvd *k)
{
	if (kvd_keep_busy(k) || k->keep_ready || k->keep_error)
		return;
	k->keep_ready = true;
	kvd_log("luo: session %s ready: %u connections preserved",
		k->session, k->nconns);
}

/**
 * kvd_keep_init() - no outgoing session yet, nothing preserved
 * @k: the server, before it takes anything over or starts
 */
void kvd_keep_init(struct kvd *k)
{
	list_init(&k->unkept);
	k->sfd = -1;
	k->adopt.sfd = -1;
	k->data_keep = KVD_KEEP_WAITING;
	k->listen_keep = KVD_KEEP_WAITING;
}

/**
 * kvd_keep_conn() - a new connection: preserve it now if the session is up
 * @k: the server
 * @c: the connection, just added; otherwise queued for the rebuild
 */
void kvd_keep_conn(struct kvd *k, struct kvd_conn *c)
{
	int ret;

	c->keep = KVD_KEEP_WAITING;
	if (k->handoff != KVD_HANDOFF_LUO)
		return;
	list_add_tail(&c->unkept, &k->unkept);
	if (k->sfd < 0 || k->keep_error)
		return;
	ret = keep_conn(k, c);
	if (ret)
		keep_failed(k, ret);
}

/**
 * kvd_keep_drop() - a connection closes: take it out of the session soon
 * @k: the server
 * @c: the connection
 */
void kvd_keep_drop(struct kvd *k, struct kvd_conn *c)
{
	if (!list_empty(&c->unkept))
		list_del(&c->unkept);
	if (c->keep == KVD_KEEP_KEPT && k->sfd >= 0)
		drop_later(k, c->token);
	c->keep = KVD_KEEP_WAITING;
}

/**
 * kvd_keep_busy() - whether the rebuild has work left
 * @k: the server
 *
 * Return: true while the event loop should call kvd_keep_step() instead of
 * sleeping.
 */
bool kvd_keep_busy(const struct kvd *k)
{
	if (k->adopt.sfd >= 0 || (k->ndrops && k->sfd >= 0))
		return true;
	if (k->handoff != KVD_HANDOFF_LUO || k->keep_error)
		return false;
	return k->sfd < 0 || k->data_keep == KVD_KEEP_WAITING ||
	       k->listen_keep == KVD_KEEP_WAITING || !list_empty(&k->unkept);
}

/**
 * kvd_keep_step() - a turn of the rebuild, between two turns of the loop
 * @k: the server
 *
 * Logs "luo: session NAME ready" once everything is preserved.  A failure
 * stops the rebuild until the next upgrade, which tries again.
 */
void kvd_keep_step(struct kvd *k)
{
	int ret = 0;

	for (int i = 0; i < KVD_KEEP_BATCH && kvd_keep_busy(k); i++) {
		ret = drop_one(k) ?: keep_one(k);
		if (ret < 0) {
			keep_failed(k, ret);
			return;
		}
	}
	keep_done(k);
}

/**
 * kvd_keep_sync() - finish the rebuild now
 * @k: the server, in luo mode
 *
 * Return: 0 once every fd is preserved (or inherited), or -errno.
 */
int kvd_keep_sync(struct kvd *k)
{
	int ret;

	k->keep_error = 0;
	while ((ret = keep_one(k)) > 0)
		;
	if (ret)
		keep_failed(k, ret);
	else
		keep_done(k);
	return ret;
}

/**
 * kvd_keep_reset() - the session is gone (an exec failed): build another
 * @k: the server, with k->sfd closed already
 */
void kvd_keep_reset(struct kvd *k)
{
	struct kvd_conn *c;

	k->sfd = -1;
	k->ndrops = 0;
	k->data_keep = KVD_KEEP_WAITING;
	k->listen_keep = KVD_KEEP_WAITING;
	k->keep_error = 0;
	k->keep_ready = false;
	list_for_each_entry(c, &k->conns, link) {
		if (list_empty(&c->unkept))
			list_add_tail(&c->unkept, &k->unkept);
		c->keep = KVD_KEEP_WAITING;
	}
}

/**
 * kvd_keep_free() - at exit: close the outgoing session, which takes every
 * connection out of it at once, and finish an incoming one
 * @k: the server, connections not closed yet
 */
void kvd_keep_free(struct kvd *k)
{
	if (k->adopt.sfd >= 0)
		kvd_adopt_end(k);
	if (k->sfd >= 0)
		luo_close(k->sfd);
	k->sfd = -1;
	free(k->drops);
	k->drops = NULL;
	k->ndrops = 0;
	k->drops_cap = 0;
}
