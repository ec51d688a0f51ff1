// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * An unmodified program written for the kernel's ABI (kabi-stage), run
 * under luo-run, survives a simulated kexec: stage 1 preserves an ordinary
 * memfd and holds its session while REBOOT --kexec copies the memfd into
 * the pool and the daemon exits; the next boot's daemon, on the same pool,
 * serves stage 2, which finds the same bytes, position and seals.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pool-test.h"

/* luo-run STAGE against @socket: its pid; its stdin and stdout pipes. */
static pid_t run_stage(const char *socket, const char *stage, int *in,
		       int *out)
{
	const char *luo_run = getenv("LUO_RUN"), *exe = getenv("KABI_STAGE");
	int pin[2], pout[2];
	pid_t pid;

	dh_check(luo_run && exe);
	dh_check_eq(pipe2(pin, O_CLOEXEC), 0);
	dh_check_eq(pipe2(pout, O_CLOEXEC), 0);
	pid = fork();
	dh_check(pid >= 0);
	if (!pid) {
		dup2(pin[0], 0);
		dup2(pout[1], 1);
		setenv("LUO_SOCKET", socket, 1);
		execl(luo_run, luo_run, exe, stage, (char *)NULL);
		_exit(127);
	}
	close(pin[0]);
	close(pout[1]);
	*in = pin[1];
	*out = pout[0];
	return pid;
}

static void expect_line(int fd, const char *line)
{
	char buf[64] = "";
	size_t got = 0;
	ssize_t n;

	while (got < sizeof(buf) - 1 && !strchr(buf, '\n') &&
	       (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	dh_expect_output(buf, line);
}

static int reap(pid_t pid)
{
	int status;

	dh_check_eq(waitpid(pid, &status, 0), pid);
	return dh_exit_code(status);
}

int main(void)
{
	struct pt_env e;
	int in, out, dev;
	pid_t stage;

	if (!getenv("LUO_RUN"))
		dh_skip("no luo-run in this build");
	pt_make(&e);
	dh_check_eq(pt_start(&e, NULL), 0);
	stage = run_stage(e.d.socket, "1", &in, &out);
	expect_line(out, "ready");
	dev = luo_open_at(e.d.socket, LUO_OPEN_CONTROL);
	dh_check(dev >= 0);
	dh_check_eq(pt_kexec(dev, e.kernel), -ENODEV);
	luo_close(dev);
	dh_check_eq(dh_wait(&e.d), 0);
	/* The machine is gone: so is stage 1. */
	close(in);
	dh_check_eq(reap(stage), 0);
	close(out);

	dh_check_eq(pt_restart(&e), 0);
	stage = run_stage(e.d.socket, "2", &in, &out);
	close(in);
	expect_line(out, "verified");
	dh_check_eq(reap(stage), 0);
	close(out);
	pt_cleanup(&e);
	return DH_PASS;
}
