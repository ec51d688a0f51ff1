/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libluo: the client library of the user-space Live Update Orchestrator.
 *
 * One function per call of the kernel's /dev/liveupdate ABI, plus open,
 * close, and luo's own requests (status, list, reboot, drop, the reason
 * a file was refused).  Every function
 * returns 0 (or a non-negative fd) on success and a negative errno on
 * failure; errno itself is left alone.  The library keeps no global state:
 * it is safe to use from several threads as long as each thread issues its
 * requests on its own fd.  Every fd it creates is close-on-exec.
 *
 * See libluo(7).
 */
#ifndef _LUO_LIBLUO_H
#define _LUO_LIBLUO_H

#include <stddef.h>
#include <stdint.h>

#include <luo/liveupdate.h>
#include <luo/luo-ext.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Modes of luo_open_at(); the values of enum luo_wire_mode. */
enum {
	LUO_OPEN_DEVICE = 1,	/* open("/dev/liveupdate"): exclusive */
	LUO_OPEN_CONTROL = 2,	/* luo's administrative requests only */
};

int luo_default_socket_path(char *buf, size_t len);
int luo_open_at(const char *socket_path, int mode);
int luo_open(void);
int luo_close(int fd);

int luo_ioctl(int fd, unsigned long request, void *arg);

int luo_create_session(int devfd, const char *name);
int luo_retrieve_session(int devfd, const char *name);
int luo_session_preserve_fd(int sfd, int fd, uint64_t token);
int luo_session_retrieve_fd(int sfd, uint64_t token);
int luo_session_finish(int sfd);
int luo_session_get_name(int sfd, char *name, size_t len);
int luo_session_handover(int sfd, uint32_t flags);
int luo_session_last_error(int sfd, struct luo_session_error *err);

int luo_status(int fd, struct luo_status *st);

/* Called once per record; a non-zero return stops luo_list() with it. */
typedef int (*luo_list_fn)(const struct luo_list_record *rec, void *ctx);
int luo_list(int fd, luo_list_fn fn, void *ctx);

int luo_reboot(int fd, int exec_fd, uint64_t *update_number);
int luo_upgrade(int fd, int exec_fd);
int luo_pool_memfd(int devfd, const char *name, unsigned int flags);
int luo_drop_session(int fd, const char *name, uint32_t owner,
		     uint32_t *nr_files);

#ifdef __cplusplus
}
#endif

#endif /* _LUO_LIBLUO_H */
