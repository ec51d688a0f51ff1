// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * kvd across an UPGRADE of liveupdated (issue 9, item 5): kvd keeps its
 * outgoing session current while it serves; after an orchestrator
 * UPGRADE that session fd simply keeps working, so nothing is rebuilt.
 * The listing of its session is the same record for record (a rebuild
 * would make a new session and number the connections again), a new
 * connection is preserved into it under the next token, and kvd's own
 * live update afterwards hands everything over with the data intact.
 * (Before UPGRADE existed the request was EINVAL, and an orchestrator
 * REBOOT ended kvd's session fd.)
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "daemon-harness.h"
#include "kvd-test.h"

struct listing {
	struct luo_list_record rec[16];
	size_t nr;
};

static int collect(const struct luo_list_record *rec, void *ctx)
{
	struct listing *l = ctx;

	if (l->nr == sizeof(l->rec) / sizeof(l->rec[0]))
		return -ENOSPC;
	l->rec[l->nr++] = *rec;
	return 0;
}

static void list(const char *sock, struct listing *l)
{
	int ctl = luo_open_at(sock, LUO_OPEN_CONTROL);

	dh_check(ctl >= 0);
	memset(l, 0, sizeof(*l));
	dh_check_eq(luo_list(ctl, collect, l), 0);
	luo_close(ctl);
}

/* One "version" exchange: kvd has run at least one turn of its loop. */
static void ask_version(int fd, const char *v)
{
	char want[32];

	snprintf(want, sizeof(want), "VERSION %s\r\n", v);
	kt_send(fd, "version\r\n");
	kt_expect(fd, want);
}

/* Until kvd's one outgoing session holds @files files. */
static void wait_files(const char *sock, int fd, uint32_t files)
{
	struct listing l;

	for (;;) {
		list(sock, &l);
		if (l.nr == files + 1 && l.rec[0].direction == LUO_OUTGOING &&
		    l.rec[0].nr_files == files)
			return;
		ask_version(fd, "1.0");
	}
}

int main(void)
{
	struct listing before, after;
	struct dh_daemon d;
	struct kt_kvd k;
	int a, b, c, ctl, exe;

	if (dh_start(&d, NULL))
		dh_skip("cannot start liveupdated");
	kt_start(&k, d.socket);
	a = kt_connect(&k);
	b = kt_connect(&k);
	kt_send(a, "set one 7 0 3\r\nuno\r\n");
	kt_expect(a, "STORED\r\n");
	/* The dataset, the listener and both connections. */
	wait_files(d.socket, a, 4);
	list(d.socket, &before);

	ctl = luo_open_at(d.socket, LUO_OPEN_CONTROL);
	dh_check(ctl >= 0);
	dh_check_eq(luo_upgrade(ctl, -1), 0);
	exe = open(dh_binary(), O_RDONLY | O_CLOEXEC);
	dh_check(exe >= 0);
	dh_check_eq(luo_upgrade(ctl, exe), 0);
	close(exe);
	luo_close(ctl);

	/* Served on, and the very same session: nothing rebuilt. */
	kt_send(b, "get one\r\n");
	kt_expect(b, "VALUE one 7 3\r\nuno\r\nEND\r\n");
	list(d.socket, &after);
	dh_check_eq(after.nr, before.nr);
	for (size_t i = 0; i < before.nr; i++)
		dh_check(!memcmp(&before.rec[i], &after.rec[i],
				 sizeof(before.rec[i])));
	/* A new connection goes into it, under the next token. */
	c = kt_connect(&k);
	wait_files(d.socket, c, 5);
	list(d.socket, &after);
	dh_check(!strcmp(after.rec[0].name, before.rec[0].name));
	for (size_t i = 1; i < before.nr; i++)
		dh_check(!memcmp(&before.rec[i], &after.rec[i],
				 sizeof(before.rec[i])));
	dh_check(after.rec[before.nr].token > before.rec[before.nr - 1].token);

	/* kvd's own live update takes the session over as before. */
	dh_check_eq(kill(k.pid, SIGUSR2), 0);
	kt_send(c, "get one\r\n");
	kt_expect(c, "VALUE one 7 3\r\nuno\r\nEND\r\n");
	for (;;) {
		char got[16] = "";
		size_t n = 0;

		kt_send(a, "version\r\n");
		while (n < strlen("VERSION 1.0\r\n")) {
			ssize_t r = recv(a, got + n,
					 strlen("VERSION 1.0\r\n") - n, 0);

			dh_check(r > 0);
			n += (size_t)r;
		}
		if (!strcmp(got, "VERSION 2.0\r\n"))
			break;
	}
	kt_send(b, "get one\r\n");
	kt_expect(b, "VALUE one 7 3\r\nuno\r\nEND\r\n");
	close(a);
	close(b);
	close(c);
	dh_check_eq(kt_stop(&k), 0);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	return DH_PASS;
}
