/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared pieces of the hostile-client tests: a good client's STATUS round
 * trip with a deadline, the fd limit, running a function as another user.
 */
#ifndef HOSTILE_H
#define HOSTILE_H

#include <stdint.h>
#include <sys/types.h>

#include "daemon-harness.h"
#include "wire-client.h"

/* How long a good client may wait for any one answer. */
#define HOSTILE_DEADLINE_MS	10000

/* The nobody/nogroup identity tests act as. */
#define HOSTILE_UID	65534
#define HOSTILE_GID	65534

int hostile_status_rtt(const char *sock, uint64_t *ns);
int hostile_raise_nofile(unsigned int want);
int hostile_as_user(uid_t uid, gid_t gid, int (*fn)(void *ctx), void *ctx);

#endif /* HOSTILE_H */
