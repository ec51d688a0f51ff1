// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The engine's records cost what changed, not the whole state
 * (liveupdated(8), "Crash recovery"; issue 9, "Cost").
 *
 * Each commit used to write a handover of the whole state, every file in
 * it: 10,000 preserved files made each PRESERVE_FD cost milliseconds.  The
 * handover a commit writes now leaves the files out, and each file is a
 * slot of its own, written copy-on-write.  Here:
 *
 *   - with FILES files preserved, the committed handover stays as small
 *     as with none, and preserving and unpreserving one more file many
 *     times reuses slots instead of growing the memfd;
 *   - a crash after the file slots are written but before the commit
 *     flips ("records-files") leaves the previous state whole: a
 *     preserve, an unpreserve and a retrieve interrupted there fail with
 *     EIO and can be done again, and every file is there byte for byte;
 *   - after kill -9 of the engine, every one of the FILES files is
 *     retrievable with its contents.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "daemon-harness.h"
#include "vault_proto.h"

#define FILES	2000	/* far more than one small handover's worth */
#define CHURN	3000	/* preserve + unpreserve rounds */

static char flag[64];

/* The engine's records header, read through its memfd. */
static void read_header(pid_t engine, struct records_header *h)
{
	dh_records_read(engine, h, sizeof(*h));
}

static int make_file(uint64_t token)
{
	int fd = memfd_create("records-files", MFD_CLOEXEC);

	dh_check(fd >= 0);
	dh_check_eq(pwrite(fd, &token, sizeof(token), 0), (long)sizeof(token));
	return fd;
}

static void check_file(int fd, uint64_t token)
{
	uint64_t v = 0;

	dh_check(fd >= 0);
	dh_check_eq(pread(fd, &v, sizeof(v), 0), (long)sizeof(v));
	dh_check_eq(v, token);
}

static int preserve(int sfd, uint64_t token)
{
	int fd = make_file(token), r = luo_session_preserve_fd(sfd, fd, token);

	close(fd);
	return r;
}

static int unpreserve(int sfd, uint64_t token)
{
	struct luo_session_unpreserve_fd un = {
		.size = sizeof(un), .token = token,
	};

	return luo_ioctl(sfd, LUO_SESSION_UNPRESERVE_FD, &un);
}

/* A daemon under a vault, whose engine dies once at @step after arm(). */
static pid_t start(struct dh_daemon *d, const char *step)
{
	return dh_start_killpoint(d, step, flag, sizeof(flag));
}

static void arm(void)
{
	dh_killpoint_arm(flag);
}

/* The engine died at the step; returns the new one. */
static pid_t killed(struct dh_daemon *d, pid_t engine)
{
	return dh_killpoint_fired(d, engine, flag);
}

static void stop(struct dh_daemon *d)
{
	dh_killpoint_stop(d, flag);
}

/* Hands @sfd's session over and checks tokens @first..@last, byte for byte. */
static void check_session(int dev, int sfd, const char *name, uint64_t first,
			  uint64_t last)
{
	int fd;

	dh_check_eq(luo_session_handover(sfd, 0), 0);
	close(sfd);
	sfd = luo_retrieve_session(dev, name);
	dh_check(sfd >= 0);
	for (uint64_t t = first; t <= last; t++) {
		fd = luo_session_retrieve_fd(sfd, t);
		check_file(fd, t);
		close(fd);
	}
	dh_check_eq(luo_session_finish(sfd), 0);
	close(sfd);
}

static void test_small_commits(void)
{
	struct dh_daemon d;
	struct records_header h;
	pid_t engine = start(&d, "none");
	int dev = luo_open_at(d.socket, LUO_OPEN_DEVICE), sfd;
	uint64_t empty;

	dh_check(dev >= 0);
	sfd = luo_create_session(dev, "many");
	dh_check(sfd >= 0);
	dh_check_eq(preserve(sfd, 1), 0);
	read_header(engine, &h);
	empty = h.slot[h.active & 1].len;
	for (uint64_t t = 2; t <= FILES; t++)
		dh_check_eq(preserve(sfd, t), 0);
	read_header(engine, &h);
	/* The files are not in the handover each commit writes. */
	dh_check(h.slot[h.active & 1].len == empty);
	dh_check(h.file_slots >= FILES && h.file_slots < 2 * FILES + 1024);
	for (int i = 0; i < CHURN; i++) {
		dh_check_eq(preserve(sfd, FILES + 1), 0);
		dh_check_eq(unpreserve(sfd, FILES + 1), 0);
	}
	read_header(engine, &h);
	/* Slots are reused once their end is committed. */
	dh_check(h.file_slots < 2 * FILES + 1024);
	/* Everything survives a crash at an arbitrary moment. */
	dh_check_eq(kill(engine, SIGKILL), 0);
	dh_wait_gone(engine, 10000);
	check_session(dev, sfd, "many", 1, FILES);
	close(dev);
	stop(&d);
	printf("ok: %d files, committed handover %llu bytes, %llu slots\n",
	       FILES, (unsigned long long)empty,
	       (unsigned long long)h.file_slots);
}

/* A crash between the file slots and the flip leaves the previous state. */
static void test_killed_before_flip(void)
{
	struct dh_daemon d;
	pid_t engine = start(&d, "records-files");
	int dev = luo_open_at(d.socket, LUO_OPEN_DEVICE), sfd, in, fd;

	dh_check(dev >= 0);
	sfd = luo_create_session(dev, "files");
	dh_check(sfd >= 0);
	for (uint64_t t = 1; t <= 3; t++)
		dh_check_eq(preserve(sfd, t), 0);
	in = luo_create_session(dev, "parked");
	dh_check(in >= 0);
	dh_check_eq(preserve(in, 7), 0);
	dh_check_eq(luo_session_handover(in, 0), 0);
	close(in);
	in = luo_retrieve_session(dev, "parked");
	dh_check(in >= 0);

	/* A new file: not recorded, so it can be preserved again. */
	arm();
	dh_check_eq(preserve(sfd, 4), -EIO);
	engine = killed(&d, engine);
	dh_check_eq(preserve(sfd, 4), 0);
	dh_check_eq(preserve(sfd, 4), -EEXIST);

	/* An unpreserve: still recorded, so it can be done again. */
	arm();
	dh_check_eq(unpreserve(sfd, 2), -EIO);
	engine = killed(&d, engine);
	dh_check_eq(preserve(sfd, 2), -EEXIST);
	dh_check_eq(unpreserve(sfd, 2), 0);
	dh_check_eq(preserve(sfd, 2), 0);

	/* A retrieve (a changed slot): the file is still to be retrieved. */
	arm();
	dh_check_eq(luo_session_retrieve_fd(in, 7), -EIO);
	engine = killed(&d, engine);
	fd = luo_session_retrieve_fd(in, 7);
	check_file(fd, 7);
	close(fd);
	dh_check_eq(luo_session_finish(in), 0);
	close(in);

	/*
	 * A recovery reads every slot: none that an interrupted commit left
	 * (token 4's first, numbered as the next engine's first commit) may
	 * come back as a second token 4.
	 */
	dh_check_eq(kill(engine, SIGKILL), 0);
	dh_wait_gone(engine, 10000);
	check_session(dev, sfd, "files", 1, 4);
	close(dev);
	stop(&d);
	printf("ok: killed between the file slots and the flip\n");
}

/*
 * A slot an interrupted commit wrote is numbered as the next engine's
 * first commit: it must not become part of the state when no later slot
 * write happens to reuse it.
 */
static void test_no_ghost(void)
{
	struct dh_daemon d;
	pid_t engine = start(&d, "records-files");
	int dev = luo_open_at(d.socket, LUO_OPEN_DEVICE), sfd, other;

	dh_check(dev >= 0);
	sfd = luo_create_session(dev, "empty");
	dh_check(sfd >= 0);
	arm();
	dh_check_eq(preserve(sfd, 4), -EIO);
	engine = killed(&d, engine);
	/* Commits that write no file slot. */
	other = luo_create_session(dev, "other");
	dh_check(other >= 0);
	close(other);
	dh_check_eq(kill(engine, SIGKILL), 0);
	dh_wait_gone(engine, 10000);
	dh_check_eq(preserve(sfd, 4), 0);
	check_session(dev, sfd, "empty", 4, 4);
	close(dev);
	stop(&d);
	printf("ok: no file of an interrupted commit comes back\n");
}

int main(void)
{
	alarm(100);
	test_small_commits();
	test_killed_before_flip();
	test_no_ghost();
	return DH_PASS;
}
