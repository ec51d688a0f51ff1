// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A TCP socket with SO_LINGER {1, 30} and unsent data blocks its last
 * close(2) for 30 s.  Every way a client can make the daemon's close the
 * last one must leave the daemon serving everyone else (issue 8 item 9):
 * STATUS round trips of another client stay under 10 ms while it runs,
 * and SIGTERM still ends the daemon at once.
 *
 *  - preserved, then the client closes its copy and its session;
 *  - preserved, handed over, and the incoming session closed unfinished;
 *  - inside a Unix socket attached to a request that is refused;
 *  - inside a Unix socket queued on a connection that hangs up;
 *  - preserved when SIGTERM comes, with another close still lingering.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "stall.h"
#include "wire-client.h"

/*
 * A Unix socket whose queue holds the only other reference of the
 * lingering socket @fd (closed here): whoever closes the Unix socket last
 * closes @fd last.
 */
static int carrier_of(int fd)
{
	int sv[2];

	dh_check_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
	dh_check_eq(wc_send_raw(sv[0], "l", 1, &fd, 1), 0);
	close(fd);
	close(sv[0]);
	return sv[1];
}

static void preserved_then_closed(const char *sock, int dev, int ctl)
{
	int peer, fd = stall_lingering_socket(&peer);
	int sfd = luo_create_session(dev, "linger-closed");

	dh_check(sfd >= 0);
	dh_check_eq(luo_session_preserve_fd(sfd, fd, 1), 0);
	close(fd);
	close(sfd);	/* the daemon unpreserves: its close is the last */
	stall_probe(ctl, "session closed");
	close(peer);
}

static void handed_over_then_discarded(const char *sock, int dev, int ctl)
{
	int peer, fd = stall_lingering_socket(&peer);
	int sfd = luo_create_session(dev, "linger-frozen");

	dh_check(sfd >= 0);
	dh_check_eq(luo_session_preserve_fd(sfd, fd, 1), 0);
	close(fd);
	dh_check_eq(luo_session_handover(sfd, 0), 0);
	close(sfd);
	sfd = luo_retrieve_session(dev, "linger-frozen");
	dh_check(sfd >= 0);
	close(sfd);	/* closed unfinished: the file is discarded */
	stall_probe(ctl, "frozen session discarded");
	close(peer);
}

static void refused_request(const char *sock, int dev, int ctl)
{
	struct luo_status st = { .size = sizeof(st) };
	int peer, fd = stall_lingering_socket(&peer);
	int carrier = carrier_of(fd);

	/* STATUS takes no fd: refused, and the fd closed by the daemon. */
	dh_check_eq(wc_send(dev, LUO_IOCTL_STATUS, &st, sizeof(st),
			    &carrier, 1), 0);
	close(carrier);
	stall_probe(ctl, "refused request");
	dh_check_eq(stall_reply(dev, 1000 * stall_scale(), NULL, 0, NULL),
		    -EINVAL);
	close(peer);
}

static void queued_on_hangup(const char *sock, int dev, int ctl)
{
	int peer, fd = stall_lingering_socket(&peer);
	int carrier = carrier_of(fd);
	int conn = wc_connect(sock);

	dh_check(conn >= 0);
	dh_check_eq(wc_send_raw(conn, "hello", 5, &carrier, 1), 0);
	close(carrier);
	close(conn);	/* the daemon drops the queued message */
	stall_probe(ctl, "hang-up with a queued fd");
	close(peer);
}

static void sigterm(struct dh_daemon *d, int dev, int ctl)
{
	int peer[2], fd, sfd;

	/* One close lingering in the daemon already... */
	fd = stall_lingering_socket(&peer[0]);
	sfd = luo_create_session(dev, "linger-gone");
	dh_check(sfd >= 0);
	dh_check_eq(luo_session_preserve_fd(sfd, fd, 1), 0);
	close(fd);
	close(sfd);
	/* ...and one to close at shut-down. */
	fd = stall_lingering_socket(&peer[1]);
	sfd = luo_create_session(dev, "linger-kept");
	dh_check(sfd >= 0);
	dh_check_eq(luo_session_preserve_fd(sfd, fd, 1), 0);
	close(fd);
	stall_probe(ctl, "before SIGTERM");
	stall_sigterm(d, "lingering sockets");
	close(sfd);
	close(peer[0]);
	close(peer[1]);
}

int main(void)
{
	struct dh_daemon d;
	int dev, ctl;

	dh_check_eq(dh_start(&d, NULL), 0);
	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	ctl = stall_control(d.socket);
	stall_probe(ctl, "no attack");
	preserved_then_closed(d.socket, dev, ctl);
	handed_over_then_discarded(d.socket, dev, ctl);
	refused_request(d.socket, dev, ctl);
	queued_on_hangup(d.socket, dev, ctl);
	sigterm(&d, dev, ctl);
	close(ctl);
	close(dev);
	dh_cleanup(&d);
	return DH_PASS;
}
