/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Raw wire messages (luo_wire.h), for tests that break the rules. */
#ifndef WIRE_CLIENT_H
#define WIRE_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "luo_wire.h"

int wc_connect(const char *path);
int wc_send_raw(int sock, const void *buf, size_t len, const int *fds,
		int nfds);
int wc_send(int sock, uint32_t cmd, const void *arg, uint32_t len,
	    const int *fds, int nfds);
int wc_recv(int sock, struct luo_wire_rep *rep, void *arg, size_t arg_cap,
	    int *fd);
int wc_handshake(int sock, uint32_t mode);
int wc_open(const char *path, uint32_t mode);
int wc_call(int sock, uint32_t cmd, void *arg, uint32_t len, int in_fd,
	    int *out_fd);

#endif /* WIRE_CLIENT_H */
