/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Callbacks that several file handlers share. */
#ifndef LUO_HANDLERS_COMMON_H
#define LUO_HANDLERS_COMMON_H

#include <stdbool.h>

#include "luo_handler.h"

int luo_handler_inode_id(struct luo_file_handler *h, int fd,
			 struct luo_file_id *id);
void luo_handler_release_nothing(struct luo_file_op_args *args);
int luo_handler_retrieve_same(struct luo_file_op_args *args);
int luo_handler_reopen(int fd, int flags, bool wait);
void luo_handler_close(int fd);

#endif /* LUO_HANDLERS_COMMON_H */
