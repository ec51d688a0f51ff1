// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A kvd that stops frees its port and ends its connections at once, even
 * while the orchestrator still holds them: liveupdated keeps a duplicate of
 * the listening socket and of every connection in kvd's outgoing session
 * until it gets round to discarding that session, after kvd has exited.
 * bench/blackout started the floor's kvd right after the luo run at 10,000
 * connections and it failed with EADDRINUSE ("kvd did not start").  Here
 * liveupdated is stopped (SIGSTOP) across kvd's exit, which makes that
 * window as long as the test needs: the next kvd must start on the same
 * port, and the client must see its connection end, before liveupdated
 * runs again.
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "daemon-harness.h"
#include "kvd-test.h"

/* liveupdated holds the dataset, the listener and one connection. */
static void check_held(const char *sock)
{
	struct luo_status st;
	int ctl = luo_open_at(sock, LUO_OPEN_CONTROL);

	dh_check(ctl >= 0);
	dh_check_eq(luo_status(ctl, &st), 0);
	luo_close(ctl);
	dh_check_eq(st.nr_outgoing, 1);
	dh_check_eq(st.nr_files, 3);
}

int main(void)
{
	struct kt_args a = { .must_start = true };
	struct pollfd pfd = { .events = POLLIN | POLLRDHUP };
	struct dh_daemon d;
	struct kt_kvd k;
	char c;
	int fd;

	if (dh_start(&d, NULL))
		dh_skip("cannot start liveupdated");
	a.luo_socket = d.socket;
	kt_start_with(&k, &a);
	pfd.fd = kt_connect(&k);
	/* Preserved when accepted, before kvd reads the request. */
	kt_send(pfd.fd, "version\r\n");
	kt_expect(pfd.fd, "VERSION 1.0\r\n");
	check_held(d.socket);

	dh_check_eq(kill(d.pid, SIGSTOP), 0);
	dh_check_eq(kt_stop(&k), 0);
	/* The same port, at once, while liveupdated still holds the old one. */
	a.luo_socket = NULL;
	a.handoff = "unix";
	a.port = k.port;
	kt_start_with(&k, &a);
	dh_check_eq(k.port, a.port);
	fd = kt_connect(&k);
	kt_send(fd, "version\r\n");
	kt_expect(fd, "VERSION 1.0\r\n");
	close(fd);
	dh_check_eq(kt_stop(&k), 0);
	/* The first kvd ended its connection before it exited. */
	dh_check_eq(poll(&pfd, 1, 0), 1);
	dh_check_eq(recv(pfd.fd, &c, 1, MSG_DONTWAIT), 0);
	close(pfd.fd);

	dh_check_eq(kill(d.pid, SIGCONT), 0);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	return DH_PASS;
}
