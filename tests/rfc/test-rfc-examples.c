// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The two README examples of the RFC-era libluo, run as their README says,
 * against a private liveupdated: run once, reboot the orchestrator, run
 * again.  Usage: test-rfc-examples RFC_PRESERVE RFC_PREPARE (the binaries
 * built in the tree, or compiled against the install tree by
 * rfc-install.sh).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e.h"

struct child {
	pid_t pid;
	int in;		/* its stdin; closing it is "press Enter" */
	FILE *out;	/* its stdout */
};

static void spawn(const char *prog, struct child *c)
{
	int in[2], out[2];

	dh_check_eq(pipe2(in, O_CLOEXEC), 0);
	dh_check_eq(pipe2(out, O_CLOEXEC), 0);
	c->pid = fork();
	dh_check(c->pid >= 0);
	if (!c->pid) {
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
			_exit(127);
		execl(prog, prog, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	c->in = in[1];
	c->out = fdopen(out[0], "r");
	dh_check(c->out);
}

/* Reads lines until one starts with @prefix. */
static void expect(struct child *c, const char *prefix)
{
	char line[256];

	while (fgets(line, sizeof(line), c->out)) {
		fputs(line, stderr);
		if (!strncmp(line, prefix, strlen(prefix)))
			return;
	}
	fprintf(stderr, "no line starting with \"%s\"\n", prefix);
	dh_fail(__FILE__, __LINE__, "expected output");
}

/* Closes its stdin, reads what is left, reaps it: its exit code. */
static int reap(struct child *c)
{
	char line[256];
	int status;

	if (c->in >= 0)
		close(c->in);
	c->in = -1;
	while (fgets(line, sizeof(line), c->out))
		fputs(line, stderr);
	fclose(c->out);
	dh_check_eq(waitpid(c->pid, &status, 0), c->pid);
	return dh_exit_code(status);
}

static int get_state(const char *sock)
{
	struct luo_ioctl_get_state gs = { .size = sizeof(gs) };
	int ctl = luo_open_at(sock, LUO_OPEN_CONTROL), ret;

	dh_check(ctl >= 0);
	ret = luo_ioctl(ctl, LUO_IOCTL_GET_STATE, &gs);
	luo_close(ctl);
	return ret ? ret : (int)gs.state;
}

static void run_preserve(const char *prog, const char *sock)
{
	struct child c;

	spawn(prog, &c);
	expect(&c, "state: normal");
	expect(&c, "preserved token");
	dh_check_eq(e2e_reboot(sock, NULL), 0);
	dh_check_eq(reap(&c), 0);
	dh_check_eq(get_state(sock), LIVEUPDATE_STATE_UPDATED);

	spawn(prog, &c);
	close(c.in);
	c.in = -1;
	expect(&c, "state: updated");
	expect(&c, "restored: hello from before the live update");
	expect(&c, "state: normal");
	dh_check_eq(reap(&c), 0);
	dh_check_eq(get_state(sock), LIVEUPDATE_STATE_NORMAL);
}

static void run_prepare(const char *prog, const char *sock)
{
	struct child c;

	spawn(prog, &c);
	expect(&c, "state: normal");
	expect(&c, "state: prepared");
	expect(&c, "prepared;");
	dh_check_eq(get_state(sock), LIVEUPDATE_STATE_PREPARED);
	dh_check_eq(e2e_reboot(sock, NULL), 0);
	dh_check_eq(reap(&c), 0);
	dh_check_eq(get_state(sock), LIVEUPDATE_STATE_UPDATED);

	spawn(prog, &c);
	close(c.in);
	c.in = -1;
	expect(&c, "state: updated");
	expect(&c, "state: normal");
	dh_check_eq(reap(&c), 0);
	dh_check_eq(get_state(sock), LIVEUPDATE_STATE_NORMAL);
}

int main(int argc, char **argv)
{
	struct dh_daemon d;
	struct luo_status st;

	if (argc != 3) {
		fprintf(stderr, "usage: %s RFC_PRESERVE RFC_PREPARE\n", argv[0]);
		return DH_FAIL;
	}
	if (dh_start(&d, NULL))
		dh_skip("cannot start liveupdated");
	dh_check_eq(setenv("LUO_SOCKET", d.socket, 1), 0);
	run_preserve(argv[1], d.socket);
	run_prepare(argv[2], d.socket);
	e2e_status(d.socket, &st);
	dh_check_eq(st.update_number, 3);
	dh_check_eq(st.nr_incoming, 0);
	dh_check_eq(st.nr_outgoing, 0);
	dh_check_eq(st.nr_files, 0);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	return DH_PASS;
}
