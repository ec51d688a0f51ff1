/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which of a client's files the service manager may hold and close
 * (vault_fdsafe.c).
 */
#ifndef LUOD_VAULT_FDSAFE_H
#define LUOD_VAULT_FDSAFE_H

#include <stdbool.h>

bool vault_fdsafe(int fd);

#endif /* LUOD_VAULT_FDSAFE_H */
