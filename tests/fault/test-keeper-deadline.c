// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A new image that hangs is killed at the take-over deadline
 * (--takeover-timeout) and the keeper runs the old image again: REBOOT
 * fails with ETIMEDOUT, everything comes back.  A client that connects
 * while the new image hangs waits in the listening socket's backlog and
 * is served by the rolled-back daemon.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rb.h"

static const char *const args[] = { "--takeover-timeout=300", NULL };
static const char *const args_keeper[] = {
	"--takeover-timeout=300", "--no-vault", NULL,
};

/* The whole cycle (rb_run) while nothing else happens. */
static void test_hang(void)
{
	const struct rb_case c = {
		.mode = "hang", .image = rb_image(), .args = args,
		.err = ETIMEDOUT, .failure = "did not take over in 300 ms",
		.new_pid = true, .status = SIGKILL,
	};

	rb_run(&c);
}

/*
 * Under the vault (the default) there is no keeper: the vault kills the
 * hung image itself and recovers the engine from its records, which
 * answers ETIMEDOUT and counts the failure as the keeper's rollback does.
 */
static void test_hang_vault(void)
{
	const struct rb_case c = {
		.mode = "hang", .image = rb_image(), .args = args,
		.err = ETIMEDOUT, .failure = "did not take over in 300 ms",
		.new_pid = true, .vault = true,
	};

	rb_run(&c);
}

/* In a child: REBOOT into the hanging image; exit code: its errno. */
static pid_t start_reboot(const char *sock)
{
	pid_t pid = fork();
	uint64_t upd;
	int ctl, exe;

	dh_check(pid >= 0);
	if (pid)
		return pid;
	ctl = luo_open_at(sock, LUO_OPEN_CONTROL);
	exe = open(rb_image(), O_RDONLY | O_CLOEXEC);
	if (ctl < 0 || exe < 0)
		_exit(100);
	_exit(-luo_reboot(ctl, exe, &upd));
}

/* In a child: connect while the new image hangs; 0 if served by update 1. */
static pid_t start_waiter(const char *sock)
{
	pid_t pid = fork();
	struct luo_status st;
	int ctl;

	dh_check(pid >= 0);
	if (pid)
		return pid;
	ctl = luo_open_at(sock, LUO_OPEN_CONTROL);
	if (ctl < 0 || luo_status(ctl, &st))
		_exit(101);
	_exit(st.update_number == 1 && st.failed_reboots == 1 ? 0 : 102);
}

static int wait_code(pid_t pid)
{
	int status = 0;

	dh_check_eq(waitpid(pid, &status, 0), pid);
	return dh_exit_code(status);
}

static void test_backlog(void)
{
	const char *tmp = getenv("TMPDIR");
	char dir[PATH_MAX], fifo[PATH_MAX + 16], c;
	struct dh_daemon d;
	struct luo_status st;
	pid_t rebooter, waiter;
	int fd;

	snprintf(dir, sizeof(dir), "%s/luo-rb-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	dh_check(mkdtemp(dir) != NULL);
	snprintf(fifo, sizeof(fifo), "%s/notify", dir);
	dh_check_eq(mkfifo(fifo, 0600), 0);
	/* Read and write: the read blocks until the image writes. */
	fd = open(fifo, O_RDWR | O_CLOEXEC);
	dh_check(fd >= 0);
	setenv("LUO_RB_IMAGE", "hang", 1);
	setenv("LUO_RB_NOTIFY", fifo, 1);
	dh_check_eq(dh_start(&d, args_keeper), 0);
	rebooter = start_reboot(d.socket);
	dh_check_eq(read(fd, &c, 1), 1);	/* the new image runs, and hangs */
	close(fd);
	waiter = start_waiter(d.socket);
	dh_check_eq(wait_code(waiter), 0);
	dh_check_eq(wait_code(rebooter), ETIMEDOUT);
	dh_check_eq(dh_wait(&d), 128 + SIGKILL);
	e2e_status(d.socket, &st);
	d.pid = (pid_t)st.pid;
	dh_check_eq(rb_children(d.pid), 0);
	dh_check_eq(dh_stop(&d), 0);
	unlink(fifo);
	rmdir(dir);
	unsetenv("LUO_RB_NOTIFY");
	dh_cleanup(&d);
}

int main(void)
{
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		dh_skip("no PR_SET_CHILD_SUBREAPER");
	test_hang();
	test_hang_vault();
	test_backlog();
	return DH_PASS;
}
