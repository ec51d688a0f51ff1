/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Dropping what the daemon does not need once it listens. */
#ifndef LUOD_PRIVS_H
#define LUOD_PRIVS_H

int privs_drop(void);

#endif /* LUOD_PRIVS_H */
