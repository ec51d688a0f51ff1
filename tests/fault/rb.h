/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared pieces of the rollback and keeper tests: a daemon holding two
 * sessions of memfds, a REBOOT into an image that fails, and the checks
 * that everything came back.
 */
#ifndef RB_H
#define RB_H

#include <stdbool.h>
#include <sys/types.h>

#include "e2e.h"

/**
 * struct rb_case - one failed self-upgrade
 * @mode:     $LUO_RB_IMAGE for rb-image, or NULL
 * @image:    the executable to reboot into
 * @args:     more daemon arguments, NULL-terminated, or NULL
 * @err:      the errno REBOOT must fail with (positive)
 * @failure:  a substring of STATUS's last_reboot_failure
 * @new_pid:  true if the keeper rolls back (a new daemon pid)
 * @status:   the new image's expected wait status (when @new_pid)
 * @vault:    under the vault (the vault is the keeper: the engine is
 *            recovered under a new pid, the vault's stays); else the
 *            daemon runs with --no-vault and its keeper is tested
 */
struct rb_case {
	const char *mode;
	const char *image;
	const char *const *args;
	int err;
	const char *failure;
	bool new_pid;
	int status;
	bool vault;
};

/* The rb-image helper next to the test binary. */
const char *rb_image(void);
/* Starts a daemon, preserves, reboots into @c->image, checks that nothing
 * changed, reboots again and checks that nothing was lost. */
void rb_run(const struct rb_case *c);
/* Children of @pid, zombies included. */
int rb_children(pid_t pid);

#endif /* RB_H */
