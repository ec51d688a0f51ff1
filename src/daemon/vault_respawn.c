// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The engine's side of a vault's death (liveupdated(8), "Crash
 * recovery"): it starts a new vault.
 *
 * The engine forks; the child lets exactly the fds the records name cross
 * an exec (and the records memfd and its end of a new pair), and executes
 * our own image as a vault with --vault-adopt=ENGINE: that vault holds
 * each fd under the engine's own number for it, watches the engine by its
 * pidfd (it is no child of it), restarts it after a crash as a child of
 * its own, and tells a service manager its pid; the engine tells it too,
 * right after the fork, so that the manager hears of the new main pid as
 * early as possible.  Never under a service manager's fd store, whose
 * entries only the dead vault knew: the engine ends instead
 * (records_vault_dead()).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "notify.h"
#include "options.h"
#include "records.h"

extern char **environ;

/**
 * vault_respawn() - start a new vault holding everything
 * @d: the engine, whose vault died
 *
 * Return: our end of the pair with the new vault, or -errno (then the
 * engine serves on without one).
 */
int vault_respawn(struct luod *d)
{
	int sv[2], *fds = NULL;
	char **argv;
	size_t n = 0;
	pid_t pid;

	if (d->self_fd < 0 || records_held(d->rec, &fds, &n))
		return -ENOEXEC;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		free(fds);
		return -errno;
	}
	argv = options_vault_argv(d->argv, getpid(), sv[1], d->opt.records_fd);
	if (!argv) {
		free(fds);
		close(sv[0]);
		close(sv[1]);
		return -ENOMEM;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		/* Only system calls: the engine has threads. */
		for (size_t i = 0; i < n; i++)
			fcntl(fds[i], F_SETFD, 0);
		fcntl(sv[1], F_SETFD, 0);
		fcntl(d->opt.records_fd, F_SETFD, 0);
		execveat(d->self_fd, "", argv, environ, AT_EMPTY_PATH);
		_exit(127);
	}
	options_free_argv(argv);
	free(fds);
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return -errno;
	}
	/* At once: the manager must not take the old vault's death for ours. */
	notify_mainpid(pid);
	log_notice("started a new vault, pid %d", (int)pid);
	return sv[0];
}
