/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Dropping what the daemon does not need once it listens. */
#ifndef LUOD_PRIVS_H
#define LUOD_PRIVS_H

#include <stdbool.h>

int privs_drop(bool boot);

#endif /* LUOD_PRIVS_H */
