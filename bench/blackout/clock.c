// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * blackout-probe next-second: wait for the wall clock's next second.
 *
 * memcached 1.6 restores its -e cache only if it restarts in a later
 * second of CLOCK_REALTIME than the one it stopped in (memcached.c,
 * R_STOP_TIME: time_delta <= 0 starts a clean cache), so the benchmark's
 * memcached restart waits for exactly that, and reports how long it waited
 * ("waited_us=N") so that the table can show memcached's own part apart.
 */
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "bo.h"

/**
 * bo_next_second() - "next-second"
 * @argc: argument count
 * @argv: "next-second"
 *
 * Return: the exit status.
 */
int bo_next_second(int argc, char **argv)
{
	struct timespec now, at;
	double t0 = bo_now();
	int ret;

	(void)argv;
	if (argc != 1)
		return 2;
	clock_gettime(CLOCK_REALTIME, &now);
	at = (struct timespec){ .tv_sec = now.tv_sec + 1 };
	do
		ret = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &at, NULL);
	while (ret == EINTR);
	if (ret)
		return 1;
	printf("waited_us=%.0f\n", (bo_now() - t0) * 1e6);
	return 0;
}
