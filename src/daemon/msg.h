/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One wire message in, one wire message out (luo_wire.h): framing checks,
 * fd passing.  Nothing here knows connection types or the core.
 */
#ifndef LUOD_MSG_H
#define LUOD_MSG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "luo_wire.h"

/**
 * struct msg_req - a received request
 * @hdr:   command and argument length
 * @arg:   the argument bytes (the core updates them in place)
 * @fd:    the attached fd (O_CLOEXEC), or -1; owned by the receiver
 * @error: 0, or -EINVAL/-EMSGSIZE for a malformed message, whose fds are
 *         already closed
 */
struct msg_req {
	struct luo_wire_req hdr;
	uint8_t arg[LUO_WIRE_MAX_ARG] __attribute__((aligned(8)));
	int fd;
	int error;
};

/**
 * struct msg_buf - a reply that could not be sent yet, flattened
 * @data: the message bytes
 * @len:  their number
 * @fd:   the fd to send with them, or -1; owned by the buffer
 */
struct msg_buf {
	void *data;
	size_t len;
	int fd;
};

int msg_recv(int sock, struct msg_req *req);
int msg_send(int sock, const struct iovec *iov, int niov, int fd);
int msg_buf_fill(struct msg_buf *buf, const struct iovec *iov, int niov,
		 int fd);
int msg_buf_send(int sock, struct msg_buf *buf);
void msg_buf_clear(struct msg_buf *buf);

#endif /* LUOD_MSG_H */
