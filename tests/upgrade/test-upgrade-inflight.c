// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Requests in flight across an UPGRADE (issue 9, item 1): none is lost.
 *
 * Queued: while the new image runs and has not taken over yet (rb-image
 * "pass", held by a FIFO), a client holding the device sends PRESERVE_FD
 * and GET_NAME on its session fd, CREATE_SESSION on its device open and
 * STATUS on a control open, without waiting.  They cross the exec unread
 * in their sockets, and the new image answers every one of them; the
 * UPGRADE itself is answered 0 by the new image.
 *
 * Unsent: replies the daemon could not send yet (the client reads
 * nothing) cross the exec with the requests queued behind them.
 *
 * Deferred: a RETRIEVE_FD that waits for a client's file (a tmpfs file
 * whose write lease its holder has not given up) cannot cross the exec;
 * UPGRADE gets EBUSY and changes nothing, the RETRIEVE_FD is answered once
 * the lease goes, and the UPGRADE after it keeps the retrieved file.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "up.h"
#include "wire-client.h"

/* One reply; its result. */
static int reply(int sock, void *arg, uint32_t len, int *fd)
{
	struct luo_wire_rep rep;
	int r;

	r = wc_recv(sock, &rep, arg, len, fd);
	return r ? r : rep.result;
}

/* In a child: UPGRADE into @image; exit code: its errno. */
static pid_t start_upgrade(const char *sock, const char *image)
{
	pid_t pid = fork();
	int ctl, exe;

	dh_check(pid >= 0);
	if (pid)
		return pid;
	ctl = luo_open_at(sock, LUO_OPEN_CONTROL);
	exe = open(image, O_RDONLY | O_CLOEXEC);
	if (ctl < 0 || exe < 0)
		_exit(100);
	_exit(-luo_upgrade(ctl, exe));
}

static int wait_code(pid_t pid)
{
	int status = 0;

	dh_check_eq(waitpid(pid, &status, 0), pid);
	return dh_exit_code(status);
}

static void test_queued(void)
{
	struct liveupdate_session_preserve_fd pre = {
		.size = sizeof(pre), .token = 2,
	};
	struct liveupdate_session_get_name gn = { .size = sizeof(gn) };
	struct liveupdate_ioctl_create_session cs = { .size = sizeof(cs) };
	struct luo_status st = { .size = sizeof(st) };
	char dir[] = "/tmp/luo-inflight-XXXXXX", notify[64], go[64];
	int nfd, gfd, dev, sfd, ctl, m, newsfd = -1;
	struct dh_daemon d;
	pid_t up;
	char c;

	dh_check(mkdtemp(dir) != NULL);
	snprintf(notify, sizeof(notify), "%s/notify", dir);
	snprintf(go, sizeof(go), "%s/go", dir);
	dh_check_eq(mkfifo(notify, 0600), 0);
	dh_check_eq(mkfifo(go, 0600), 0);
	nfd = open(notify, O_RDWR | O_CLOEXEC);
	gfd = open(go, O_RDWR | O_CLOEXEC);
	dh_check(nfd >= 0 && gfd >= 0);
	setenv("LUO_RB_IMAGE", "pass", 1);
	setenv("LUO_RB_NOTIFY", notify, 1);
	setenv("LUO_RB_GO", go, 1);
	dh_check_eq(dh_start(&d, NULL), 0);
	unsetenv("LUO_RB_NOTIFY");
	unsetenv("LUO_RB_GO");

	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	sfd = luo_create_session(dev, "s");
	dh_check(sfd >= 0);
	m = e2e_memfd(4096, 1, 0);
	dh_check_eq(luo_session_preserve_fd(sfd, m, 1), 0);
	close(m);
	ctl = luo_open_at(d.socket, LUO_OPEN_CONTROL);
	dh_check(ctl >= 0);

	up = start_upgrade(d.socket, getenv("LUO_RB_IMAGE_PATH"));
	dh_check_eq(read(nfd, &c, 1), 1);	/* the new image runs */
	m = e2e_memfd(4096, 2, 7);
	pre.fd = m;
	dh_check_eq(wc_send(sfd, LIVEUPDATE_SESSION_PRESERVE_FD, &pre,
			    sizeof(pre), &m, 1), 0);
	close(m);
	dh_check_eq(wc_send(sfd, LIVEUPDATE_SESSION_GET_NAME, &gn, sizeof(gn),
			    NULL, 0), 0);
	strcpy((char *)cs.name, "t");
	dh_check_eq(wc_send(dev, LIVEUPDATE_IOCTL_CREATE_SESSION, &cs,
			    sizeof(cs), NULL, 0), 0);
	dh_check_eq(wc_send(ctl, LUO_IOCTL_STATUS, &st, sizeof(st), NULL, 0),
		    0);
	dh_check_eq(write(gfd, "g", 1), 1);
	dh_check_eq(wait_code(up), 0);

	dh_check_eq(reply(sfd, &pre, sizeof(pre), NULL), 0);
	dh_check_eq(reply(sfd, &gn, sizeof(gn), NULL), 0);
	dh_check(!strcmp((char *)gn.name, "s"));
	dh_check_eq(reply(dev, &cs, sizeof(cs), &newsfd), 0);
	dh_check(newsfd >= 0);
	dh_check_eq(reply(ctl, &st, sizeof(st), NULL), 0);
	dh_check_eq(st.pid, dh_engine_pid(&d));
	e2e_status(d.socket, &st);
	dh_check_eq(st.nr_outgoing, 2);
	dh_check_eq(st.nr_files, 2);
	dh_check_eq(st.update_number, 1);
	close(newsfd);
	close(sfd);
	luo_close(ctl);
	luo_close(dev);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	close(nfd);
	close(gfd);
	unlink(notify);
	unlink(go);
	rmdir(dir);
}

static void test_deferred(void)
{
	struct liveupdate_session_retrieve_fd arg = {
		.size = sizeof(arg), .token = 1,
	};
	struct up_snap before, after;
	struct dh_daemon d;
	int dev, sfd, fd, got = -1;

	dh_check_eq(dh_start(&d, NULL), 0);
	fd = open("/dev/shm", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		dh_skip("no O_TMPFILE in /dev/shm");
	dh_check_eq(write(fd, "data", 4), 4);
	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	/* Handed over and retrieved: RETRIEVE_FD reopens the file. */
	sfd = luo_create_session(dev, "lease");
	dh_check(sfd >= 0);
	dh_check_eq(luo_session_preserve_fd(sfd, fd, 1), 0);
	dh_check_eq(luo_session_handover(sfd, 0), 0);
	close(sfd);
	sfd = luo_retrieve_session(dev, "lease");
	dh_check(sfd >= 0);
	if (fcntl(fd, F_SETLEASE, F_WRLCK) < 0)
		dh_skip("no leases on /dev/shm (fs.leases-enable?)");
	dh_check_eq(wc_send(sfd, LIVEUPDATE_SESSION_RETRIEVE_FD, &arg,
			    sizeof(arg), NULL, 0), 0);
	/* STATUS is answered after the request was read: it waits now. */
	up_snap(d.socket, &before);
	dh_check_eq(up_upgrade(d.socket, NULL), -EBUSY);
	up_snap(d.socket, &after);
	up_same(&before, &after);
	dh_check_eq(fcntl(fd, F_SETLEASE, F_UNLCK), 0);
	dh_check_eq(reply(sfd, &arg, sizeof(arg), &got), 0);
	dh_check(got >= 0);
	up_snap(d.socket, &before);
	dh_check_eq(up_upgrade(d.socket, NULL), 0);
	up_snap(d.socket, &after);
	up_same(&before, &after);
	/* The retrieved file crossed as retrieved. */
	close(got);
	got = luo_session_retrieve_fd(sfd, 1);
	dh_check(got >= 0);
	close(got);
	dh_check_eq(luo_session_finish(sfd), 0);
	close(fd);
	close(sfd);
	luo_close(dev);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
}

/*
 * Replies not yet sent: with 300 sessions a LIST page is 22 KiB.  A
 * control connection sends LIST after LIST without reading, until its
 * socket is full; the daemon answers until the client's receive queue is
 * full, keeps the next reply pending and stops reading the rest.  Across
 * an UPGRADE from another connection every request is answered, in order,
 * exactly once.
 */
static void test_unsent(void)
{
	struct luo_list list = { .size = sizeof(list) };
	struct dh_daemon d;
	int ctl, dev, fl, sent = 0, r, sfd[300];
	char name[16];

	dh_check_eq(dh_start(&d, NULL), 0);
	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		sfd[i] = luo_create_session(dev, name);
		dh_check(sfd[i] >= 0);
	}
	ctl = wc_open(d.socket, LUO_WIRE_MODE_CONTROL);
	dh_check(ctl >= 0);
	fl = fcntl(ctl, F_GETFL);
	dh_check_eq(fcntl(ctl, F_SETFL, fl | O_NONBLOCK), 0);
	while (sent < 100000) {
		r = wc_send(ctl, LUO_IOCTL_LIST, &list, sizeof(list), NULL, 0);
		if (r == -EAGAIN)
			break;
		dh_check_eq(r, 0);
		sent++;
	}
	dh_check(sent > 0 && sent < 100000);
	dh_check_eq(fcntl(ctl, F_SETFL, fl), 0);
	dh_check_eq(up_upgrade(d.socket, NULL), 0);
	for (int i = 0; i < sent; i++) {
		memset(&list, 0, sizeof(list));
		dh_check_eq(reply(ctl, &list, sizeof(list), NULL), 0);
		dh_check_eq(list.nr_records, LUO_LIST_PAGE_RECORDS);
	}
	/* Nothing more: exactly one answer per request. */
	dh_check_eq(recv(ctl, &list, sizeof(list), MSG_DONTWAIT), -1);
	dh_check_eq(errno, EAGAIN);
	close(ctl);
	for (int i = 0; i < 300; i++)
		close(sfd[i]);
	luo_close(dev);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
}

int main(void)
{
	if (!getenv("LUO_RB_IMAGE_PATH"))
		dh_skip("LUO_RB_IMAGE_PATH is not set");
	test_queued();
	test_unsent();
	/* A lease holder gets SIGIO when its lease is to be broken. */
	signal(SIGIO, SIG_IGN);
	test_deferred();
	return DH_PASS;
}
