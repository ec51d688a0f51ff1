// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A new image that never takes over, for test-ctl's failed REBOOTs: with
 * $LUO_CTL_IMAGE "exit" it exits at once, with "hang" it waits until the
 * daemon's takeover deadline kills it.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	const char *mode = getenv("LUO_CTL_IMAGE");

	if (mode && !strcmp(mode, "hang"))
		for (;;)
			pause();
	return 3;
}
