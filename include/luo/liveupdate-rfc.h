/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The RFC-era libluo API (LIBLUO-RFC.md): the global state machine of the
 * first Live Update Orchestrator interface, on top of luo's sessions.
 *
 * Unlike the rest of libluo, this API keeps one orchestrator handle per
 * process, because its calls take none: luo_init() opens it and
 * luo_cleanup() closes it.  Every fd preserved through it goes into one
 * outgoing session named LUO_RFC_SESSION_NAME, created on the first
 * luo_fd_preserve() or luo_prepare(); after a reboot luo_fd_restore() takes
 * the files back from the incoming session of that name.  The calls are
 * serialized by a mutex, so any thread may use them.
 *
 * This header and <luo/libluo.h> may be included together: no name is
 * declared by both.  See libluo-rfc(7).
 */
#ifndef _LUO_LIVEUPDATE_RFC_H
#define _LUO_LIVEUPDATE_RFC_H

#include <stdbool.h>
#include <stdint.h>

#include <luo/luo-ext.h>	/* enum liveupdate_state, enum liveupdate_event */

#ifdef __cplusplus
extern "C" {
#endif

/* The session that holds what this API preserves. */
#define LUO_RFC_SESSION_NAME	"luo-rfc-compat"

int luo_init(void);
void luo_cleanup(void);
bool luo_is_available(void);

int luo_get_state(enum liveupdate_state *state);

int luo_fd_preserve(int fd, uint64_t token);
int luo_fd_unpreserve(uint64_t token);
int luo_fd_restore(uint64_t token, int *fd);

int luo_prepare(void);
int luo_cancel(void);
int luo_finish(void);

const char *luo_state_to_string(enum liveupdate_state state);

#ifdef __cplusplus
}
#endif

#endif /* _LUO_LIVEUPDATE_RFC_H */
