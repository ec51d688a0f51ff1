// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * 32 clients mid-cycle across 100 UPGRADEs (issue 9, item 5).  Each
 * client is a user of its own (testusers.h; a device hold is per uid)
 * that holds the device and a session kept open from start to end, and
 * loops: create a session, preserve a memfd, HANDOVER, retrieve the
 * session by name, retrieve the file and check its bytes, finish, close.
 * Meanwhile root's control connection sends 100 UPGRADEs back to back.
 * No client request fails, no UPGRADE fails, every client's device open
 * and kept session fd work at the end, the pid never changes, and nothing
 * is left behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e.h"
#include "testusers.h"

#define NR_CLIENTS	32
#define NR_UPGRADES	100
#define FILE_SIZE	8192

static const char *sock;
static int stop[2] = { -1, -1 };	/* EOF once the UPGRADEs are done */
static int ready[2] = { -1, -1 };	/* a byte from each running client */

static bool stopped(void)
{
	struct pollfd p = { .fd = stop[0], .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

#define TRY(cond, what) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "client %d: %s: cycle %d: %s\n",	\
			(int)getuid(), what, cycles, strerror(errno));	\
		return 1;						\
	}								\
} while (0)

static int one_cycle(int dev, int cycles)
{
	char name[32];
	int sfd, m, r, got;

	snprintf(name, sizeof(name), "c%d", cycles);
	sfd = luo_create_session(dev, name);
	TRY(sfd >= 0, "create");
	m = e2e_memfd(FILE_SIZE, (uint64_t)cycles, 3);
	TRY(m >= 0, "memfd");
	r = luo_session_preserve_fd(sfd, m, 1);
	close(m);
	TRY(!r, "preserve");
	TRY(!luo_session_handover(sfd, 0), "handover");
	close(sfd);
	sfd = luo_retrieve_session(dev, name);
	TRY(sfd >= 0, "retrieve");
	got = luo_session_retrieve_fd(sfd, 1);
	TRY(got >= 0, "retrieve_fd");
	TRY(e2e_memfd_ok(got, FILE_SIZE, (uint64_t)cycles), "bytes");
	TRY(lseek(got, 0, SEEK_CUR) == 3, "position");
	close(got);
	TRY(!luo_session_finish(sfd), "finish");
	close(sfd);
	return 0;
}

static int client(void *unused)
{
	char name[LIVEUPDATE_SESSION_NAME_LENGTH];
	struct luo_status st;
	int dev, keep, m, cycles = 0;

	/* Only the parent holds the ends whose close the others wait for. */
	close(stop[1]);
	close(ready[0]);
	dev = luo_open_at(sock, LUO_OPEN_DEVICE);
	TRY(dev >= 0, "open");
	keep = luo_create_session(dev, "keep");
	TRY(keep >= 0, "create keep");
	m = e2e_memfd(FILE_SIZE, 7, 0);
	TRY(m >= 0 && !luo_session_preserve_fd(keep, m, 7), "preserve keep");
	close(m);
	TRY(write(ready[1], "r", 1) == 1, "ready");
	close(ready[1]);
	while (!stopped()) {
		if (one_cycle(dev, cycles))
			return 1;
		cycles++;
	}
	/* The fds it held all along still work. */
	TRY(!luo_session_get_name(keep, name, sizeof(name)), "keep name");
	TRY(!strcmp(name, "keep"), "keep name");
	TRY(!luo_status(dev, &st), "status");
	TRY(st.flags & LUO_STATUS_DEVICE_OPEN, "device held");
	TRY(st.nr_outgoing == 1 && st.nr_incoming == 0 && st.nr_files == 1,
	    "counts");
	close(keep);
	luo_close(dev);
	printf("client %d: %d cycles\n", (int)getuid(), cycles);
	return 0;
}

int main(void)
{
	static struct tu_user users[NR_CLIENTS];
	struct tu_group group;
	const char *args[] = { "--group", NULL, "--log-level", "notice",
			       NULL };
	struct luo_status st;
	struct dh_daemon d;
	pid_t pids[NR_CLIENTS];
	int ctl, status, base, i;
	char c;

	if (geteuid() != 0 || !tu_available())
		dh_skip("needs root, useradd and groupadd");
	dh_check_eq(tu_group_create(&group, "upg"), 0);
	for (i = 0; i < NR_CLIENTS; i++) {
		char tag[8];

		snprintf(tag, sizeof(tag), "u%d", i);
		dh_check_eq(tu_user_create(&users[i], tag, &group), 0);
	}
	args[1] = group.name;
	dh_check_eq(dh_start(&d, args), 0);
	sock = d.socket;
	base = e2e_daemon_fds(&d);
	dh_check_eq(pipe2(stop, O_CLOEXEC), 0);
	dh_check_eq(pipe2(ready, O_CLOEXEC), 0);
	for (i = 0; i < NR_CLIENTS; i++) {
		pids[i] = tu_spawn_as(&users[i], client, NULL);
		dh_check(pids[i] > 0);
	}
	close(ready[1]);
	for (i = 0; i < NR_CLIENTS; i++)
		dh_check_eq(read(ready[0], &c, 1), 1);
	ctl = luo_open_at(sock, LUO_OPEN_CONTROL);
	dh_check(ctl >= 0);
	for (i = 0; i < NR_UPGRADES; i++)
		dh_check_eq(luo_upgrade(ctl, -1), 0);
	dh_check_eq(luo_status(ctl, &st), 0);
	dh_check_eq(st.pid, dh_engine_pid(&d));
	dh_check_eq(st.update_number, 1);
	close(stop[1]);
	for (i = 0; i < NR_CLIENTS; i++) {
		dh_check_eq(waitpid(pids[i], &status, 0), pids[i]);
		dh_check(WIFEXITED(status));
		dh_check_eq(WEXITSTATUS(status), 0);
	}
	dh_check_eq(luo_status(ctl, &st), 0);
	dh_check_eq(st.nr_outgoing + st.nr_incoming, 0);
	luo_close(ctl);
	dh_check_eq(e2e_daemon_fds(&d), base);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	for (i = 0; i < NR_CLIENTS; i++)
		tu_user_remove(&users[i]);
	tu_group_remove(&group);
	return DH_PASS;
}
