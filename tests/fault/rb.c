// SPDX-License-Identifier: LGPL-2.1-or-later
/* Shared pieces of the rollback and keeper tests; see rb.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rb.h"

#define RB_SIZE	(64u << 10)

/* Two sessions, three memfds: what must survive every failure. */
static const struct rb_file {
	const char *session;
	uint64_t token;
	uint64_t seed;
	off_t pos;
} rb_files[] = {
	{ "alpha", 1, 11, 100 }, { "alpha", 2, 22, 0 }, { "beta", 7, 33, 4095 },
};

#define RB_NR_FILES	(sizeof(rb_files) / sizeof(rb_files[0]))

struct rb_held {
	int dev;
	int sfd[2];
};

const char *rb_image(void)
{
	const char *p = getenv("LUO_RB_IMAGE_PATH");

	if (!p || !*p)
		dh_skip("LUO_RB_IMAGE_PATH is not set");
	return p;
}

static void rb_preserve(const char *sock, struct rb_held *h)
{
	size_t i;
	int m, s;

	h->dev = luo_open_at(sock, LUO_OPEN_DEVICE);
	dh_check(h->dev >= 0);
	h->sfd[0] = luo_create_session(h->dev, "alpha");
	h->sfd[1] = luo_create_session(h->dev, "beta");
	dh_check(h->sfd[0] >= 0 && h->sfd[1] >= 0);
	for (i = 0; i < RB_NR_FILES; i++) {
		s = h->sfd[strcmp(rb_files[i].session, "alpha") != 0];
		m = e2e_memfd(RB_SIZE, rb_files[i].seed, rb_files[i].pos);
		dh_check(m >= 0);
		dh_check_eq(luo_session_preserve_fd(s, m, rb_files[i].token), 0);
		close(m);
	}
}

static void rb_retrieve(const char *sock, const char *name)
{
	int dev = luo_open_at(sock, LUO_OPEN_DEVICE), sfd, m;
	size_t i;

	dh_check(dev >= 0);
	sfd = luo_retrieve_session(dev, name);
	dh_check(sfd >= 0);
	for (i = 0; i < RB_NR_FILES; i++) {
		if (strcmp(rb_files[i].session, name))
			continue;
		m = luo_session_retrieve_fd(sfd, rb_files[i].token);
		dh_check(m >= 0);
		dh_check(e2e_memfd_ok(m, RB_SIZE, rb_files[i].seed));
		dh_check_eq(lseek(m, 0, SEEK_CUR), rb_files[i].pos);
		close(m);
	}
	dh_check_eq(luo_session_finish(sfd), 0);
	close(sfd);
	luo_close(dev);
}

/**
 * rb_children() - how many children @pid has, zombies included
 * @pid: a process
 *
 * Return: the count.
 */
int rb_children(pid_t pid)
{
	DIR *dir = opendir("/proc");
	char path[300], buf[512], *p;
	struct dirent *e;
	int n = 0, fd, ppid;
	ssize_t len;

	dh_check(dir != NULL);
	while ((e = readdir(dir))) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		buf[len] = '\0';
		p = strrchr(buf, ')');
		if (p && sscanf(p + 1, " %*c %d", &ppid) == 1 && ppid == pid)
			n++;
	}
	closedir(dir);
	return n;
}

/* STATUS after the failed REBOOT, on the connection that asked. */
static void rb_check_status(int ctl, const struct rb_case *c, pid_t pid)
{
	struct luo_status st;

	dh_check_eq(luo_status(ctl, &st), 0);
	dh_check_eq(st.update_number, 1);
	dh_check_eq(st.failed_reboots, 1);
	dh_check_eq(st.last_reboot_error, c->err);
	if (!strstr(st.last_reboot_failure, c->failure)) {
		fprintf(stderr, "failure: \"%s\", want \"%s\"\n",
			st.last_reboot_failure, c->failure);
		dh_check(!"the failure says why");
	}
	/* Nothing changed: outgoing stay outgoing, the device stays held. */
	dh_check_eq(st.nr_outgoing, 2);
	dh_check_eq(st.nr_incoming, 0);
	dh_check_eq(st.nr_files, RB_NR_FILES);
	dh_check(st.flags & LUO_STATUS_DEVICE_OPEN);
	dh_check(c->new_pid ? st.pid != (uint32_t)pid : st.pid == (uint32_t)pid);
}

/*
 * The old daemon is reaped; the rolled-back one is ours (subreaper).
 * Under a vault, the vault recovered the engine: it stays our child.
 */
static void rb_follow(struct dh_daemon *d, const struct rb_case *c)
{
	struct luo_status st;

	e2e_status(d->socket, &st);
	if (!c->new_pid || c->vault)
		return;
	dh_check_eq(dh_wait(d), dh_exit_code(c->status));
	d->pid = (pid_t)st.pid;
}

static int rb_unpreserve(int sfd, uint64_t token)
{
	struct luo_session_unpreserve_fd arg = {
		.size = sizeof(arg), .token = token,
	};

	return luo_ioctl(sfd, LUO_SESSION_UNPRESERVE_FD, &arg);
}

/*
 * The clients' fds work as before the attempt: the session fds preserve
 * and unpreserve, the device open is still the one held, and nothing
 * became incoming.
 */
static void rb_check_alive(const char *sock, const struct rb_held *h)
{
	char name[LIVEUPDATE_SESSION_NAME_LENGTH];
	int m = e2e_memfd(4096, 99, 0), dev;

	dh_check_eq(luo_session_get_name(h->sfd[0], name, sizeof(name)), 0);
	dh_check(!strcmp(name, "alpha"));
	dh_check_eq(luo_session_get_name(h->sfd[1], name, sizeof(name)), 0);
	dh_check(!strcmp(name, "beta"));
	dh_check_eq(luo_session_preserve_fd(h->sfd[1], m, 99), 0);
	dh_check_eq(luo_session_preserve_fd(h->sfd[0], m, 99), -EBUSY);
	dh_check_eq(rb_unpreserve(h->sfd[1], 99), 0);
	dh_check_eq(rb_unpreserve(h->sfd[1], 99), -ENOENT);
	close(m);
	dh_check_eq(luo_retrieve_session(h->dev, "alpha"), -ENOENT);
	dh_check_eq(luo_create_session(h->dev, "alpha"), -EEXIST);
	dev = luo_open_at(sock, LUO_OPEN_DEVICE);
	dh_check_eq(dev, -EBUSY);
}

/**
 * rb_run() - one failed self-upgrade, start to end
 * @c: the case
 *
 * A daemon preserves two sessions; REBOOT into @c->image fails with
 * @c->err; STATUS says why under the same update number; nothing changed:
 * the sessions are outgoing, their fds and the device open work, the
 * daemon holds what it held; no zombie.  A REBOOT right after it loses
 * nothing: every file, token, byte and position comes back.
 */
void rb_run(const struct rb_case *c)
{
	struct dh_daemon d;
	struct rb_held h;
	struct luo_status st;
	char name[LIVEUPDATE_SESSION_NAME_LENGTH];
	uint64_t upd = 0;
	pid_t pid;
	int base, held, ctl, exe;

	const char *args[16];
	size_t n = 0;

	while (c->args && c->args[n] && n < 14) {
		args[n] = c->args[n];
		n++;
	}
	if (!c->vault)
		args[n++] = "--no-vault";	/* the keeper's case */
	args[n] = NULL;
	if (c->mode)
		setenv("LUO_RB_IMAGE", c->mode, 1);
	dh_check_eq(dh_start(&d, args), 0);
	pid = dh_engine_pid(&d);
	base = e2e_daemon_fds(&d);
	rb_preserve(d.socket, &h);
	held = e2e_daemon_fds(&d);
	ctl = luo_open_at(d.socket, LUO_OPEN_CONTROL);
	dh_check(ctl >= 0);
	exe = open(c->image, O_RDONLY | O_CLOEXEC);
	dh_check(exe >= 0);
	dh_check_eq(luo_reboot(ctl, exe, &upd), -c->err);
	close(exe);
	rb_check_status(ctl, c, pid);
	luo_close(ctl);
	rb_follow(&d, c);
	rb_check_alive(d.socket, &h);
	/*
	 * A recovered engine is a new process: it holds what the records
	 * name, not what the first engine inherited from whoever started
	 * it, nor a reserve fd it has not reopened yet; never more.
	 */
	if (c->vault)
		dh_check(e2e_daemon_fds(&d) <= held);
	else
		dh_check_eq(e2e_daemon_fds(&d), held);
	dh_check_eq(rb_children(dh_engine_pid(&d)), 0);
	/* A REBOOT at once loses nothing; it ends the clients' fds. */
	dh_check_eq(e2e_reboot(d.socket, &upd), 0);
	dh_check_eq(upd, 2);
	dh_check(luo_session_get_name(h.sfd[0], name, sizeof(name)) < 0);
	close(h.sfd[0]);
	close(h.sfd[1]);
	luo_close(h.dev);
	rb_retrieve(d.socket, "alpha");
	rb_retrieve(d.socket, "beta");
	if (c->vault)
		dh_check(e2e_daemon_fds(&d) <= base);
	else
		dh_check_eq(e2e_daemon_fds(&d), base);
	e2e_status(d.socket, &st);
	dh_check_eq(st.failed_reboots, 1);	/* carried to the next image */
	dh_check_eq(st.last_reboot_error, 0);
	dh_check_eq(rb_children(dh_engine_pid(&d)), 0);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
}
