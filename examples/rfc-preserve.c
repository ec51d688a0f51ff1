// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * rfc-preserve: keep a memfd across a live update with the RFC libluo API.
 *
 * Run it once: the state is NORMAL, so it writes a message into a memfd,
 * preserves it under a token and waits, holding the preservation, until
 * the update happens ("liveupdatectl reboot"; press Enter or close stdin
 * afterwards).  Run it again: the state is UPDATED, so it restores the
 * memfd, prints the message and finishes, which returns the orchestrator
 * to NORMAL.
 *
 * Build: cc rfc-preserve.c -lluo      (LUO_SOCKET names the socket)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <luo/liveupdate-rfc.h>

#define TOKEN	0x1234
#define MESSAGE	"hello from before the live update"

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
	fprintf(stderr, "rfc-preserve: %s: %s\n", what, strerror(-err));
	luo_cleanup();
	return 1;
}

static int preserve(void)
{
	int fd = memfd_create("rfc-preserve", MFD_CLOEXEC);
	int ret;

	if (fd < 0)
		return fail("memfd_create", -errno);
	if (write(fd, MESSAGE, sizeof(MESSAGE)) != sizeof(MESSAGE)) {
		close(fd);
		return fail("write", -EIO);
	}
	ret = luo_fd_preserve(fd, TOKEN);
	close(fd);	/* the orchestrator holds it now */
	if (ret)
		return fail("luo_fd_preserve", ret);
	printf("preserved token %#x; reboot the orchestrator, then press Enter\n",
	       TOKEN);
	fflush(stdout);
	wait_for_enter();
	luo_cleanup();
	return 0;
}

static int restore(void)
{
	char buf[sizeof(MESSAGE)] = "";
	enum liveupdate_state state;
	int fd, ret;

	ret = luo_fd_restore(TOKEN, &fd);
	if (ret)
		return fail("luo_fd_restore", ret);
	if (pread(fd, buf, sizeof(buf), 0) != sizeof(buf) ||
	    memcmp(buf, MESSAGE, sizeof(buf))) {
		close(fd);
		return fail("the restored memfd", -EBADMSG);
	}
	printf("restored: %s\n", buf);
	close(fd);
	ret = luo_finish();
	if (ret)
		return fail("luo_finish", ret);
	ret = luo_get_state(&state);
	if (ret)
		return fail("luo_get_state", ret);
	printf("state: %s\n", luo_state_to_string(state));
	luo_cleanup();
	return 0;
}

int main(void)
{
	enum liveupdate_state state;
	int ret;

	if (!luo_is_available()) {
		fprintf(stderr, "rfc-preserve: no live update orchestrator\n");
		return 1;
	}
	ret = luo_init();
	if (ret)
		return fail("luo_init", ret);
	ret = luo_get_state(&state);
	if (ret)
		return fail("luo_get_state", ret);
	printf("state: %s\n", luo_state_to_string(state));
	if (state == LIVEUPDATE_STATE_UPDATED)
		return restore();
	return preserve();
}
