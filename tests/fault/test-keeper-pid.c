// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Issue 8, item 7: the keeper's pid.
 *
 * (a) Without pidfds (LUO_FAULT_NO_PIDFD, as on a kernel where pidfd_open
 * fails with ENOSYS), a daemon that dies right after it started its keeper
 * must not make the keeper SIGKILL the daemon's supervisor, which inherits
 * the keeper: the keeper knows the daemon's pid from before its fork.  The
 * rollback runs and says the right pid.
 *
 * (b) Under a service manager's notify protocol (a fake one here: a
 * datagram socket as NOTIFY_SOCKET that tracks MAINPID), the process the
 * manager tracks is, after a keeper rollback, the one that serves, alive,
 * with nothing lost; after a REBOOT that takes over, the daemon's pid.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rb.h"

/* A session "vm" holding one memfd; returns the session fd. */
static int hold(const char *sock, int *dev)
{
	int sfd, m;

	*dev = luo_open_at(sock, LUO_OPEN_DEVICE);
	dh_check(*dev >= 0);
	sfd = luo_create_session(*dev, "vm");
	dh_check(sfd >= 0);
	m = e2e_memfd(8192, 5, 3);
	dh_check_eq(luo_session_preserve_fd(sfd, m, 1), 0);
	close(m);
	return sfd;
}

static void check_kept(int sfd)
{
	char name[LIVEUPDATE_SESSION_NAME_LENGTH];
	int m = e2e_memfd(4096, 6, 0);

	dh_check_eq(luo_session_get_name(sfd, name, sizeof(name)), 0);
	dh_check_eq(luo_session_preserve_fd(sfd, m, 2), 0);
	close(m);
}

/* (a), in a supervisor child that inherits the keeper: never killed. */
static void supervise(void)
{
	static const char *const args[] = {
		"--fault-injection", "--no-vault", NULL,
	};
	char want[64];
	struct luo_status st;
	struct dh_daemon d;
	uint64_t upd;
	int dev, sfd, ctl;
	pid_t daemon;

	dh_check_eq(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
	setenv("LUO_FAULT_NO_PIDFD", "1", 1);
	setenv("LUO_FAULT_KILL_AT", "keeper", 1);
	dh_check_eq(dh_start(&d, args), 0);
	daemon = d.pid;
	sfd = hold(d.socket, &dev);
	ctl = luo_open_at(d.socket, LUO_OPEN_CONTROL);
	dh_check(ctl >= 0);
	dh_check_eq(luo_reboot(ctl, -1, &upd), -ENOEXEC);
	dh_check_eq(luo_status(ctl, &st), 0);
	snprintf(want, sizeof(want), "(pid %d)", (int)daemon);
	if (!strstr(st.last_reboot_failure, want)) {
		fprintf(stderr, "failure: \"%s\", want \"%s\"\n",
			st.last_reboot_failure, want);
		dh_check(!"the keeper names the daemon's pid");
	}
	dh_check(st.pid != (uint32_t)daemon);
	dh_check_eq(st.nr_outgoing, 1);
	luo_close(ctl);
	check_kept(sfd);
	dh_check_eq(dh_wait(&d), 128 + SIGKILL);
	d.pid = (pid_t)st.pid;	/* the keeper serves; it is ours now */
	close(sfd);
	luo_close(dev);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	exit(DH_PASS);
}

static void test_no_pidfd(void)
{
	pid_t pid = fork();
	int status = 0;

	dh_check(pid >= 0);
	if (pid == 0)
		supervise();
	dh_check_eq(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		fprintf(stderr, "the supervisor was killed by signal %d\n",
			WTERMSIG(status));
	dh_check_eq(dh_exit_code(status), DH_PASS);
}

/* The fake service manager: what it was told, in order. */
struct manager {
	int fd;
	char path[PATH_MAX + 16];
	pid_t mainpid;
	int ready;
	int mainpids;
};

static void manager_start(struct manager *m, const char *dir)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(m->path, sizeof(m->path), "%.*s/notify", PATH_MAX - 1, dir);
	dh_check(strlen(m->path) < sizeof(sa.sun_path));
	strcpy(sa.sun_path, m->path);
	m->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	dh_check(m->fd >= 0);
	dh_check_eq(bind(m->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setenv("NOTIFY_SOCKET", m->path, 1);
	m->mainpid = 0;
	m->ready = 0;
	m->mainpids = 0;
}

/* Everything sent so far: every sender waited for its datagram to go. */
static void manager_read(struct manager *m)
{
	char buf[512], *line, *save;
	ssize_t n;

	while ((n = recv(m->fd, buf, sizeof(buf) - 1, 0)) > 0) {
		buf[n] = '\0';
		for (line = strtok_r(buf, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			if (!strncmp(line, "MAINPID=", 8)) {
				m->mainpid = (pid_t)atoi(line + 8);
				m->mainpids++;
			} else if (!strcmp(line, "READY=1")) {
				m->ready++;
			}
		}
	}
	dh_check(n < 0 && errno == EAGAIN);
}

static void manager_stop(struct manager *m)
{
	unsetenv("NOTIFY_SOCKET");
	close(m->fd);
	unlink(m->path);
}

static void test_notify(void)
{
	static const char *const args[] = {
		"--takeover-timeout=300", "--no-vault", NULL,
	};
	char dir[PATH_MAX];
	const char *tmp = getenv("TMPDIR");
	struct luo_status st;
	struct manager m;
	struct dh_daemon d;
	uint64_t upd;
	int dev, sfd, ctl, exe;

	snprintf(dir, sizeof(dir), "%s/luo-notify-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	dh_check(mkdtemp(dir) != NULL);
	manager_start(&m, dir);
	setenv("LUO_RB_IMAGE", "hang", 1);
	dh_check_eq(dh_start(&d, args), 0);
	manager_read(&m);
	dh_check_eq(m.mainpid, d.pid);
	dh_check_eq(m.ready, 1);
	sfd = hold(d.socket, &dev);
	/* The new image hangs; the keeper rolls back under its own pid. */
	ctl = luo_open_at(d.socket, LUO_OPEN_CONTROL);
	dh_check(ctl >= 0);
	exe = open(rb_image(), O_RDONLY | O_CLOEXEC);
	dh_check(exe >= 0);
	dh_check_eq(luo_reboot(ctl, exe, &upd), -ETIMEDOUT);
	close(exe);
	dh_check_eq(luo_status(ctl, &st), 0);
	luo_close(ctl);
	manager_read(&m);
	dh_check(st.pid != (uint32_t)d.pid);
	dh_check_eq(m.mainpid, st.pid);		/* it tracks what serves */
	dh_check_eq(kill(m.mainpid, 0), 0);
	dh_check_eq(m.ready, 2);
	dh_check_eq(st.nr_outgoing, 1);
	check_kept(sfd);
	dh_check_eq(dh_wait(&d), 128 + SIGKILL);
	d.pid = (pid_t)st.pid;
	/* A REBOOT that takes over: the main pid is the daemon's again. */
	dh_check_eq(e2e_reboot(d.socket, &upd), 0);
	manager_read(&m);
	e2e_status(d.socket, &st);
	dh_check_eq(st.pid, d.pid);
	dh_check_eq(m.mainpid, d.pid);
	dh_check_eq(m.ready, 3);
	close(sfd);
	luo_close(dev);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	manager_stop(&m);
	rmdir(dir);
}

int main(void)
{
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		dh_skip("no PR_SET_CHILD_SUBREAPER");
	test_no_pidfd();
	test_notify();
	return DH_PASS;
}
