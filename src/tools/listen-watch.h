/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * luo-listen's watcher: a small process that lives as long as the service
 * and holds its session (see listen-watch.c).
 */
#ifndef LUO_LISTEN_WATCH_H
#define LUO_LISTEN_WATCH_H

/**
 * struct listen_watch - what the watcher holds
 * @socket_path: the orchestrator's socket, NULL for the default
 * @session:     the session's name
 * @label:       "luo-listen: NAME", the prefix of its messages
 * @fds:         its own duplicates of the listening sockets
 * @nr:          how many
 * @sfd:         the session, retrieved (held), or -1
 * @pidfd:       the service's pidfd
 */
struct listen_watch {
	const char *socket_path;
	const char *session;
	const char *label;
	int *fds;
	int nr;
	int sfd;
	int pidfd;
};

int listen_watch_start(struct listen_watch *w);

#endif /* LUO_LISTEN_WATCH_H */
