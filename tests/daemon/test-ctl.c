// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What the tools tell: the reason a file was refused (libluo's
 * luo_session_last_error() and liveupdatectl check), liveupdatectl show
 * and drop against a real daemon, and a failed REBOOT reported with the
 * reason the daemon recorded and, while it waits, what it waits for.
 * $LIVEUPDATECTL is the tool, $LUO_CTL_IMAGE_PATH an image that exits or
 * hangs instead of taking over (ctl-image.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "daemon-harness.h"

static const char *ctl_bin;

/* liveupdatectl with @args; fds 3 and 4 from @fd3 and @fd4 if not -1. */
static int run_ctl(const char *const *args, int fd3, int fd4, char *out,
		   size_t len)
{
	return dh_run_output(ctl_bin, args, fd3, fd4, out, len);
}

#define expect dh_expect_output

static void expect_not(const char *out, const char *what)
{
	if (strstr(out, what)) {
		fprintf(stderr, "unexpected \"%s\" in:\n%s\n", what, out);
		dh_fail(__FILE__, __LINE__, what);
	}
}

static int new_memfd(const char *text)
{
	int fd = memfd_create("ctl", MFD_CLOEXEC);

	dh_check(fd >= 0);
	dh_check_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	return fd;
}

static void check_last(int sfd, int error, uint64_t token, const char *why)
{
	struct luo_session_error e;

	dh_check_eq(luo_session_last_error(sfd, &e), 0);
	dh_check_eq(e.size, sizeof(e));
	dh_check_eq(e.error, error);
	dh_check_eq(e.token, token);
	if (!why) {
		dh_check_eq(e.reason[0], '\0');
	} else if (!strstr(e.reason, why)) {
		fprintf(stderr, "reason \"%s\", expected \"%s\"\n", e.reason,
			why);
		dh_fail(__FILE__, __LINE__, why);
	}
}

/* The reason a file was refused reaches the client, per session. */
static void test_last_error(int dev)
{
	int sfd, other, ep, mfd, mfd2, in;

	sfd = luo_create_session(dev, "refusals");
	other = luo_create_session(dev, "other");
	dh_check(sfd >= 0 && other >= 0);
	check_last(sfd, 0, 0, NULL);

	ep = epoll_create1(EPOLL_CLOEXEC);
	dh_check(ep >= 0);
	dh_check_eq(luo_session_preserve_fd(sfd, ep, 7), -ENOENT);
	check_last(sfd, ENOENT, 7, "epoll: it watches fds of its owner's fd table");
	/* The record is the session's: another session has none. */
	check_last(other, 0, 0, NULL);

	mfd = new_memfd("kept");
	dh_check_eq(luo_session_preserve_fd(sfd, mfd, 1), 0);
	/* A success leaves the last failure in place. */
	check_last(sfd, ENOENT, 7, "epoll");
	mfd2 = new_memfd("second");
	dh_check_eq(luo_session_preserve_fd(sfd, mfd2, 1), -EEXIST);
	check_last(sfd, EEXIST, 1, "token is in use");
	dh_check_eq(luo_session_preserve_fd(other, mfd, 2), -EBUSY);
	check_last(other, EBUSY, 2, "preserved already");
	dh_check_eq(luo_session_preserve_fd(sfd, -1, 9), -EBADF);
	check_last(sfd, EBADF, 9, "no open file");

	/* An incoming session takes no file, and says so. */
	dh_check_eq(luo_session_handover(sfd, 0), 0);
	dh_check_eq(luo_session_last_error(sfd, &(struct luo_session_error){ 0 }),
		    -ENOENT);
	close(sfd);
	in = luo_retrieve_session(dev, "refusals");
	dh_check(in >= 0);
	check_last(in, 0, 0, NULL);
	dh_check_eq(luo_session_preserve_fd(in, mfd2, 3), -EINVAL);
	check_last(in, EINVAL, 3, "incoming");
	dh_check_eq(luo_session_finish(in), 0);
	close(in);
	close(other);
	close(ep);
	close(mfd);
	close(mfd2);
}

/* liveupdatectl check: the refused file's reason, in words. */
static void test_check(const char *sock)
{
	int ep = epoll_create1(EPOLL_CLOEXEC), mfd = new_memfd("x");
	char out[4096];

	dh_check(ep >= 0);
	dh_check_eq(run_ctl((const char *[]){ "liveupdatectl", "-s", sock,
					      "check", "fd:3", "fd:4", NULL },
			    ep, mfd, out, sizeof(out)), 1);
	expect(out, "fd:3: refused: No such file or directory: epoll: it watches fds of its owner's fd table");
	expect(out, "fd:4: can be preserved");
	dh_check_eq(run_ctl((const char *[]){ "liveupdatectl", "-s", sock,
					      "check", "fd:4", NULL },
			    -1, mfd, out, sizeof(out)), 0);
	expect(out, "fd:4: can be preserved");
	dh_check_eq(run_ctl((const char *[]){ "liveupdatectl", "-s", sock,
					      "--json", "check", "fd:3", NULL },
			    ep, -1, out, sizeof(out)), 1);
	expect(out, "\"preservable\":false");
	expect(out, "\"error\":2");
	close(ep);
	close(mfd);
}

/* An outgoing session with one memfd, handed over: incoming, unretrieved. */
static void park(int dev, const char *name, uint64_t token, uint32_t flags)
{
	int sfd = luo_create_session(dev, name), mfd = new_memfd(name);

	dh_check(sfd >= 0);
	dh_check_eq(luo_session_preserve_fd(sfd, mfd, token), 0);
	dh_check_eq(luo_session_handover(sfd, flags), 0);
	close(sfd);
	close(mfd);
}

static void test_show_drop(const char *sock, int dev)
{
	const char *show_stale[] = { "liveupdatectl", "-s", sock, "show",
				     "stale", NULL };
	const char *drop_stale[] = { "liveupdatectl", "-s", sock, "drop",
				     "stale", NULL };
	int ctl = luo_open_at(sock, LUO_OPEN_CONTROL), sfd, fd;
	char out[4096], buf[8] = { 0 };
	uint32_t nr = 99;

	dh_check(ctl >= 0);
	park(dev, "stale", 5, 0);
	dh_check_eq(run_ctl(show_stale, -1, -1, out, sizeof(out)), 0);
	expect(out, "session:    stale");
	expect(out, "owner:      0");
	expect(out, "direction:  incoming");
	expect(out, "state:      open");
	expect(out, "files:      1");
	expect(out, "5 (0x5)");
	expect(out, "memfd-v2");
	expect(out, "not retrieved");

	dh_check_eq(run_ctl(drop_stale, -1, -1, out, sizeof(out)), 0);
	expect(out, "dropped session 'stale' of uid 0: 1 files");
	dh_check_eq(luo_retrieve_session(dev, "stale"), -ENOENT);
	dh_check_eq(run_ctl(show_stale, -1, -1, out, sizeof(out)), 1);
	expect(out, "liveupdatectl: show: no session 'stale'");
	dh_check_eq(run_ctl(drop_stale, -1, -1, out, sizeof(out)), 1);
	expect(out, "liveupdatectl: drop: no incoming session 'stale'");

	/* Held by a session fd: EBUSY, the session untouched. */
	park(dev, "held", 1, 0);
	sfd = luo_retrieve_session(dev, "held");
	dh_check(sfd >= 0);
	dh_check_eq(luo_drop_session(ctl, "held", 0, &nr), -EBUSY);
	dh_check_eq(run_ctl((const char *[]){ "liveupdatectl", "-s", sock,
					      "drop", "held", "--owner", "0",
					      NULL }, -1, -1, out,
			    sizeof(out)), 1);
	expect(out, "held by a session fd");
	fd = luo_session_retrieve_fd(sfd, 1);
	dh_check(fd >= 0);
	close(fd);
	close(sfd);	/* the implicit FINISH ends it */
	dh_check_eq(luo_drop_session(ctl, "held", 0, NULL), -ENOENT);

	/*
	 * A retriever that died before FINISH (KEEP_ON_CLOSE puts the session
	 * back): drop finishes it, and the file it retrieved stays its own.
	 */
	park(dev, "kept", 2, LUO_HANDOVER_KEEP_ON_CLOSE);
	sfd = luo_retrieve_session(dev, "kept");
	dh_check(sfd >= 0);
	fd = luo_session_retrieve_fd(sfd, 2);
	dh_check(fd >= 0);
	close(sfd);
	dh_check_eq(luo_drop_session(ctl, "kept", 0, &nr), 0);
	dh_check_eq(nr, 1);
	dh_check_eq(pread(fd, buf, 4, 0), 4);
	dh_check(!memcmp(buf, "kept", 4));
	close(fd);
	dh_check_eq(luo_retrieve_session(dev, "kept"), -ENOENT);

	/* Only incoming sessions; a name is 1 to 63 bytes. */
	sfd = luo_create_session(dev, "out");
	dh_check(sfd >= 0);
	dh_check_eq(luo_drop_session(ctl, "out", 0, NULL), -ENOENT);
	close(sfd);
	dh_check_eq(luo_drop_session(ctl, "", 0, NULL), -EINVAL);
	dh_check_eq(luo_drop_session(dev, "nope", 0, NULL), -ENOENT);
	luo_close(ctl);
}

/*
 * The daemon that serves after a rollback, and its status.  Without a
 * vault, a rollback may run the old image under another pid (the
 * keeper's): the one we
 * started is then reaped, and the one serving is ours as subreaper.
 */
static void after_rollback(struct dh_daemon *d, struct luo_status *st)
{
	int ctl = luo_open_at(d->socket, LUO_OPEN_CONTROL), status;

	dh_check(ctl >= 0);
	dh_check_eq(luo_status(ctl, st), 0);
	luo_close(ctl);
	/* Under a vault it recovered the engine: nothing of ours died. */
	if (!d->no_vault)
		return;
	if (st->pid != (uint32_t)d->pid) {
		dh_check_eq(waitpid(d->pid, &status, 0), d->pid);
		d->pid = (pid_t)st->pid;
	}
}

static void set_image(const char *mode)
{
	dh_check_eq(setenv("LUO_CTL_IMAGE", mode, 1), 0);
}

/* A REBOOT into an image that never takes over: the recorded reason. */
static void test_reboot_failure(const char *image)
{
	const char *const args[] = { "--takeover-timeout", "2500", NULL };
	struct luo_status st;
	struct dh_daemon d;
	char out[4096], line[200];

	set_image("exit");
	dh_check_eq(dh_start(&d, args), 0);
	dh_check_eq(run_ctl((const char *[]){ "liveupdatectl", "-s", d.socket,
					      "reboot", "--exec", image, NULL },
			    -1, -1, out, sizeof(out)), 1);
	after_rollback(&d, &st);
	dh_check_eq(st.failed_reboots, 1);
	dh_check_eq(st.takeover_ms, 2500);
	dh_check(st.last_reboot_failure[0]);
	snprintf(line, sizeof(line), "liveupdatectl: reboot failed: %s",
		 st.last_reboot_failure);
	expect(out, line);
	expect(out, "nothing changed");
	/* stderr is no terminal and no --verbose: no word about waiting. */
	expect_not(out, "waiting");
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);

	set_image("hang");
	dh_check_eq(dh_start(&d, args), 0);
	dh_check_eq(run_ctl((const char *[]){ "liveupdatectl", "-s", d.socket,
					      "--verbose", "reboot", "--exec",
					      image, NULL },
			    -1, -1, out, sizeof(out)), 1);
	expect(out, "liveupdatectl: waiting for the new image to take over (takeover timeout 2.5 s)\n");
	after_rollback(&d, &st);
	snprintf(line, sizeof(line), "liveupdatectl: reboot failed: %s",
		 st.last_reboot_failure);
	expect(out, line);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	unsetenv("LUO_CTL_IMAGE");
}

int main(void)
{
	const char *image = getenv("LUO_CTL_IMAGE_PATH");
	struct dh_daemon d;
	int dev;

	ctl_bin = getenv("LIVEUPDATECTL");
	if (!ctl_bin || !image)
		dh_skip("LIVEUPDATECTL and LUO_CTL_IMAGE_PATH not set");
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		dh_skip("no PR_SET_CHILD_SUBREAPER");
	dh_check_eq(dh_start(&d, NULL), 0);
	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	test_last_error(dev);
	test_show_drop(d.socket, dev);
	luo_close(dev);
	test_check(d.socket);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	test_reboot_failure(image);
	return DH_PASS;
}
