// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * blackout-probe: the client side of bench/blackout/blackout.sh.
 *
 *   blackout-probe probe PORT            measure the blackout (probe.c)
 *   blackout-probe fill PORT MIB BYTES   fill the server (fill.c)
 *   blackout-probe stats PORT            print the server's item count
 *   blackout-probe hold PORT N           hold N idle connections (hold.c)
 *   blackout-probe next-second           wait for the clock's next second
 */
#include <stdio.h>
#include <string.h>

#include "bo.h"

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} cmds[] = {
		{ "probe", bo_probe }, { "fill", bo_fill },
		{ "stats", bo_stats }, { "hold", bo_hold },
		{ "next-second", bo_next_second },
	};
	int ret = 2;

	for (size_t i = 0; argc > 1 && i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (!strcmp(argv[1], cmds[i].name))
			ret = cmds[i].fn(argc - 1, argv + 1);
	}
	if (ret == 2)
		fprintf(stderr, "usage: blackout-probe probe PORT | fill PORT MIB BYTES |"
			" stats PORT | hold PORT N | next-second\n");
	return ret;
}
