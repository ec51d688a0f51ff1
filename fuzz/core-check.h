/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The core fuzzer's comparison of the core with its model. */
#ifndef LUO_FUZZ_CORE_CHECK_H
#define LUO_FUZZ_CORE_CHECK_H

#include "core-model.h"
#include "luo_core.h"

void check_core(struct luo_core *core, const struct model *m);

#endif /* LUO_FUZZ_CORE_CHECK_H */
