/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* liveupdated's command line. */
#ifndef LUOD_OPTIONS_H
#define LUOD_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "access.h"

/**
 * struct luod_acc_options - access control (access.h, liveupdated(8))
 * @lim:         --group and the --max-*-per-* limits (0: none)
 * @max_pending: --max-pending: connections before their handshake
 */
struct luod_acc_options {
	struct access_limits lim;
	uint32_t max_pending;
};

/**
 * struct luod_options - what the command line says
 * @socket:       --socket, or NULL for the default
 * @max_sessions: --max-sessions, 0 for the core's default
 * @max_files:    --max-files, 0 for the core's default
 * @ready_fd:     --ready-fd, or -1
 * @handover_fd:  --handover-fd, or -1
 * @log_level:    --log-level
 * @fault_injection: --fault-injection (the fault-v1 handler, for tests)
 * @acc:          access control
 */
struct luod_options {
	const char *socket;
	uint32_t max_sessions;
	uint32_t max_files;
	int ready_fd;
	int handover_fd;
	int log_level;
	bool fault_injection;
	struct luod_acc_options acc;
};

int options_parse(struct luod_options *o, int argc, char **argv);
char **options_exec_argv(char *const *argv, int handover_fd);
void options_free_argv(char **argv);

#endif /* LUOD_OPTIONS_H */
