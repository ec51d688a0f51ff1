// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Socket activation (sd_listen_fds(3)): a service manager (systemd's
 * liveupdated.socket) made the listening socket and passes it as fd 3 with
 * LISTEN_FDS=1 and LISTEN_PID; the daemon serves on it instead of making
 * its own, so clients that connected before it ran wait in the backlog.
 * It must be exactly one listening AF_UNIX SOCK_SEQPACKET socket
 * (ListenSequentialPacket=); anything else is refused with a reason.  The
 * socket crosses a REBOOT like the daemon's own; its file is the
 * manager's, so no image removes it at shut-down (ACTIVATION_ENV).
 *
 * Under --vault the manager passes the socket to the vault, the main
 * process, which passes it on to its first engine with LISTEN_PID still
 * its own (it cannot know its child's pid before the exec): the engine
 * takes LISTEN_PID naming its parent, the vault, as naming itself.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include "activation.h"
#include "log.h"
#include "transport.h"

static void activation_close(int n)
{
	for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + n; fd++)
		close(fd);
}

/* LISTEN_PID names the vault, our parent: the fds are ours now. */
static void activation_from_vault(void)
{
	const char *env = getenv("LISTEN_PID");
	char pid[16];

	snprintf(pid, sizeof(pid), "%d", (int)getppid());
	if (!env || strcmp(env, pid))
		return;
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	if (setenv("LISTEN_PID", pid, 1) < 0)
		log_warn("socket activation: LISTEN_PID: %m");
}

/**
 * activation_adopt() - serve on the socket a service manager passed, if any
 * @tp:         the transport, not listening yet
 * @from_vault: we are a vault's engine: the vault passes what it was given
 *
 * LISTEN_FDS and LISTEN_PID are removed from the environment either way,
 * so that they cannot mislead an image a REBOOT executes.
 *
 * Return: 1 if the passed socket is served, 0 if none was passed,
 * -ENOTSOCK if it is not a listening AF_UNIX SOCK_SEQPACKET socket,
 * -EINVAL if more than one fd was passed, or another -errno (logged).
 */
int activation_adopt(struct transport *tp, bool from_vault)
{
	int n, fd = SD_LISTEN_FDS_START, r;

	if (from_vault)
		activation_from_vault();
	n = sd_listen_fds(1);
	unsetenv(ACTIVATION_ENV);
	if (n < 0) {
		log_err("socket activation: LISTEN_FDS: %s", strerror(-n));
		return n;
	}
	if (n == 0)
		return 0;
	if (n > 1) {
		log_err("socket activation: %d fds passed, liveupdated serves "
			"exactly one socket (one ListenSequentialPacket= in "
			"its .socket unit)", n);
		activation_close(n);
		return -EINVAL;
	}
	if (sd_is_socket_unix(fd, SOCK_SEQPACKET, 1, NULL, 0) <= 0) {
		log_err("socket activation: fd %d is not a listening AF_UNIX "
			"SOCK_SEQPACKET socket; its .socket unit must say "
			"ListenSequentialPacket=PATH", fd);
		close(fd);
		return -ENOTSOCK;
	}
	r = transport_adopt_listener(tp, fd);
	if (r) {
		log_err("socket activation: cannot serve fd %d: %s", fd,
			strerror(-r));
		close(fd);
		return r;
	}
	transport_leave_socket_file(tp);
	if (setenv(ACTIVATION_ENV, "1", 1) < 0)
		log_warn("socket activation: %s: %m", ACTIVATION_ENV);
	log_notice("listening on %s (socket activation)", transport_path(tp));
	return 1;
}

/**
 * activation_takeover() - after a REBOOT's take-over: if the listening
 * socket came from a service manager, leave its file alone at shut-down
 * @tp: the transport, serving the inherited socket
 */
void activation_takeover(struct transport *tp)
{
	const char *env = getenv(ACTIVATION_ENV);

	if (env && !strcmp(env, "1"))
		transport_leave_socket_file(tp);
}
