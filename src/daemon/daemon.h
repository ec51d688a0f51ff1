/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The state of the liveupdated process, shared by main.c and reboot.c. */
#ifndef LUOD_DAEMON_H
#define LUOD_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "access.h"
#include "loop.h"
#include "options.h"

struct luo_core;
struct luo_fault;
struct luo_reboot;
struct luo_reboot_kexec;
struct pool;
struct luo_upgrade;
struct records;
struct transport;

/**
 * struct luod - the daemon
 * @opt:            the command line
 * @argv:           the original command line, for the next image
 * @core:           the orchestrator's state
 * @fault:          the fault-v1 handler (--fault-injection), or NULL
 * @loop:           the event loop
 * @tp:             the connections
 * @access:         peer checks and per-user limits (access.h)
 * @sig:            signalfd for SIGTERM and SIGINT
 * @self_fd:        O_PATH fd of our own executable (/proc/self/exe)
 * @rebooting:      a REBOOT or an UPGRADE is under way
 * @last_reboot_ns: how long the last reboot took, 0 if none
 * @failed_reboots: REBOOTs that failed after the freeze, all images
 * @last_error:     the errno the last failed REBOOT answered, 0 if none
 * @last_failure:   why it failed, "" if none
 * @failed_upgrades: UPGRADEs of this image that failed before the exec,
 *                  for the log (REBOOT's counters are apart; an UPGRADE's
 *                  duration is logged by the image that serves after it)
 * @rec:            the records and the link to the vault (--vault), or
 *                  NULL
 * @vault:          our end of the pair with the vault, watched for its
 *                  death
 * @inherited:      --recover: the fds the vault put in place, by number
 * @nr_inherited:   entries of @inherited
 * @pool:           the pool (--pool), or NULL
 */
struct luod {
	struct luod_options opt;
	char **argv;
	struct luo_core *core;
	struct luo_fault *fault;
	struct loop *loop;
	struct transport *tp;
	struct access access;
	struct loop_source sig;
	int self_fd;
	bool rebooting;
	uint64_t last_reboot_ns;
	uint32_t failed_reboots;
	int last_error;
	char last_failure[64];
	uint32_t failed_upgrades;
	struct records *rec;
	struct loop_source vault;
	uint8_t *inherited;
	size_t nr_inherited;
	struct pool *pool;
};

uint64_t luod_now_ns(void);
int reboot_run(struct luod *d, struct luo_reboot *arg, int exec_fd);
int reboot_takeover(struct luod *d);
int upgrade_run(struct luod *d, struct luo_upgrade *arg, int exec_fd);
void reboot_refuse(struct luod *d, int err, const char *why);
int reboot_vault_rolled_back(struct luod *d);
void reboot_stats_save(struct luod *d);
void reboot_stats_load(struct luod *d);
int recover_run(struct luod *d);
int luod_listen(struct luod *d);
int recover_inherited(uint8_t **out, size_t *n);
int vault_respawn(struct luod *d);
int kexec_run(struct luod *d, struct luo_reboot_kexec *arg);

#endif /* LUOD_DAEMON_H */
