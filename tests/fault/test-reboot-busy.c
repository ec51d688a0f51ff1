// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Issue 8, item 13.  Two REBOOTs at once: the one that arrives while the
 * other is under way (here: while the new image runs and has not taken
 * over yet) gets the documented EBUSY, not ENODEV from a connection that
 * died with the exec.  A #! script can be the new image: the exec fd must
 * be open for its interpreter, and the new image closes it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e.h"
#include "wire-client.h"

struct fifos {
	char dir[PATH_MAX];
	char notify[PATH_MAX + 16];
	char go[PATH_MAX + 16];
	int notify_fd;
	int go_fd;
};

/* Read and write: neither the image's open nor our read blocks wrongly. */
static void fifos_make(struct fifos *f)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(f->dir, sizeof(f->dir), "%s/luo-busy-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	dh_check(mkdtemp(f->dir) != NULL);
	snprintf(f->notify, sizeof(f->notify), "%s/notify", f->dir);
	snprintf(f->go, sizeof(f->go), "%s/go", f->dir);
	dh_check_eq(mkfifo(f->notify, 0600), 0);
	dh_check_eq(mkfifo(f->go, 0600), 0);
	f->notify_fd = open(f->notify, O_RDWR | O_CLOEXEC);
	f->go_fd = open(f->go, O_RDWR | O_CLOEXEC);
	dh_check(f->notify_fd >= 0 && f->go_fd >= 0);
}

static void fifos_free(struct fifos *f)
{
	close(f->notify_fd);
	close(f->go_fd);
	unlink(f->notify);
	unlink(f->go);
	rmdir(f->dir);
}

/* In a child: REBOOT into rb-image; exit code: its errno. */
static pid_t start_reboot(const char *sock)
{
	pid_t pid = fork();
	uint64_t upd;
	int ctl, exe;

	dh_check(pid >= 0);
	if (pid)
		return pid;
	ctl = luo_open_at(sock, LUO_OPEN_CONTROL);
	exe = open(getenv("LUO_RB_IMAGE_PATH"), O_RDONLY | O_CLOEXEC);
	if (ctl < 0 || exe < 0)
		_exit(100);
	_exit(-luo_reboot(ctl, exe, &upd));
}

static int wait_code(pid_t pid)
{
	int status = 0;

	dh_check_eq(waitpid(pid, &status, 0), pid);
	return dh_exit_code(status);
}

static void test_two_reboots(void)
{
	struct luo_reboot arg = { .size = sizeof(arg) };
	struct luo_wire_rep rep;
	struct luo_status st;
	struct dh_daemon d;
	struct fifos f;
	pid_t first;
	int second;
	char c;

	if (!getenv("LUO_RB_IMAGE_PATH"))
		dh_skip("LUO_RB_IMAGE_PATH is not set");
	fifos_make(&f);
	setenv("LUO_RB_IMAGE", "pass", 1);
	setenv("LUO_RB_NOTIFY", f.notify, 1);
	setenv("LUO_RB_GO", f.go, 1);
	dh_check_eq(dh_start(&d, NULL), 0);
	unsetenv("LUO_RB_NOTIFY");
	unsetenv("LUO_RB_GO");
	second = wc_open(d.socket, LUO_WIRE_MODE_CONTROL);
	dh_check(second >= 0);
	first = start_reboot(d.socket);
	dh_check_eq(read(f.notify_fd, &c, 1), 1);	/* the new image runs */
	/* The second REBOOT, while the first is under way. */
	dh_check_eq(wc_send(second, LUO_IOCTL_REBOOT, &arg, sizeof(arg), NULL,
			    0), 0);
	dh_check_eq(write(f.go_fd, "g", 1), 1);
	dh_check_eq(wait_code(first), 0);
	dh_check(wc_recv(second, &rep, &arg, sizeof(arg), NULL) >= 0);
	dh_check_eq(rep.result, -EBUSY);
	close(second);
	e2e_status(d.socket, &st);
	dh_check_eq(st.update_number, 2);
	dh_check_eq(st.pid, dh_engine_pid(&d));
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	fifos_free(&f);
}

/* REBOOT into "#!/bin/sh" that execs liveupdated with its arguments. */
static void test_script(void)
{
	char path[PATH_MAX + 16];
	struct luo_status st;
	struct dh_daemon d;
	uint64_t upd = 0;
	int fd, ctl, base;
	FILE *s;

	if (access("/bin/sh", X_OK))
		dh_skip("no /bin/sh");
	dh_check_eq(dh_start(&d, NULL), 0);
	snprintf(path, sizeof(path), "%s/new-image.sh", d.dir);
	s = fopen(path, "w");
	dh_check(s != NULL);
	fprintf(s, "#!/bin/sh\nexec \"%s\" \"$@\"\n", dh_binary());
	dh_check_eq(fclose(s), 0);
	dh_check_eq(chmod(path, 0755), 0);
	base = e2e_daemon_fds(&d);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	dh_check(fd >= 0);
	ctl = luo_open_at(d.socket, LUO_OPEN_CONTROL);
	dh_check(ctl >= 0);
	dh_check_eq(luo_reboot(ctl, fd, &upd), 0);
	dh_check_eq(upd, 2);
	close(fd);
	dh_check_eq(luo_status(ctl, &st), 0);
	dh_check_eq(st.pid, dh_engine_pid(&d));
	luo_close(ctl);
	/* The script's fd was closed by the image it started. */
	dh_check_eq(e2e_daemon_fds(&d), base);
	dh_check_eq(dh_stop(&d), 0);
	unlink(path);
	dh_cleanup(&d);
}

int main(void)
{
	test_two_reboots();
	test_script();
	return DH_PASS;
}
