/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which of a client's files the service manager may hold and close
 * (vault_fdsafe.c).
 */
#ifndef LUOD_VAULT_FDSAFE_H
#define LUOD_VAULT_FDSAFE_H

/**
 * enum vault_fdsafe - what a close of a file by the manager may do
 * @VAULT_FDSAFE_NO:  it may block: the file stays out of the store
 * @VAULT_FDSAFE_YES: it never blocks
 */
enum vault_fdsafe {
	VAULT_FDSAFE_NO,
	VAULT_FDSAFE_YES,
};

enum vault_fdsafe vault_fdsafe_class(int fd);

#endif /* LUOD_VAULT_FDSAFE_H */
