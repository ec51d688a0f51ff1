/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The Live Update Orchestrator ABI (/dev/liveupdate), generation G4 with
 * GET_NAME, as implemented by luo.  Written from the behaviour reference in
 * SPEC.md section 1; every size and offset is checked at compile time below.
 *
 * luo's copy of the kernel's <linux/liveupdate.h>, installed as
 * <luo/linux-liveupdate.h>.  It has the kernel's include guard on purpose:
 * whichever of the two a program includes first is the one it gets, and the
 * other is then empty, so the two never clash.  Programs include
 * <luo/liveupdate.h> (or <luo/libluo.h>), which picks the kernel's header
 * when it is new enough and this one otherwise.
 *
 * All request codes are _IO(type, nr): direction and size bits are zero even
 * though every command takes a pointer to a size-prefixed struct.
 */
#ifndef _UAPI_LIVEUPDATE_H
#define _UAPI_LIVEUPDATE_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define LIVEUPDATE_IOCTL_TYPE		0xBA

/* Longest session name, including the terminating NUL. */
#define LIVEUPDATE_SESSION_NAME_LENGTH	64

/* Commands on the device (/dev/liveupdate). */
enum {
	LIVEUPDATE_CMD_BASE = 0x00,
	LIVEUPDATE_CMD_CREATE_SESSION = LIVEUPDATE_CMD_BASE,
	LIVEUPDATE_CMD_RETRIEVE_SESSION = 0x01,
};

/* Commands on a session fd. */
enum {
	LIVEUPDATE_CMD_SESSION_BASE = 0x40,
	LIVEUPDATE_CMD_SESSION_PRESERVE_FD = LIVEUPDATE_CMD_SESSION_BASE,
	LIVEUPDATE_CMD_SESSION_RETRIEVE_FD = 0x41,
	LIVEUPDATE_CMD_SESSION_FINISH = 0x42,
	LIVEUPDATE_CMD_SESSION_GET_NAME = 0x43,
};

/**
 * struct liveupdate_ioctl_create_session - LIVEUPDATE_IOCTL_CREATE_SESSION
 * @size: sizeof(struct liveupdate_ioctl_create_session) or more
 * @fd:   out: the new session fd (O_CLOEXEC)
 * @name: in: NUL-terminated session name, 1 to 63 characters
 *
 * Creates an outgoing session.  EEXIST if an outgoing session of that name
 * exists, EINVAL for an empty or unterminated name.
 */
struct liveupdate_ioctl_create_session {
	__u32 size;
	__s32 fd;
	__u8 name[LIVEUPDATE_SESSION_NAME_LENGTH];
};

#define LIVEUPDATE_IOCTL_CREATE_SESSION \
	_IO(LIVEUPDATE_IOCTL_TYPE, LIVEUPDATE_CMD_CREATE_SESSION)

/**
 * struct liveupdate_ioctl_retrieve_session - LIVEUPDATE_IOCTL_RETRIEVE_SESSION
 * @size: sizeof(struct liveupdate_ioctl_retrieve_session) or more
 * @fd:   out: the session fd (O_CLOEXEC)
 * @name: in: name of an incoming session
 *
 * ENOENT if no incoming session has that name, EINVAL if it was retrieved.
 */
struct liveupdate_ioctl_retrieve_session {
	__u32 size;
	__s32 fd;
	__u8 name[LIVEUPDATE_SESSION_NAME_LENGTH];
};

#define LIVEUPDATE_IOCTL_RETRIEVE_SESSION \
	_IO(LIVEUPDATE_IOCTL_TYPE, LIVEUPDATE_CMD_RETRIEVE_SESSION)

/**
 * struct liveupdate_session_preserve_fd - LIVEUPDATE_SESSION_PRESERVE_FD
 * @size:  sizeof(struct liveupdate_session_preserve_fd) or more
 * @fd:    in: the fd to preserve
 * @token: in: caller's token, unique within the session
 *
 * Outgoing sessions only.
 */
struct liveupdate_session_preserve_fd {
	__u32 size;
	__s32 fd;
	__aligned_u64 token;
};

#define LIVEUPDATE_SESSION_PRESERVE_FD \
	_IO(LIVEUPDATE_IOCTL_TYPE, LIVEUPDATE_CMD_SESSION_PRESERVE_FD)

/**
 * struct liveupdate_session_retrieve_fd - LIVEUPDATE_SESSION_RETRIEVE_FD
 * @size:  sizeof(struct liveupdate_session_retrieve_fd) or more
 * @fd:    out: a new fd (O_CLOEXEC) for the preserved file
 * @token: in: the token it was preserved under
 *
 * Incoming sessions only.
 */
struct liveupdate_session_retrieve_fd {
	__u32 size;
	__s32 fd;
	__aligned_u64 token;
};

#define LIVEUPDATE_SESSION_RETRIEVE_FD \
	_IO(LIVEUPDATE_IOCTL_TYPE, LIVEUPDATE_CMD_SESSION_RETRIEVE_FD)

/**
 * struct liveupdate_session_finish - LIVEUPDATE_SESSION_FINISH
 * @size:     sizeof(struct liveupdate_session_finish) or more
 * @reserved: must be zero (not checked, as in the kernel)
 *
 * Incoming sessions only.
 */
struct liveupdate_session_finish {
	__u32 size;
	__u32 reserved;
};

#define LIVEUPDATE_SESSION_FINISH \
	_IO(LIVEUPDATE_IOCTL_TYPE, LIVEUPDATE_CMD_SESSION_FINISH)

/**
 * struct liveupdate_session_get_name - LIVEUPDATE_SESSION_GET_NAME
 * @size:     sizeof(struct liveupdate_session_get_name) or more
 * @reserved: must be zero, EINVAL otherwise
 * @name:     out: the session's NUL-terminated name
 */
struct liveupdate_session_get_name {
	__u32 size;
	__u32 reserved;
	__u8 name[LIVEUPDATE_SESSION_NAME_LENGTH];
};

#define LIVEUPDATE_SESSION_GET_NAME \
	_IO(LIVEUPDATE_IOCTL_TYPE, LIVEUPDATE_CMD_SESSION_GET_NAME)

/* Compile-time checks of the layout of SPEC.md section 1.2. */
#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L && !defined(__cplusplus)
#include <stddef.h>
#define __LUO_ABI_CHECK(cond) _Static_assert(cond, #cond)
__LUO_ABI_CHECK(sizeof(struct liveupdate_ioctl_create_session) == 72);
__LUO_ABI_CHECK(offsetof(struct liveupdate_ioctl_create_session, size) == 0);
__LUO_ABI_CHECK(offsetof(struct liveupdate_ioctl_create_session, fd) == 4);
__LUO_ABI_CHECK(offsetof(struct liveupdate_ioctl_create_session, name) == 8);
__LUO_ABI_CHECK(sizeof(struct liveupdate_ioctl_retrieve_session) == 72);
__LUO_ABI_CHECK(offsetof(struct liveupdate_ioctl_retrieve_session, size) == 0);
__LUO_ABI_CHECK(offsetof(struct liveupdate_ioctl_retrieve_session, fd) == 4);
__LUO_ABI_CHECK(offsetof(struct liveupdate_ioctl_retrieve_session, name) == 8);
__LUO_ABI_CHECK(sizeof(struct liveupdate_session_preserve_fd) == 16);
__LUO_ABI_CHECK(offsetof(struct liveupdate_session_preserve_fd, size) == 0);
__LUO_ABI_CHECK(offsetof(struct liveupdate_session_preserve_fd, fd) == 4);
__LUO_ABI_CHECK(offsetof(struct liveupdate_session_preserve_fd, token) == 8);
__LUO_ABI_CHECK(sizeof(struct liveupdate_session_retrieve_fd) == 16);
__LUO_ABI_CHECK(offsetof(struct liveupdate_session_retrieve_fd, size) == 0);
__LUO_ABI_CHECK(offsetof(struct liveupdate_session_retrieve_fd, fd) == 4);
__LUO_ABI_CHECK(offsetof(struct liveupdate_session_retrieve_fd, token) == 8);
__LUO_ABI_CHECK(sizeof(struct liveupdate_session_finish) == 8);
__LUO_ABI_CHECK(offsetof(struct liveupdate_session_finish, size) == 0);
__LUO_ABI_CHECK(offsetof(struct liveupdate_session_finish, reserved) == 4);
__LUO_ABI_CHECK(sizeof(struct liveupdate_session_get_name) == 72);
__LUO_ABI_CHECK(offsetof(struct liveupdate_session_get_name, size) == 0);
__LUO_ABI_CHECK(offsetof(struct liveupdate_session_get_name, reserved) == 4);
__LUO_ABI_CHECK(offsetof(struct liveupdate_session_get_name, name) == 8);
__LUO_ABI_CHECK(LIVEUPDATE_IOCTL_CREATE_SESSION == 0xBA00);
__LUO_ABI_CHECK(LIVEUPDATE_IOCTL_RETRIEVE_SESSION == 0xBA01);
__LUO_ABI_CHECK(LIVEUPDATE_SESSION_PRESERVE_FD == 0xBA40);
__LUO_ABI_CHECK(LIVEUPDATE_SESSION_RETRIEVE_FD == 0xBA41);
__LUO_ABI_CHECK(LIVEUPDATE_SESSION_FINISH == 0xBA42);
__LUO_ABI_CHECK(LIVEUPDATE_SESSION_GET_NAME == 0xBA43);
#undef __LUO_ABI_CHECK
#endif

#endif /* _UAPI_LIVEUPDATE_H */
