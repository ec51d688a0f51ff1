// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * liveupdatectl against the fake daemon: what it asks, what it prints,
 * its exit codes.  argv[1] is the liveupdatectl binary.
 */
#include "fake.h"

static const char *ctl;

/* Run liveupdatectl with @args; its stdout+stderr into @out. */
static int run_ctl(char *const *args, char *out, size_t len)
{
	int p[2], status;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		execv(ctl, args);
		_exit(127);
	}
	close(p[1]);
	while (got < len - 1 && (n = read(p[0], out + got, len - 1 - got)) > 0)
		got += n;
	out[got] = '\0';
	close(p[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Answer one request of liveupdatectl's. */
static void srv_request(int c, const struct fake_msg *req)
{
	struct luo_list_record recs[3];
	struct luo_drop_session drop;
	struct luo_status st;
	struct luo_reboot rb;
	struct luo_list l;
	struct fake_msg m = *req;

	switch (m.req.cmd) {
	case LUO_IOCTL_STATUS:
		memcpy(&st, m.arg, sizeof(st));
		st.update_number = 7;
		st.pid = 4321;
		st.flags = LUO_STATUS_DEVICE_OPEN;
		st.nr_outgoing = 2;
		st.nr_incoming = 1;
		st.nr_files = 5;
		st.max_sessions = 10000;
		st.max_files = 10000;
		st.last_reboot_ns = 12345678;
		strcpy(st.version, "0.1.0");
		fake_reply(c, 0, &st, sizeof(st), NULL, 0, -1);
		break;
	case LUO_IOCTL_LIST:
		memcpy(&l, m.arg, sizeof(l));
		memset(recs, 0, sizeof(recs));
		recs[0].type = LUO_LIST_SESSION;
		recs[0].direction = LUO_INCOMING;
		recs[0].state = LUO_SESSION_RETRIEVED;
		recs[0].nr_files = 2;
		recs[0].owner = 4711;
		strcpy(recs[0].name, "vm-1");
		recs[1].type = LUO_LIST_FILE;
		recs[1].direction = LUO_INCOMING;
		recs[1].token = 255;
		recs[1].retrieve_status = 1;
		strcpy(recs[1].name, "memfd-v2");
		recs[2] = recs[1];
		recs[2].token = 3;
		recs[2].retrieve_status = -ENOMEM;
		l.nr_records = 3;
		l.done = 1;
		fake_reply(c, 0, &l, sizeof(l), recs, sizeof(recs), -1);
		break;
	case LUO_IOCTL_REBOOT:
		memcpy(&rb, m.arg, sizeof(rb));
		CHECK_EQ(rb.flags, LUO_REBOOT_EXEC_FD);
		CHECK_EQ(m.nr_fds, 1);
		fake_close_fds(&m);
		rb.update_number = 8;
		fake_reply(c, 0, &rb, sizeof(rb), NULL, 0, -1);
		break;
	case LUO_IOCTL_DROP_SESSION:
		memcpy(&drop, m.arg, sizeof(drop));
		CHECK_EQ(drop.owner, 4711);
		CHECK(!strcmp(drop.name, "vm-1"));
		drop.nr_files = 2;
		fake_reply(c, 0, &drop, sizeof(drop), NULL, 0, -1);
		break;
	default:
		fake_reply(c, -EINVAL, NULL, 0, NULL, 0, -1);
		fake_failures++;
	}
}

/* Accept one control connection and answer its requests until it closes. */
static int srv_one(int lfd, void *ctx)
{
	struct luo_wire_open op;
	struct fake_msg m;
	int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	CHECK_EQ(fake_recv(c, &m), 0);
	CHECK_EQ(m.req.cmd, LUO_WIRE_OPEN);
	memcpy(&op, m.arg, sizeof(op));
	CHECK_EQ(op.mode, LUO_OPEN_CONTROL);
	fake_reply(c, 0, &op, sizeof(op), NULL, 0, -1);

	while (!fake_recv(c, &m) && m.n > 0)
		srv_request(c, &m);
	close(c);
	return 0;
}

static void expect(const char *out, const char *what)
{
	if (!strstr(out, what)) {
		fprintf(stderr, "missing \"%s\" in:\n%s\n", what, out);
		fake_failures++;
	}
}

int main(int argc, char **argv)
{
	char path[PATH_MAX], out[16384];
	int lfd;
	pid_t pid;

	if (argc < 2)
		return 77;
	ctl = argv[1];
	lfd = fake_listen(path, sizeof(path));
	if (lfd < 0)
		return 77;

	pid = fake_start_listener(lfd, srv_one, NULL);
	CHECK_EQ(run_ctl((char *[]){ "liveupdatectl", "--socket", path,
				     "status", NULL }, out, sizeof(out)), 0);
	CHECK_SERVER(pid);
	expect(out, "update number:   7");
	expect(out, "daemon pid:      4321");
	expect(out, "2 outgoing, 1 incoming");
	expect(out, "device held:     yes");
	expect(out, "rebooting:       no");
	expect(out, "12.345 ms");

	pid = fake_start_listener(lfd, srv_one, NULL);
	CHECK_EQ(run_ctl((char *[]){ "liveupdatectl", "-s", path, "--json",
				     "status", NULL }, out, sizeof(out)), 0);
	CHECK_SERVER(pid);
	expect(out, "\"update_number\":7");
	expect(out, "\"device_held\":true");
	expect(out, "\"last_reboot_ns\":12345678");

	pid = fake_start_listener(lfd, srv_one, NULL);
	CHECK_EQ(run_ctl((char *[]){ "liveupdatectl", "--socket", path,
				     "list", NULL }, out, sizeof(out)), 0);
	CHECK_SERVER(pid);
	expect(out, "vm-1");
	expect(out, "OWNER");
	expect(out, " 4711 ");
	expect(out, "incoming");
	expect(out, "retrieved");
	expect(out, "255 (0xff)");
	expect(out, "memfd-v2");
	expect(out, "failed: Cannot allocate memory");

	pid = fake_start_listener(lfd, srv_one, NULL);
	CHECK_EQ(run_ctl((char *[]){ "liveupdatectl", "--socket", path,
				     "--json", "list", NULL }, out,
			 sizeof(out)), 0);
	CHECK_SERVER(pid);
	expect(out, "\"token_hex\":\"0xff\"");
	expect(out, "\"owner\":4711");
	expect(out, "\"handler\":\"memfd-v2\"");

	pid = fake_start_listener(lfd, srv_one, NULL);
	CHECK_EQ(run_ctl((char *[]){ "liveupdatectl", "--socket", path,
				     "reboot", "--exec", "/proc/self/exe",
				     NULL }, out, sizeof(out)), 0);
	CHECK_SERVER(pid);
	expect(out, "reboot done: update number 8");

	pid = fake_start_listener(lfd, srv_one, NULL);
	CHECK_EQ(run_ctl((char *[]){ "liveupdatectl", "--socket", path,
				     "show", "vm-1", NULL }, out, sizeof(out)),
		 0);
	CHECK_SERVER(pid);
	expect(out, "session:    vm-1");
	expect(out, "owner:      4711");
	expect(out, "state:      retrieved");
	expect(out, "255 (0xff)");
	expect(out, "failed: Cannot allocate memory");

	pid = fake_start_listener(lfd, srv_one, NULL);
	CHECK_EQ(run_ctl((char *[]){ "liveupdatectl", "--socket", path,
				     "show", "vm-1", "--owner", "1", NULL },
			 out, sizeof(out)), 1);
	CHECK_SERVER(pid);
	expect(out, "liveupdatectl: show: no session 'vm-1' of uid 1");

	/* Without --owner, drop finds the one incoming session's owner. */
	pid = fake_start_listener(lfd, srv_one, NULL);
	CHECK_EQ(run_ctl((char *[]){ "liveupdatectl", "--socket", path,
				     "drop", "vm-1", NULL }, out, sizeof(out)),
		 0);
	CHECK_SERVER(pid);
	expect(out, "dropped session 'vm-1' of uid 4711: 2 files");

	close(lfd);
	fake_unlink(path);
	CHECK_EQ(run_ctl((char *[]){ "liveupdatectl", "--socket", path,
				     "status", NULL }, out, sizeof(out)), 1);
	expect(out, "is liveupdated running?");
	CHECK_EQ(run_ctl((char *[]){ "liveupdatectl", "frobnicate", NULL },
			 out, sizeof(out)), 2);
	CHECK_EQ(run_ctl((char *[]){ "liveupdatectl", NULL }, out,
			 sizeof(out)), 2);
	CHECK_EQ(run_ctl((char *[]){ "liveupdatectl", "--exec", "x",
				     "status", NULL }, out, sizeof(out)), 2);
	/* One prefix: never getopt's, which names the binary's full path. */
	CHECK_EQ(run_ctl((char *[]){ "/some/where/liveupdatectl", "--bogus",
				     "status", NULL }, out, sizeof(out)), 2);
	expect(out, "liveupdatectl: unknown option '--bogus'");
	CHECK(!strstr(out, "/some/where"));
	CHECK_EQ(run_ctl((char *[]){ "/some/where/liveupdatectl", "-q",
				     "status", NULL }, out, sizeof(out)), 2);
	expect(out, "liveupdatectl: unknown option '-q'");
	CHECK(!strstr(out, "/some/where"));
	CHECK_EQ(run_ctl((char *[]){ "/some/where/liveupdatectl", "status",
				     "--socket", NULL }, out, sizeof(out)), 2);
	expect(out, "liveupdatectl: option '--socket' needs an argument");
	CHECK(!strstr(out, "/some/where"));
	CHECK_EQ(run_ctl((char *[]){ "liveupdatectl", "show", NULL }, out,
			 sizeof(out)), 2);
	CHECK_EQ(run_ctl((char *[]){ "liveupdatectl", "drop", "a", "b", NULL },
			 out, sizeof(out)), 2);
	CHECK_EQ(run_ctl((char *[]){ "liveupdatectl", "--owner", "x", "drop",
				     "a", NULL }, out, sizeof(out)), 2);
	CHECK_EQ(run_ctl((char *[]){ "liveupdatectl", "--owner", "1",
				     "status", NULL }, out, sizeof(out)), 2);
	CHECK_EQ(run_ctl((char *[]){ "liveupdatectl", "help", NULL }, out,
			 sizeof(out)), 0);
	expect(out, "Usage:");
	CHECK_EQ(run_ctl((char *[]){ "liveupdatectl", "--version", NULL }, out,
			 sizeof(out)), 0);
	expect(out, "liveupdatectl (luo)");
	return fake_result("test-liveupdatectl");
}
