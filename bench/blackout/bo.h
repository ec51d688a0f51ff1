/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * blackout-probe: the client side of the blackout benchmark (blackout.sh).
 * Every subcommand talks the memcached text protocol to 127.0.0.1:PORT.
 */
#ifndef BO_H
#define BO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define BO_PROBE_KEY	"probe"
#define BO_PROBE_VALUE	"PROBE-42"

/* net.c */
int bo_connect(int port);
int bo_connect_retry(int port, double limit_s);
int bo_writev_all(int fd, struct iovec *iov, int n);
int bo_send_str(int fd, const char *s);
ssize_t bo_read_reply(int fd, char *buf, size_t size, const char *end);
double bo_now(void);

/* the subcommands */
int bo_probe(int argc, char **argv);
int bo_fill(int argc, char **argv);
int bo_stats(int argc, char **argv);
int bo_hold(int argc, char **argv);
int bo_next_second(int argc, char **argv);

#endif /* BO_H */
