// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Who may UPGRADE, and liveupdatectl's upgrade command (issue 9, item 1;
 * DESIGN.md section 7a).  A member of the --group group gets EPERM on a
 * device open and on a control open, with and without an image, and
 * nothing changes; root's "liveupdatectl upgrade [--exec PATH]" upgrades
 * and keeps a client's session, "--json" says so, and a failed upgrade
 * exits 1 with nothing changed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e.h"
#include "testusers.h"

static const char *sock;
static const char *ctl_path;

static int user_upgrade(void *unused)
{
	int dev = luo_open_at(sock, LUO_OPEN_DEVICE);
	int ctl = luo_open_at(sock, LUO_OPEN_CONTROL);
	int exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);

	if (dev < 0 || ctl < 0 || exe < 0)
		return 10;
	if (luo_upgrade(dev, -1) != -EPERM || luo_upgrade(ctl, -1) != -EPERM ||
	    luo_upgrade(dev, exe) != -EPERM || luo_upgrade(ctl, exe) != -EPERM)
		return 11;
	return 0;
}

/* liveupdatectl with @args; its output into @out; its exit code. */
static int run_ctl(const char *const *args, char *out, size_t len)
{
	const char *argv[8] = { "liveupdatectl", "--socket", sock };
	int p[2], status;
	size_t i = 3, n = 0;
	ssize_t r;
	pid_t pid;

	while (*args && i < 7)
		argv[i++] = *args++;
	argv[i] = NULL;
	dh_check_eq(pipe(p), 0);
	pid = fork();
	dh_check(pid >= 0);
	if (!pid) {
		dup2(p[1], 1);
		execv(ctl_path, (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	while (n + 1 < len && (r = read(p[0], out + n, len - n - 1)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(p[0]);
	dh_check_eq(waitpid(pid, &status, 0), pid);
	return dh_exit_code(status);
}

int main(void)
{
	static const char *const plain[] = { "upgrade", NULL };
	const char *with_exec[] = { "upgrade", "--exec", NULL, NULL };
	static const char *const json[] = { "--json", "upgrade", NULL };
	static const char *const bad[] = { "upgrade", "--exec", "/nonexistent",
					   NULL };
	static const char *const misuse[] = { "status", "--exec", "/x", NULL };
	struct tu_group group;
	struct tu_user user;
	const char *args[] = { "--group", NULL, NULL };
	char out[512], name[LIVEUPDATE_SESSION_NAME_LENGTH];
	struct luo_status st;
	struct dh_daemon d;
	int dev, sfd;

	ctl_path = getenv("LIVEUPDATECTL");
	if (!ctl_path)
		dh_skip("LIVEUPDATECTL is not set");
	if (geteuid() != 0 || !tu_available())
		dh_skip("needs root, useradd and groupadd");
	dh_check_eq(tu_group_create(&group, "upa"), 0);
	dh_check_eq(tu_user_create(&user, "upu", &group), 0);
	args[1] = group.name;
	dh_check_eq(dh_start(&d, args), 0);
	sock = d.socket;
	dev = luo_open_at(sock, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	sfd = luo_create_session(dev, "kept");
	dh_check(sfd >= 0);

	dh_check_eq(tu_run_as(&user, user_upgrade, NULL), 0);
	e2e_status(sock, &st);
	dh_check_eq(st.nr_outgoing, 1);

	dh_check_eq(run_ctl(plain, out, sizeof(out)), 0);
	dh_check(!strcmp(out, "upgrade done\n"));
	with_exec[2] = dh_binary();
	dh_check_eq(run_ctl(with_exec, out, sizeof(out)), 0);
	dh_check_eq(run_ctl(json, out, sizeof(out)), 0);
	dh_check(strstr(out, "\"upgraded\"") && strstr(out, "true"));
	dh_check_eq(run_ctl(bad, out, sizeof(out)), 1);
	dh_check_eq(run_ctl(misuse, out, sizeof(out)), 2);
	/* The client's session fd and device open carried on throughout. */
	dh_check_eq(luo_session_get_name(sfd, name, sizeof(name)), 0);
	dh_check(!strcmp(name, "kept"));
	e2e_status(sock, &st);
	dh_check_eq(st.pid, dh_engine_pid(&d));
	dh_check_eq(st.update_number, 1);
	dh_check(st.flags & LUO_STATUS_DEVICE_OPEN);
	close(sfd);
	luo_close(dev);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	tu_user_remove(&user);
	tu_group_remove(&group);
	return DH_PASS;
}
