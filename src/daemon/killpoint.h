/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A testing aid: die by SIGKILL at a named step of REBOOT or a reply. */
#ifndef LUOD_KILLPOINT_H
#define LUOD_KILLPOINT_H

#include <stdbool.h>

struct luod;

void killpoint(const struct luod *d, const char *step);
void killpoint_step(bool armed, const char *step);

#endif /* LUOD_KILLPOINT_H */
