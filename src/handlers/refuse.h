/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Files no handler takes, and why (refuse.c). */
#ifndef LUO_REFUSE_H
#define LUO_REFUSE_H

#include <stdbool.h>
#include <stdint.h>

bool luo_pseudo_fs(uint64_t f_type);
const char *luo_refuse_reason(int fd);

#endif /* LUO_REFUSE_H */
