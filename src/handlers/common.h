/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Callbacks that several file handlers share. */
#ifndef LUO_HANDLERS_COMMON_H
#define LUO_HANDLERS_COMMON_H

#include "luo_handler.h"

void luo_handler_release_nothing(struct luo_file_op_args *args);
int luo_handler_retrieve_same(struct luo_file_op_args *args);

#endif /* LUO_HANDLERS_COMMON_H */
