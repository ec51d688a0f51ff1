// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A client that sends requests and never reads the replies does not block
 * the daemon: once its replies no longer fit, its connection is parked
 * (nothing more is read from it) and everyone else is served.  When it
 * reads again, every request it sent is answered, in order.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "daemon-harness.h"
#include "wire-client.h"

#define LIST_LEN	sizeof(struct luo_list)

/* Sends LIST requests (big replies) until the socket is full. */
static int flood(int fd)
{
	char buf[sizeof(struct luo_wire_req) + LIST_LEN];
	struct luo_wire_req hdr = { .cmd = LUO_IOCTL_LIST, .len = LIST_LEN };
	struct luo_list l = { .size = LIST_LEN };
	int n = 0;

	memcpy(buf, &hdr, sizeof(hdr));
	memcpy(buf + sizeof(hdr), &l, sizeof(l));
	for (;;) {
		if (send(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			break;
		n++;
	}
	dh_check(errno == EAGAIN);
	return n;
}

int main(void)
{
	struct luo_wire_rep rep;
	struct dh_daemon d;
	struct luo_status st;
	int slow, other, dev, s, i, n;
	char name[32];

	dh_check_eq(dh_start(&d, NULL), 0);
	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	/* Sessions make LIST replies large. */
	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "session-%d", i);
		s = luo_create_session(dev, name);
		dh_check(s >= 0);
	}
	slow = wc_open(d.socket, LUO_WIRE_MODE_CONTROL);
	dh_check(slow >= 0);
	n = flood(slow);
	dh_check(n > 0);
	fprintf(stderr, "flooded %d requests\n", n);
	/* The daemon still serves others, many times over. */
	for (i = 0; i < 50; i++) {
		other = luo_open_at(d.socket, LUO_OPEN_CONTROL);
		dh_check(other >= 0);
		dh_check_eq(luo_status(other, &st), 0);
		dh_check_eq(st.nr_outgoing, 100);
		luo_close(other);
	}
	dh_check_eq(luo_status(dev, &st), 0);
	/* Every flooded request gets its answer once the client reads. */
	for (i = 0; i < n; i++) {
		dh_check_eq(wc_recv(slow, &rep, NULL, 0, NULL), 0);
		dh_check_eq(rep.result, 0);
		dh_check(rep.extra_len > 0);
	}
	close(slow);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	return DH_PASS;
}
