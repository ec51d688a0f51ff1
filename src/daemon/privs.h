/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Dropping what the daemon does not need once it listens. */
#ifndef LUOD_PRIVS_H
#define LUOD_PRIVS_H

#include <stdbool.h>
#include <stdint.h>

int privs_drop(bool boot, bool quota);
uint32_t privs_raise(uint32_t mask);
uint32_t privs_lower(uint32_t mask);

#endif /* LUOD_PRIVS_H */
