/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* liveupdated's command line. */
#ifndef LUOD_OPTIONS_H
#define LUOD_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include <sys/types.h>

#include "access.h"
#include "handlers.h"
#include "luo_core.h"

/**
 * struct luod_rb_options - the self-upgrade's options (liveupdated(8))
 * @takeover_ms:     --takeover-timeout: how long a new image may take to
 *                   take over before the keeper rolls back
 * @rollback_fd:     --rollback-fd: the previous image, to run if this one
 *                   cannot take over, or -1
 * @keeper_fd:       --keeper-fd: the keeper's pipe, or -1
 * @keeper_pid:      --keeper-pid: the keeper, to reap, or 0
 * @rolled_back:     --rolled-back: "ERRNO:why" the new image failed, or NULL
 * @failed_reboots:  --failed-reboots: failed reboots of earlier images
 * @refuse_handover: --refuse-handover: a testing aid, refuse every handover
 * @exec:            --exec-fd=FD:TYPE:DEV:INO: the executable a REBOOT ran
 *                   this image from, and the file it was; fd -1 if none
 */
struct luod_rb_options {
	uint32_t takeover_ms;
	int rollback_fd;
	int keeper_fd;
	pid_t keeper_pid;
	const char *rolled_back;
	uint32_t failed_reboots;
	bool refuse_handover;
	struct luo_fd_id exec;
};

/**
 * struct luod_exec_args - what the next image's command line adds
 * @handover_fd:    --handover-fd
 * @rollback_fd:    --rollback-fd, or -1
 * @keeper_fd:      --keeper-fd, or -1
 * @keeper_pid:     --keeper-pid, or 0
 * @failed_reboots: --failed-reboots, if not 0
 * @rolled_back:    --rolled-back, or NULL
 * @exec:           --exec-fd, or NULL
 */
struct luod_exec_args {
	int handover_fd;
	int rollback_fd;
	int keeper_fd;
	pid_t keeper_pid;
	uint32_t failed_reboots;
	const char *rolled_back;
	const struct luo_fd_id *exec;
};

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
 * @handlers:     --handlers: luo's file handlers or the kernel's
 * @conns_per_user: --max-connections-per-user (0: no limit)
 * @rb:           the self-upgrade's options (rollback and keeper)
 * @acc:          access control
 * @vault:        run as the vault and its engine (vault.c): the default;
 *                false with --no-vault
 * @vault_fd:     --vault-fd: the engine's end of its pair with the vault,
 *                or -1 (then this process is no engine)
 * @records_fd:   --records-fd: the records memfd, or -1
 * @recover:      --recover: start from the records after a crash
 * @vault_adopt:  --vault-adopt: a vault an engine started after its vault
 *                died; the engine's pid (0: none)
 * @pool:         --pool: a pmem device or a directory, or NULL
 * @pool_format:  --pool-format: format a device holding another filesystem
 * @max_pool_per_user: --max-pool-per-user: bytes of the pool one uid other
 *                than root may use, enforced by the pool's user quota
 *                (pool_quota.c); 0: no limit
 * @kexec_simulate: --kexec-simulate: a test option, REBOOT --kexec exits
 *                where it would load the kernel
 * @fdstore_ms:   --fdstore-timeout: how long the vault waits for the
 *                manager's answer to BARRIER=1 (vault.c)
 */
struct luod_options {
	const char *socket;
	uint32_t max_sessions;
	uint32_t max_files;
	int ready_fd;
	int handover_fd;
	int log_level;
	bool fault_injection;
	enum luo_handler_set handlers;
	uint32_t conns_per_user;
	struct luod_rb_options rb;
	struct luod_acc_options acc;
	bool vault;
	int vault_fd;
	int records_fd;
	bool recover;
	pid_t vault_adopt;
	const char *pool;
	bool pool_format;
	uint64_t max_pool_per_user;
	bool kexec_simulate;
	uint32_t fdstore_ms;
};

int options_parse(struct luod_options *o, int argc, char **argv);
char **options_exec_argv(char *const *argv, const struct luod_exec_args *a);
char **options_engine_argv(char *const *argv, bool first, int vault_fd,
			   int records_fd, const char *rolled_back);
char **options_vault_argv(char *const *argv, pid_t engine, int vault_fd,
			  int records_fd);
void options_free_argv(char **argv);

#endif /* LUOD_OPTIONS_H */
