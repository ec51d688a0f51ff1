/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* kvd's cold restart: the dataset to a file and back (persist.c). */
#ifndef KVD_PERSIST_H
#define KVD_PERSIST_H

#include "store.h"

int kvd_store_save(struct kvd_store *st, const char *path);
int kvd_store_load(struct kvd_store *st, const char *path);

#endif /* KVD_PERSIST_H */
