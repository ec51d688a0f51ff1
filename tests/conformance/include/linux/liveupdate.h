/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * <linux/liveupdate.h> as a kernel selftest includes it: here luo's copy,
 * even where the system has a (possibly older) kernel header.
 */
#include <luo/linux-liveupdate.h>
