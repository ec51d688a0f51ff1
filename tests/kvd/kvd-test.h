/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Running kvd in a test: start it, talk to it, stop it. */
#ifndef KVD_TEST_H
#define KVD_TEST_H

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

/* Start $KVD with @luo_socket (or none); skips the test if it cannot. */
void kt_start(struct kt_kvd *k, const char *luo_socket);
/* SIGTERM and reap; returns the exit code. */
int kt_stop(struct kt_kvd *k);
/* A connection to it. */
int kt_connect(const struct kt_kvd *k);
/* Send @s whole. */
void kt_send(int fd, const char *s);
/* Read exactly strlen(@want) bytes; they must be @want. */
void kt_expect(int fd, const char *want);

#endif /* KVD_TEST_H */
