// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Sockets through the daemon and a reboot: a TCP listener keeps the
 * connection waiting in its backlog and takes new ones, an accepted
 * connection keeps its peer and the bytes it had not read, a UDP socket its
 * datagram, a Unix stream socket its bytes.  The daemon's own sockets (a
 * session fd, a device fd) and a netlink socket are refused with ENOENT.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netlink.h>

#include "e2e.h"

enum { T_LISTEN = 1, T_CONN, T_UDP, T_UNIX };

struct peers {
	struct sockaddr_in addr;	/* the listener's */
	int waiting;			/* connected before the reboot */
	int client;			/* the accepted connection's peer */
	int udp_client;
	int unix_peer;
};

static int bound(int type)
{
	struct sockaddr_in in = { .sin_family = AF_INET };
	int s = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	dh_check(s >= 0);
	dh_check_eq(bind(s, (struct sockaddr *)&in, sizeof(in)), 0);
	return s;
}

static int connected(int server, int type)
{
	struct sockaddr_in in;
	socklen_t len = sizeof(in);
	int c = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	dh_check(c >= 0);
	dh_check_eq(getsockname(server, (struct sockaddr *)&in, &len), 0);
	dh_check_eq(connect(c, (struct sockaddr *)&in, len), 0);
	return c;
}

static void refusals(int dev, int sfd)
{
	int n = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	dh_check(n >= 0);
	dh_check_eq(luo_session_preserve_fd(sfd, n, 90), -ENOENT);
	dh_check_eq(luo_session_preserve_fd(sfd, sfd, 91), -ENOENT);
	dh_check_eq(luo_session_preserve_fd(sfd, dev, 92), -ENOENT);
	close(n);
}

static int stage1(int dev, struct peers *p)
{
	int sfd = luo_create_session(dev, "net"), l, a, u, sv[2];
	socklen_t len = sizeof(p->addr);

	dh_check(sfd >= 0);
	l = bound(SOCK_STREAM);
	dh_check_eq(listen(l, 16), 0);
	dh_check_eq(getsockname(l, (struct sockaddr *)&p->addr, &len), 0);
	p->client = connected(l, SOCK_STREAM);
	a = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	dh_check(a >= 0);
	dh_check_eq(write(p->client, "unread", 6), 6);
	p->waiting = connected(l, SOCK_STREAM);
	u = bound(SOCK_DGRAM);
	p->udp_client = connected(u, SOCK_DGRAM);
	dh_check_eq(send(p->udp_client, "dgram", 5, 0), 5);
	dh_check_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	dh_check_eq(write(sv[1], "unix", 4), 4);
	p->unix_peer = sv[1];

	dh_check_eq(luo_session_preserve_fd(sfd, l, T_LISTEN), 0);
	dh_check_eq(luo_session_preserve_fd(sfd, a, T_CONN), 0);
	dh_check_eq(luo_session_preserve_fd(sfd, u, T_UDP), 0);
	dh_check_eq(luo_session_preserve_fd(sfd, sv[0], T_UNIX), 0);
	dh_check_eq(luo_session_preserve_fd(sfd, l, 99), -EBUSY);
	refusals(dev, sfd);
	close(l);
	close(a);
	close(u);
	close(sv[0]);
	return sfd;
}

static void check_listener(int sfd, struct peers *p)
{
	int l = luo_session_retrieve_fd(sfd, T_LISTEN), a, late;
	char got[8];

	dh_check(l >= 0);
	dh_check(fcntl(l, F_GETFD) & FD_CLOEXEC);
	/* The connection made before the reboot waited in the backlog. */
	a = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	dh_check(a >= 0);
	dh_check_eq(write(p->waiting, "w", 1), 1);
	dh_check_eq(read(a, got, 1), 1);
	close(a);
	late = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	dh_check_eq(connect(late, (struct sockaddr *)&p->addr, sizeof(p->addr)), 0);
	a = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	dh_check(a >= 0);
	close(a);
	close(late);
	close(l);
}

static void check_others(int sfd, struct peers *p)
{
	struct sockaddr_in peer, cl;
	socklen_t plen = sizeof(peer), clen = sizeof(cl);
	int c = luo_session_retrieve_fd(sfd, T_CONN);
	int u = luo_session_retrieve_fd(sfd, T_UDP);
	int x = luo_session_retrieve_fd(sfd, T_UNIX);
	char got[8];

	dh_check(c >= 0 && u >= 0 && x >= 0);
	dh_check_eq(getpeername(c, (struct sockaddr *)&peer, &plen), 0);
	dh_check_eq(getsockname(p->client, (struct sockaddr *)&cl, &clen), 0);
	dh_check(plen == clen && !memcmp(&peer, &cl, plen));
	dh_check_eq(read(c, got, sizeof(got)), 6);
	dh_check(!memcmp(got, "unread", 6));
	dh_check_eq(write(c, "reply", 5), 5);
	dh_check_eq(read(p->client, got, sizeof(got)), 5);
	dh_check_eq(recv(u, got, sizeof(got), 0), 5);
	dh_check(!memcmp(got, "dgram", 5));
	dh_check_eq(read(x, got, sizeof(got)), 4);
	dh_check(!memcmp(got, "unix", 4));
	close(c);
	close(u);
	close(x);
}

int main(void)
{
	struct dh_daemon d;
	struct peers p;
	uint64_t update = 0;
	int dev, sfd, fds_before;

	if (dh_start(&d, NULL))
		dh_skip("cannot start liveupdated");
	fds_before = e2e_daemon_fds(&d);
	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	sfd = stage1(dev, &p);
	luo_close(dev);
	dh_check_eq(e2e_reboot(d.socket, &update), 0);
	luo_close(sfd);

	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	sfd = luo_retrieve_session(dev, "net");
	dh_check(sfd >= 0);
	check_listener(sfd, &p);
	check_others(sfd, &p);
	dh_check_eq(luo_session_finish(sfd), 0);
	luo_close(sfd);
	luo_close(dev);
	close(p.waiting);
	close(p.client);
	close(p.udp_client);
	close(p.unix_peer);
	dh_check_eq(e2e_daemon_fds(&d), fds_before);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	return DH_PASS;
}
