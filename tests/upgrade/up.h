/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared pieces of the UPGRADE tests: a daemon holding every kind of
 * state (outgoing, parked, incoming retrieved and not, a retrieved file,
 * a held device, session fds, an idle control connection), a snapshot of
 * it through LIST, STATUS and GET_STATE, and the checks that an UPGRADE,
 * or a failed one, left all of it as it was and working.
 */
#ifndef UP_H
#define UP_H

#include <stddef.h>
#include <stdint.h>

#include "e2e.h"

/**
 * struct up_state - what the clients hold
 * @dev:      the device open (held)
 * @ctl:      an idle control connection
 * @out:      session fd of the outgoing session "out"
 * @in:       session fd of the retrieved incoming session "in-a"
 * @in_file:  the file retrieved from "in-a" (token 1)
 */
struct up_state {
	int dev;
	int ctl;
	int out;
	int in;
	int in_file;
};

/**
 * struct up_snap - what the daemon says about itself
 * @st:     STATUS (flags, counts, update number, pid)
 * @state:  GET_STATE
 * @list:   every LIST record
 * @nr:     their number
 */
struct up_snap {
	struct luo_status st;
	uint32_t state;
	struct luo_list_record list[64];
	size_t nr;
};

/* Every kind of state on the daemon at @sock (after one REBOOT). */
void up_setup(const char *sock, struct up_state *s);
/* The daemon's view of it. */
void up_snap(const char *sock, struct up_snap *snap);
/* @b says the same as @a (the pid is checked by the caller). */
void up_same(const struct up_snap *a, const struct up_snap *b);
/* Every fd of @s works; the parked and unretrieved sessions come back
 * with their data.  Changes the state: call last. */
void up_check_alive(const char *sock, struct up_state *s);
/* UPGRADE over a new control open; luo_upgrade()'s result. */
int up_upgrade(const char *sock, const char *image);

#endif /* UP_H */
