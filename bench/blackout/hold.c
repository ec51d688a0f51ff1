// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * blackout-probe hold PORT N: N idle client connections, held open across
 * the update.  Prints "ready" once all are connected and answered; then
 * waits for a line on stdin, asks "version" on every connection and prints
 * "alive=K" (connections that answered) before closing them all.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bo.h"

/* "version" on every connection, then every answer; -1 marks a dead one. */
static unsigned int ask_all(int *fds, unsigned int n)
{
	unsigned int alive = 0;
	char buf[64];

	for (unsigned int i = 0; i < n; i++) {
		if (bo_send_str(fds[i], "version\r\n")) {
			close(fds[i]);
			fds[i] = -1;
		}
	}
	for (unsigned int i = 0; i < n; i++) {
		if (fds[i] < 0)
			continue;
		if (bo_read_reply(fds[i], buf, sizeof(buf), "\r\n") > 8 &&
		    !memcmp(buf, "VERSION ", 8)) {
			alive++;
		} else {
			close(fds[i]);
			fds[i] = -1;
		}
	}
	return alive;
}

static void close_all(int *fds, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
	}
}

/**
 * bo_hold() - "hold PORT N"
 * @argc: argument count
 * @argv: "hold", PORT, N
 *
 * Return: the exit status.
 */
int bo_hold(int argc, char **argv)
{
	unsigned int n, alive;
	char line[16];
	int *fds, ret = 0;

	if (argc != 3)
		return 2;
	n = (unsigned int)strtoul(argv[2], NULL, 10);
	fds = calloc(n ? n : 1, sizeof(int));
	if (!fds)
		return 1;
	for (unsigned int i = 0; i < n; i++) {
		fds[i] = bo_connect(atoi(argv[1]));
		if (fds[i] < 0) {
			fprintf(stderr, "hold: connection %u: %s\n", i,
				strerror(-fds[i]));
			close_all(fds, i);
			free(fds);
			return 1;
		}
	}
	if (ask_all(fds, n) != n)
		ret = 1;
	printf("ready\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		ret = 1;
	alive = ask_all(fds, n);
	printf("alive=%u\n", alive);
	close_all(fds, n);
	free(fds);
	return ret;
}
