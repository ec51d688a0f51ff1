/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared pieces of the end-to-end tests: a daemon, memfds of known data. */
#ifndef E2E_H
#define E2E_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <luo/libluo.h>

#include "daemon-harness.h"

/* A memfd of @size bytes whose every page starts with a stamp of @seed and
 * its index, and ends with the stamp's complement; position @pos. */
int e2e_memfd(size_t size, uint64_t seed, off_t pos);
/* True if @fd holds what e2e_memfd(size, seed, ...) wrote. */
int e2e_memfd_ok(int fd, size_t size, uint64_t seed);

/* The daemon's STATUS over a control open. */
void e2e_status(const char *sock, struct luo_status *st);
/* The daemon's open fds, counted while a control connection that has just
 * had an answer is open, once no close is under way in the daemon's worker
 * threads (LUO_STATUS_WORKING): every close made before the call is done. */
int e2e_daemon_fds(const struct dh_daemon *d);
/* Reboot over a control open; returns luo_reboot()'s result. */
int e2e_reboot(const char *sock, uint64_t *update);

#endif /* E2E_H */
