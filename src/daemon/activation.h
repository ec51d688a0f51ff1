/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Socket activation: the listening socket a service manager passes. */
#ifndef LUOD_ACTIVATION_H
#define LUOD_ACTIVATION_H

#include <stdbool.h>

struct transport;

/*
 * Set in the daemon's environment while it serves on a socket a service
 * manager passed, so that every later image (REBOOT) knows the socket file
 * is the manager's, not to be removed at shut-down.
 */
#define ACTIVATION_ENV	"LIVEUPDATED_SOCKET_ACTIVATED"

int activation_adopt(struct transport *tp, bool from_vault);
void activation_takeover(struct transport *tp);

#endif /* LUOD_ACTIVATION_H */
