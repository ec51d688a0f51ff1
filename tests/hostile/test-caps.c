// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Started as root, the daemon keeps two capabilities, CAP_DAC_OVERRIDE and
 * CAP_SYS_RESOURCE, in its permitted and effective sets and its bounding
 * set, none inheritable
 * or ambient, and sets no_new_privs; the image a REBOOT executes is the
 * same, and still serves.  So does the vault once its first engine serves,
 * and the engine it starts after a crash.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/capability.h>
#include <luo/libluo.h>

#include "hostile.h"

#define KEPT	((1ull << CAP_DAC_OVERRIDE) | (1ull << CAP_SYS_RESOURCE))

/* A hex or decimal field of /proc/PID/status. */
static uint64_t status_field(pid_t pid, const char *name, int base)
{
	char path[64], line[256];
	size_t n = strlen(name);
	uint64_t v = UINT64_MAX;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	dh_check(f != NULL);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, n) && line[n] == ':')
			v = strtoull(line + n + 1, NULL, base);
	fclose(f);
	dh_check(v != UINT64_MAX);
	return v;
}

/* What the daemon can keep: those of KEPT that we had to give it. */
static uint64_t kept;

static void check_caps(pid_t pid)
{
	dh_check_eq(status_field(pid, "CapEff", 16), kept);
	dh_check_eq(status_field(pid, "CapPrm", 16), kept);
	dh_check_eq(status_field(pid, "CapBnd", 16), kept);
	dh_check_eq(status_field(pid, "CapInh", 16), 0);
	dh_check_eq(status_field(pid, "CapAmb", 16), 0);
	dh_check_eq(status_field(pid, "NoNewPrivs", 10), 1);
}

int main(void)
{
	struct dh_daemon d;
	struct luo_status st;
	uint64_t update;
	pid_t engine;
	int ctl;

	kept = status_field(getpid(), "CapEff", 16) & KEPT;
	if (geteuid() != 0 || !(kept & (1ull << CAP_DAC_OVERRIDE)))
		dh_skip("needs root with CAP_DAC_OVERRIDE");
	if (!(kept & (1ull << CAP_SYS_RESOURCE)))
		fprintf(stderr, "no CAP_SYS_RESOURCE to give: checking CAP_DAC_OVERRIDE alone\n");
	dh_check_eq(dh_start(&d, NULL), 0);
	ctl = luo_open_at(d.socket, LUO_OPEN_CONTROL);
	dh_check(ctl >= 0);
	dh_check_eq(luo_status(ctl, &st), 0);
	check_caps(dh_engine_pid(&d));
	dh_check_eq(luo_reboot(ctl, -1, &update), 0);
	dh_check_eq(update, 2);
	dh_check_eq(luo_status(ctl, &st), 0);
	dh_check_eq(st.pid, dh_engine_pid(&d));
	check_caps(dh_engine_pid(&d));
	/*
	 * A crash of the engine: the vault, which read that the first engine
	 * served before it saw it die, has dropped its capabilities, and the
	 * engine it starts keeps the same one.
	 */
	engine = dh_engine_pid(&d);
	dh_check_eq(kill(engine, SIGKILL), 0);
	dh_check_eq(luo_status(ctl, &st), 0);
	dh_check(st.pid != (uint32_t)engine);
	check_caps(d.pid);
	check_caps((pid_t)st.pid);
	luo_close(ctl);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	return DH_PASS;
}
