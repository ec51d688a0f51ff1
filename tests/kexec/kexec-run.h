/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kexec-client's processes (kexec-run.c): the REBOOT --kexec command, the
 * kills before the kexec, the daemon started again.
 */
#ifndef LUO_KEXEC_RUN_H
#define LUO_KEXEC_RUN_H

void die(const char *fmt, ...) __attribute__((format(printf, 1, 2),
					       noreturn));
double now(void);
void start_daemon(const char *pool);
void run_reboot(char **cmd, const char *dir, const char *kill_name);

#endif
