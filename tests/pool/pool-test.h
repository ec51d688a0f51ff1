/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the pool tests share: a directory pool on tmpfs (/dev/shm) made and
 * removed by the test, a daemon started on it, and the REBOOT_KEXEC
 * request under --kexec-simulate (the daemon exits where it would load the
 * kernel; no test ever kexecs the host).
 */
#ifndef POOL_TEST_H
#define POOL_TEST_H

#include <limits.h>
#include <stdbool.h>

#include <luo/libluo.h>

#include "daemon-harness.h"

/**
 * struct pt_env - one test's pool and the daemon serving it
 * @pool:   the pool directory (on /dev/shm)
 * @kernel: a file standing for the kernel image (never loaded)
 * @d:      the daemon
 */
struct pt_env {
	char pool[PATH_MAX];
	char kernel[PATH_MAX];
	struct dh_daemon d;
};

void pt_make(struct pt_env *e);
int pt_start(struct pt_env *e, const char *const *extra);
int pt_restart(struct pt_env *e);
void pt_cleanup(struct pt_env *e);
int pt_kexec(int fd, const char *kernel);
bool pt_has_handover(const struct pt_env *e);
void pt_fill(void *buf, size_t len, unsigned int seed);

#endif /* POOL_TEST_H */
