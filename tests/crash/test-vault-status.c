// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Issue 9: STATUS's reboot counters survive a crash of the engine.  A
 * REBOOT that worked (its duration) and one that failed (the count, the
 * errno and the reason) are in STATUS; the engine is killed with SIGKILL;
 * the engine the vault starts says the same, on a connection the client
 * kept through the crash.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "daemon-harness.h"

/* An executable memfd that is no program: the exec fails, counted. */
static int not_a_program(void)
{
	int fd = memfd_create("not-a-program", MFD_CLOEXEC);

	dh_check(fd >= 0);
	dh_check_eq(write(fd, "garbage!", 8), 8);
	dh_check_eq(fchmod(fd, 0700), 0);
	return fd;
}

int main(void)
{
	struct luo_status before, after;
	struct dh_daemon d;
	uint64_t upd = 0;
	pid_t engine;
	int ctl, exe;

	dh_check_eq(dh_start(&d, NULL), 0);
	ctl = luo_open_at(d.socket, LUO_OPEN_CONTROL);
	dh_check(ctl >= 0);
	dh_check_eq(luo_reboot(ctl, -1, &upd), 0);
	dh_check_eq(upd, 2);
	exe = not_a_program();
	dh_check_eq(luo_reboot(ctl, exe, &upd), -ENOEXEC);
	close(exe);
	dh_check_eq(luo_status(ctl, &before), 0);
	dh_check_eq(before.failed_reboots, 1);
	dh_check_eq(before.last_reboot_error, ENOEXEC);
	dh_check(strstr(before.last_reboot_failure, "execute") != NULL);
	dh_check(before.last_reboot_ns > 0);

	engine = dh_engine_pid(&d);
	dh_check(engine > 0);
	dh_check_eq(kill(engine, SIGKILL), 0);
	/* Waits in the socket until the next engine serves it. */
	dh_check_eq(luo_status(ctl, &after), 0);
	dh_check(after.pid != before.pid);
	dh_check_eq(after.update_number, 2);
	dh_check_eq(after.failed_reboots, before.failed_reboots);
	dh_check_eq(after.last_reboot_error, before.last_reboot_error);
	dh_check(!strcmp(after.last_reboot_failure,
			 before.last_reboot_failure));
	dh_check_eq(after.last_reboot_ns, before.last_reboot_ns);
	luo_close(ctl);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	return DH_PASS;
}
