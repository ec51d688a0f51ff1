/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One wire message in, one wire message out (luo_wire.h): framing checks,
 * fd passing and the open handshake.  What each connection type may send
 * is the core's dispatch table's to say.
 */
#ifndef LUOD_MSG_H
#define LUOD_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "luo_wire.h"

enum conn_type {
	CONN_NEW,	/* waiting for LUO_WIRE_OPEN */
	CONN_DEVICE,	/* open("/dev/liveupdate") */
	CONN_CONTROL,	/* luo's requests only */
	CONN_SESSION,	/* the daemon's end of a session fd */
};

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

/**
 * struct msg_decoded - a request as the transport's rules read it
 * @open:          CONN_NEW: the handshake's argument, checked
 * @makes_session: CREATE or RETRIEVE_SESSION on a device: a session fd is
 *                 to be made for the reply
 */
struct msg_decoded {
	struct luo_wire_open open;
	bool makes_session;
};

int msg_recv(int sock, struct msg_req *req);
int msg_frame(struct msg_req *req, size_t n, int msg_flags, int *fds,
	      int nfds);
int msg_decode(enum conn_type type, const struct msg_req *req,
	       struct msg_decoded *d);
int msg_send(int sock, const struct iovec *iov, int niov, int fd);
int msg_buf_fill(struct msg_buf *buf, const struct iovec *iov, int niov,
		 int fd);
int msg_buf_send(int sock, struct msg_buf *buf);
void msg_buf_clear(struct msg_buf *buf);
void msg_close_socket(int sock);

#endif /* LUOD_MSG_H */
