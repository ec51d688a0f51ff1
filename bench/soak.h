/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* luo-soak: the clients (luo-soak.c) and the driver (soak-driver.c). */
#ifndef LUO_SOAK_H
#define LUO_SOAK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define SOAK_FILES		3	/* files per session, at most */
#define SOAK_KEEP		8	/* sessions a client keeps, at most */
#define SOAK_MAX_CLIENTS	256
#define SOAK_RSS_SLACK_KB	2048	/* VmRSS growth tolerated */

/**
 * struct soak_stats - what a client did
 * @cycles:           sessions made and filled
 * @created:          CREATE_SESSION that succeeded
 * @closed:           sessions closed on purpose (files unpreserved)
 * @kept:             sessions kept across a reboot
 * @retrieved:        kept sessions retrieved, checked and finished
 * @files_preserved:  PRESERVE_FD that succeeded
 * @files_verified:   retrieved files whose bytes and position matched
 * @enodev:           calls cut by a reboot (expected)
 * @ebusy:            device opens refused while another was held (expected)
 * @expired_sessions: kept sessions a second reboot dropped (SPEC.md 3.7)
 * @expired_files:    files of those not retrieved in time
 * @eio:              calls whose daemon process was killed (expected
 *                    only when the driver kills: --kill)
 * @lost:             preserved, then missing or different: a failure
 * @unexpected:       any other error: a failure
 */
struct soak_stats {
	uint64_t cycles, created, closed, kept, retrieved;
	uint64_t files_preserved, files_verified;
	uint64_t enodev, ebusy, expired_sessions, expired_files;
	uint64_t eio;
	uint64_t lost, unexpected;
};

/**
 * struct soak_file - one preserved memfd
 * @token: its token
 * @seed:  the seed of its data
 * @size:  its size
 * @pos:   its file position
 * @sure:  PRESERVE_FD was answered 0 (else the reply was cut by a reboot)
 */
struct soak_file {
	uint64_t token, seed;
	size_t size;
	off_t pos;
	bool sure;
};

/**
 * struct soak_sess - one session a client made
 * @name:   its name
 * @update: the update number of the image that made it
 * @sfd:    its fd, or -1 once a reboot killed it
 * @nfiles: files tried
 * @f:      those files
 * @used:   the slot is in use
 */
struct soak_sess {
	char name[64];
	uint64_t update;
	int sfd;
	int nfiles;
	struct soak_file f[SOAK_FILES];
	bool used;
};

/**
 * struct client - one client process
 * @id:      its number
 * @lock_fd: the flock that takes turns at the device
 * @rng:     its random state
 * @seq:     the next session number
 * @kept:    sessions kept
 * @st:      its counts
 */
struct client {
	int id;
	int lock_fd;
	uint64_t rng;
	uint64_t seq;
	struct soak_sess kept[SOAK_KEEP];
	struct soak_stats st;
};

/**
 * struct soak_proc - one of the daemon's processes
 * @pid:   its pid
 * @vault: the vault (else the engine)
 */
struct soak_proc {
	pid_t pid;
	bool vault;
};

#define SOAK_MAX_PROCS	8

/**
 * struct driver - the reboots, the clients and the report
 * @socket:   the daemon's socket
 * @daemon:   its pid (without @exe: the only process measured)
 * @exe:      the daemon's executable: its processes are found by it
 * @upgrade:  every other REBOOT is an UPGRADE
 * @kill_s:   a kill -9 of a random daemon process about this often; 0: none
 * @seconds:  how long to run
 * @interval: seconds between reboots
 * @nclients: client processes
 * @stop:     a pipe whose write end closing tells the clients to stop
 * @pids:     the clients
 * @out:      the pipes their counts come back on
 */
struct driver {
	const char *socket;
	pid_t daemon;
	const char *exe;
	bool upgrade;
	double kill_s;
	double seconds, interval;
	int nclients;
	int stop[2];
	pid_t pids[SOAK_MAX_CLIENTS];
	int out[SOAK_MAX_CLIENTS];
};

int soak_spawn(struct driver *dr, const char *lock_path);
int soak_procs(const char *exe, struct soak_proc *procs, int max);
int driver_run(struct driver *dr);

#endif /* LUO_SOAK_H */
