/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The /dev/liveupdate ABI for programs built against luo: the kernel's
 * <linux/liveupdate.h> when the system has one that is new enough, luo's
 * copy <luo/linux-liveupdate.h> otherwise; never both.
 *
 * "New enough" is Linux 6.19, the first kernel with the header: its
 * LIVEUPDATE_IOCTL_CREATE_SESSION is defined by no earlier (RFC-era) draft
 * of it.  Both headers have the kernel's include guard, so once one of them
 * is in, the other is empty: a program may include <linux/liveupdate.h>
 * before or after this header.  A draft header without that macro cannot
 * be unincluded; compiling against one stops with an error that says so
 * (define LUO_OWN_UAPI to skip the system's header).
 *
 * GET_NAME came after 6.19 (SPEC.md section 1, generation G3): when the
 * kernel's header lacks it, it is defined here with the kernel's numbers.
 */
#ifndef _LUO_LIVEUPDATE_H
#define _LUO_LIVEUPDATE_H

#if !defined(_UAPI_LIVEUPDATE_H) && !defined(LUO_OWN_UAPI) && \
	defined(__has_include)
#if __has_include(<linux/liveupdate.h>)
#include <linux/liveupdate.h>
#ifndef LIVEUPDATE_IOCTL_CREATE_SESSION
#error "<linux/liveupdate.h> predates Linux 6.19; define LUO_OWN_UAPI to use luo's copy of it instead"
#endif
#endif
#endif

/* Empty if the kernel's header came first (same include guard). */
#include <luo/linux-liveupdate.h>

#ifndef LIVEUPDATE_SESSION_GET_NAME
enum {
	LIVEUPDATE_CMD_SESSION_GET_NAME = 0x43,
};

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
#endif /* !LIVEUPDATE_SESSION_GET_NAME */

#endif /* _LUO_LIVEUPDATE_H */
