/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The wire protocol between libluo and liveupdated (DESIGN.md section 4;
 * specified for clients in any language, with its stability promise, in
 * luo-wire(7): change one, change the other).
 *
 * Transport: AF_UNIX SOCK_SEQPACKET; one message per request and one per
 * reply, in order.  A request carries at most one fd (SCM_RIGHTS) and so
 * does a reply.
 *
 * Connection types:
 *  - a connection to the listening socket starts with LUO_WIRE_OPEN, which
 *    makes it a *device* open (the kernel's open("/dev/liveupdate"); one at
 *    a time, EBUSY otherwise) or a *control* open (luo's requests only);
 *  - a session fd is one end of a socket pair made by the daemon; requests
 *    on it need no handshake.
 *
 * Request:  struct luo_wire_req, then @len argument bytes: the caller's
 *           struct exactly as laid out, starting with its __u32 size.  @len
 *           is min(size, LUO_WIRE_MAX_ARG); when size exceeds
 *           LUO_WIRE_MAX_ARG the client has checked the bytes beyond it are
 *           zero (E2BIG otherwise) and they are not sent.  An @len shorter
 *           than that is treated like a faulting pointer: EFAULT.
 * Reply:    struct luo_wire_rep, then @len bytes to copy back over the
 *           caller's struct (min(size, kernel struct size)), then
 *           @extra_len bytes of payload (LUO_CMD_LIST records).
 *           A new fd (session, retrieved file) travels with SCM_RIGHTS and
 *           the client stores its own fd number into the struct's fd field.
 */
#ifndef LUO_WIRE_H
#define LUO_WIRE_H

#include <stdint.h>

#define LUO_WIRE_VERSION	1

/* Largest argument struct sent; larger sizes are checked by the client. */
#define LUO_WIRE_MAX_ARG	4096
/* Largest reply payload (LUO_LIST_PAGE_RECORDS records and then some). */
#define LUO_WIRE_MAX_EXTRA	32768

/* The handshake request; its type byte is not 0xBA so it is no ioctl. */
#define LUO_WIRE_OPEN		0x4c554f00u

enum luo_wire_mode {
	LUO_WIRE_MODE_DEVICE = 1,	/* open("/dev/liveupdate") */
	LUO_WIRE_MODE_CONTROL = 2,	/* administrative requests only */
};

struct luo_wire_req {
	uint32_t cmd;		/* ioctl request code, or LUO_WIRE_OPEN */
	uint32_t len;		/* argument bytes that follow */
};

struct luo_wire_rep {
	int32_t result;		/* 0 or -errno */
	uint32_t len;		/* copy-back bytes that follow */
	uint32_t extra_len;	/* payload bytes after those */
	uint32_t reserved;
};

/**
 * struct luo_wire_open - argument of LUO_WIRE_OPEN
 * @size:    sizeof(struct luo_wire_open)
 * @mode:    enum luo_wire_mode
 * @version: LUO_WIRE_VERSION; out: the daemon's
 * @reserved: zero
 */
struct luo_wire_open {
	uint32_t size;
	uint32_t mode;
	uint32_t version;
	uint32_t reserved;
};

#define LUO_WIRE_MAX_REQ	(sizeof(struct luo_wire_req) + LUO_WIRE_MAX_ARG)
#define LUO_WIRE_MAX_REP	(sizeof(struct luo_wire_rep) + LUO_WIRE_MAX_ARG + \
				 LUO_WIRE_MAX_EXTRA)

/* Default socket paths (DESIGN.md section 4); LUO_SOCKET overrides. */
#define LUO_SOCKET_ENV		"LUO_SOCKET"
#define LUO_SOCKET_ROOT		"/run/liveupdate/liveupdate.sock"
#define LUO_SOCKET_USER_DIR	"liveupdate"
#define LUO_SOCKET_NAME		"liveupdate.sock"

#endif /* LUO_WIRE_H */
