/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The stall tests (issue 8 item 9): a client attacks with a file the
 * daemon must not block on, while another client measures STATUS round
 * trips, each of which must stay under 10 ms.
 */
#ifndef STALL_H
#define STALL_H

#include <stdint.h>

#include "daemon-harness.h"

/* STATUS round trips the good client measures while an attack runs. */
#define STALL_PROBES		20

uint64_t stall_budget_ns(void);
unsigned int stall_scale(void);
int stall_control(const char *sock);
void stall_probe(int ctl, const char *attack);
int stall_reply(int sock, unsigned int ms, void *arg, uint32_t len, int *fd);
void stall_sigterm(struct dh_daemon *d, const char *attack);
int stall_lingering_socket(int *peer);

#endif /* STALL_H */
