/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * A stand-in for an RFC-era draft of <linux/liveupdate.h>: the kernel's
 * include guard, the global state machine, none of 6.19's session ioctls.
 */
#ifndef _UAPI_LIVEUPDATE_H
#define _UAPI_LIVEUPDATE_H
#include <linux/ioctl.h>
#include <linux/types.h>
enum liveupdate_state {
	LIVEUPDATE_STATE_NORMAL = 0,
	LIVEUPDATE_STATE_PREPARED = 1,
	LIVEUPDATE_STATE_FROZEN = 2,
	LIVEUPDATE_STATE_UPDATED = 3,
};
#endif /* _UAPI_LIVEUPDATE_H */
