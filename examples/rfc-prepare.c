// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * rfc-prepare: the RFC global state machine from an agent's side.
 *
 * Run it once: the state is NORMAL, so it prepares (PREPARED: nothing more
 * can be preserved) and waits for the update ("liveupdatectl reboot"; press
 * Enter or close stdin afterwards).  Run it again: the new orchestrator
 * image is UPDATED, so it finishes, and the state is NORMAL again.
 *
 * Build: cc rfc-prepare.c -lluo      (LUO_SOCKET names the socket)
 */
#include <stdio.h>
#include <string.h>

#include <luo/liveupdate-rfc.h>

/* The update happens meanwhile; the preservation lives as long as we do. */
static void wait_for_enter(void)
{
	int c;

	do
		c = getchar();
	while (c != EOF && c != '\n');
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "rfc-prepare: %s: %s\n", what, strerror(-err));
	luo_cleanup();
	return 1;
}

static int show_state(void)
{
	enum liveupdate_state state;
	int ret = luo_get_state(&state);

	if (ret)
		return ret;
	printf("state: %s\n", luo_state_to_string(state));
	fflush(stdout);
	return (int)state;
}

int main(void)
{
	int ret;

	ret = luo_init();
	if (ret)
		return fail("luo_init", ret);
	ret = show_state();
	if (ret < 0)
		return fail("luo_get_state", ret);
	if (ret == LIVEUPDATE_STATE_UPDATED) {
		ret = luo_finish();
		if (ret)
			return fail("luo_finish", ret);
	} else {
		ret = luo_prepare();
		if (ret)
			return fail("luo_prepare", ret);
		ret = show_state();
		if (ret < 0)
			return fail("luo_get_state", ret);
		printf("prepared; reboot the orchestrator, then press Enter\n");
		fflush(stdout);
		wait_for_enter();
		luo_cleanup();
		return 0;
	}
	ret = show_state();
	if (ret < 0)
		return fail("luo_get_state", ret);
	luo_cleanup();
	return 0;
}
