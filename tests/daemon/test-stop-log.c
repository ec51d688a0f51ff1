// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A stop says what it discards (issue 8 item 8), at notice, the default
 * level: with an incoming session (from a REBOOT), an outgoing one and a
 * parked one (LUO_IOCTL_HANDOVER), SIGTERM logs the totals and one line
 * per session with its name, kind and files; with nothing held, a line
 * says so.  The daemon's stderr goes to a file the test reads.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "daemon-harness.h"

static const char *const args[] = { "--log-level", "notice", NULL };

/* Starts a daemon whose stderr is a new temporary file: its fd. */
static int start_logged(struct dh_daemon *d)
{
	int log = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	int saved = dup(2);

	dh_check(log >= 0 && saved >= 0);
	dh_check_eq(dup2(log, 2), 2);
	dh_check_eq(dh_start(d, args), 0);
	dh_check_eq(dup2(saved, 2), 2);
	close(saved);
	return log;
}

/* The whole log, NUL-terminated; echoed to our stderr. */
static char *read_log(int log)
{
	static char buf[65536];
	ssize_t n = pread(log, buf, sizeof(buf) - 1, 0);

	dh_check(n >= 0);
	buf[n] = '\0';
	fputs(buf, stderr);
	close(log);
	return buf;
}

static void preserve(int sess, uint64_t token)
{
	int fd = memfd_create("stop-log", MFD_CLOEXEC);

	dh_check(fd >= 0);
	dh_check_eq(luo_session_preserve_fd(sess, fd, token), 0);
	close(fd);
}

static void check_line(const char *log, const char *line)
{
	if (!strstr(log, line)) {
		fprintf(stderr, "missing: %s\n", line);
		dh_fail(__FILE__, __LINE__, "a line is missing");
	}
}

static void test_sessions(void)
{
	struct dh_daemon d;
	int log = start_logged(&d), dev, a, b, c;
	char *text;

	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	a = luo_create_session(dev, "across");
	dh_check(a >= 0);
	preserve(a, 1);
	preserve(a, 2);
	luo_close(dev);
	dh_check_eq(luo_reboot(a = luo_open_at(d.socket, LUO_OPEN_CONTROL),
			       -1, NULL), 0);
	luo_close(a);
	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	b = luo_create_session(dev, "kept");
	dh_check(b >= 0);
	preserve(b, 1);
	c = luo_create_session(dev, "parked");
	dh_check(c >= 0);
	preserve(c, 1);
	dh_check_eq(luo_session_handover(c, 0), 0);
	luo_close(c);
	dh_check_eq(dh_stop(&d), 0);
	text = read_log(log);
	check_line(text, "notice: stopping: discarding 3 sessions (1 outgoing, "
		   "1 incoming, 1 parked) and 4 files");
	check_line(text, "notice: stopping: discarding outgoing session 'kept' "
		   "with 1 file\n");
	check_line(text, "notice: stopping: discarding incoming session "
		   "'across' with 2 files\n");
	check_line(text, "notice: stopping: discarding parked session 'parked' "
		   "with 1 file\n");
	luo_close(b);
	luo_close(dev);
	dh_cleanup(&d);
}

static void test_nothing(void)
{
	struct dh_daemon d;
	int log = start_logged(&d);

	dh_check_eq(dh_stop(&d), 0);
	check_line(read_log(log),
		   "notice: stopping: no sessions held, nothing discarded\n");
	dh_cleanup(&d);
}

int main(void)
{
	dh_binary();
	test_sessions();
	test_nothing();
	return DH_PASS;
}
