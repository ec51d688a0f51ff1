/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared pieces of the fault-injection tests: a daemon started with
 * --fault-injection, memfds whose name carries a fault plan (fault-v1, see
 * liveupdated(8)), and snapshots of LIST to compare.
 */
#ifndef FT_H
#define FT_H

#include <stddef.h>
#include <stdint.h>

#include "e2e.h"

#define FT_MAX_RECORDS	256
#define FT_SIZE		8192u	/* bytes in an ft_memfd() */

/* Everything LIST says, in order. */
struct ft_list {
	size_t n;
	struct luo_list_record rec[FT_MAX_RECORDS];
};

/* Start @d with --fault-injection and @more (NULL-terminated, or NULL). */
void ft_start(struct dh_daemon *d, const char *const *more);
/* A memfd named @name of FT_SIZE bytes stamped with @seed, at position
 * @seed % 1000. */
int ft_memfd(const char *name, uint64_t seed);
/* True if @fd is what ft_memfd(..., @seed) made, position included. */
int ft_memfd_ok(int fd, uint64_t seed);
/* LIST over a control open. */
void ft_list(const char *sock, struct ft_list *l);
/* The record of session @name in @l, or NULL. */
const struct luo_list_record *ft_session(const struct ft_list *l,
					 const char *name);
/* Reap @pid; return its exit code (dh_exit_code()). */
int ft_reap(pid_t pid);

#endif /* FT_H */
