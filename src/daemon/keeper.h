/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The keeper: a child forked right before a REBOOT's exec that holds a
 * duplicate of everything that crosses it, and runs the previous image
 * again if the new one dies or hangs before it has taken over.
 */
#ifndef LUOD_KEEPER_H
#define LUOD_KEEPER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/**
 * struct keeper - the old image's handle on its keeper
 * @pid: the keeper, 0 if none
 * @fd:  the write end of its pipe, for the new image, or -1
 */
struct keeper {
	pid_t pid;
	int fd;
};

/**
 * struct keeper_plan - what the keeper runs if the new image fails
 * @argv:           the previous image's original command line
 * @image_fd:       the previous image (O_PATH), kept across the exec
 * @handover_fd:    the handover, kept across the exec
 * @failed_reboots: failed reboots so far, before this one
 * @timeout_ms:     how long the new image may take to take over
 * @no_pidfd:       watch the daemon without a pidfd, as on a kernel without
 *                  pidfd_open() (a testing aid)
 */
struct keeper_plan {
	char *const *argv;
	int image_fd;
	int handover_fd;
	uint32_t failed_reboots;
	uint32_t timeout_ms;
	bool no_pidfd;
};

int keeper_start(struct keeper *k, const struct keeper_plan *plan);
void keeper_release(int fd, pid_t pid);

#endif /* LUOD_KEEPER_H */
