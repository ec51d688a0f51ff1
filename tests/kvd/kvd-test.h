/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Running kvd in a test: start it, talk to it, stop it. */
#ifndef KVD_TEST_H
#define KVD_TEST_H

#include <stdbool.h>
#include <sys/types.h>

/**
 * struct kt_kvd - one kvd under test
 * @pid:  its pid
 * @port: its TCP port on 127.0.0.1
 * @ctl:  its control FIFO
 */
struct kt_kvd {
	pid_t pid;
	int port;
	char ctl[128];
};

/**
 * struct kt_args - how to start kvd
 * @luo_socket: liveupdated's socket, or NULL for none
 * @port:       its TCP port on 127.0.0.1, 0 for any free one
 * @handoff:    "luo" (the default when NULL) or "unix"
 * @memory_mib: its dataset, 16 MiB when 0
 * @must_start: fail the test if kvd does not start (else it is skipped)
 */
struct kt_args {
	const char *luo_socket;
	int port;
	const char *handoff;
	unsigned int memory_mib;
	bool must_start;
};

/* Start $KVD with @luo_socket (or none); skips the test if it cannot. */
void kt_start(struct kt_kvd *k, const char *luo_socket);
/* Start $KVD as @a says. */
void kt_start_with(struct kt_kvd *k, const struct kt_args *a);
/* SIGTERM and reap; returns the exit code. */
int kt_stop(struct kt_kvd *k);
/* A connection to it. */
int kt_connect(const struct kt_kvd *k);
/* Send @s whole. */
void kt_send(int fd, const char *s);
/* Read exactly strlen(@want) bytes; they must be @want. */
void kt_expect(int fd, const char *want);

#endif /* KVD_TEST_H */
