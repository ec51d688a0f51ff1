// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A file with a write lease (F_SETLEASE F_WRLCK) cannot be opened by anyone
 * else until the lease is broken: the holder gives it up, or the kernel
 * takes it after /proc/sys/fs/lease-break-time (45 s).  memfd-v2 reopens a
 * file through /proc at preserve (a check) and at retrieve: neither may
 * hold up the daemon (issue 8 item 9).  While each runs another client's
 * STATUS round trips stay under 10 ms; the retrieve is answered once the
 * holder lets go, a client may give up waiting, and SIGTERM ends a daemon
 * whose retrieve still waits.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "stall.h"
#include "wire-client.h"

/* An unlinked tmpfs file (memfd-v2's) with 4 bytes, its owner's O_RDWR fd. */
static int tmpfs_file(void)
{
	int fd = open("/dev/shm", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd < 0)
		dh_skip("no O_TMPFILE in /dev/shm");
	dh_check_eq(write(fd, "data", 4), 4);
	return fd;
}

static void lease(int fd, int type)
{
	if (fcntl(fd, F_SETLEASE, type) < 0 && type == F_WRLCK)
		dh_skip("no leases on /dev/shm (fs.leases-enable?)");
	dh_check_eq(fcntl(fd, F_GETLEASE), type);
}

static void preserve_leased(int dev, int ctl)
{
	struct liveupdate_session_preserve_fd arg = {
		.size = sizeof(arg), .token = 1,
	};
	int fd = tmpfs_file(), sfd = luo_create_session(dev, "lease-preserve");

	dh_check(sfd >= 0);
	lease(fd, F_WRLCK);
	arg.fd = fd;
	dh_check_eq(wc_send(sfd, LIVEUPDATE_SESSION_PRESERVE_FD, &arg,
			    sizeof(arg), &fd, 1), 0);
	stall_probe(ctl, "preserve of a leased file");
	dh_check_eq(stall_reply(sfd, 1000 * stall_scale(), NULL, 0, NULL), 0);
	fcntl(fd, F_SETLEASE, F_UNLCK);
	close(fd);
	close(sfd);
}

/*
 * A session with the file of @fd under token 1, handed over and retrieved
 * by name: its RETRIEVE_FD reopens the file.  @fd is then leased.
 */
static int incoming_leased(int dev, int fd, const char *name)
{
	int sfd = luo_create_session(dev, name);

	dh_check(sfd >= 0);
	dh_check_eq(luo_session_preserve_fd(sfd, fd, 1), 0);
	dh_check_eq(luo_session_handover(sfd, 0), 0);
	close(sfd);
	sfd = luo_retrieve_session(dev, name);
	dh_check(sfd >= 0);
	lease(fd, F_WRLCK);
	return sfd;
}

static void send_retrieve(int sfd)
{
	struct liveupdate_session_retrieve_fd arg = {
		.size = sizeof(arg), .token = 1,
	};

	dh_check_eq(wc_send(sfd, LIVEUPDATE_SESSION_RETRIEVE_FD, &arg,
			    sizeof(arg), NULL, 0), 0);
}

static void retrieve_leased(int dev, int ctl)
{
	struct liveupdate_session_retrieve_fd arg;
	int fd = tmpfs_file(), sfd, got = -1;
	struct stat a, b;
	char buf[4];

	sfd = incoming_leased(dev, fd, "lease-retrieve");
	send_retrieve(sfd);
	stall_probe(ctl, "retrieve of a leased file");
	/* Still waiting for the lease, not failed. */
	dh_check_eq(stall_reply(sfd, 0, NULL, 0, NULL), -ETIMEDOUT);
	fcntl(fd, F_SETLEASE, F_UNLCK);
	dh_check_eq(stall_reply(sfd, 5000 * stall_scale(), &arg, sizeof(arg),
				&got), 0);
	dh_check(got >= 0);
	dh_check_eq(fstat(fd, &a), 0);
	dh_check_eq(fstat(got, &b), 0);
	dh_check(a.st_dev == b.st_dev && a.st_ino == b.st_ino);
	dh_check_eq(fcntl(got, F_GETFL) & O_ACCMODE, O_RDWR);
	dh_check_eq(pread(got, buf, sizeof(buf), 0), 4);
	dh_check(!memcmp(buf, "data", 4));
	close(got);
	/* The retrieve that waited left no sticky error behind. */
	got = luo_session_retrieve_fd(sfd, 1);
	dh_check(got >= 0);
	close(got);
	dh_check_eq(luo_session_finish(sfd), 0);
	close(sfd);
	close(fd);
}

/* The client gives up while its retrieve waits: nothing is left behind. */
static void retrieve_abandoned(int dev, int ctl)
{
	int fd = tmpfs_file(), sfd;

	sfd = incoming_leased(dev, fd, "lease-abandoned");
	send_retrieve(sfd);
	stall_probe(ctl, "retrieve waiting");
	close(sfd);	/* the session is finished on its close */
	stall_probe(ctl, "retrieve abandoned");
	fcntl(fd, F_SETLEASE, F_UNLCK);
	stall_probe(ctl, "lease let go");
	sfd = luo_retrieve_session(dev, "lease-abandoned");
	dh_check_eq(sfd, -ENOENT);
	close(fd);
}

static void sigterm(struct dh_daemon *d, int dev, int ctl)
{
	int fd = tmpfs_file(), sfd;

	sfd = incoming_leased(dev, fd, "lease-sigterm");
	send_retrieve(sfd);
	stall_probe(ctl, "before SIGTERM");
	stall_sigterm(d, "retrieve waiting for a lease");
	fcntl(fd, F_SETLEASE, F_UNLCK);
	close(sfd);
	close(fd);
}

int main(void)
{
	struct dh_daemon d;
	int dev, ctl;

	/* A lease holder gets SIGIO when its lease is to be broken. */
	signal(SIGIO, SIG_IGN);
	dh_check_eq(dh_start(&d, NULL), 0);
	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	ctl = stall_control(d.socket);
	stall_probe(ctl, "no attack");
	preserve_leased(dev, ctl);
	retrieve_leased(dev, ctl);
	retrieve_abandoned(dev, ctl);
	sigterm(&d, dev, ctl);
	close(ctl);
	close(dev);
	dh_cleanup(&d);
	return DH_PASS;
}
