/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The vault: liveupdated's main process under --vault (vault.c). */
#ifndef LUOD_VAULT_H
#define LUOD_VAULT_H

struct luod_options;

int vault_main(const struct luod_options *opt, char **argv);

#endif /* LUOD_VAULT_H */
