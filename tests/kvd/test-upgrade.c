// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A live update of kvd under clients in the middle of a conversation: one
 * has sent half a "set", one has answers it has not read yet, one is in the
 * middle of a get line longer than any other command's (its first keys
 * answered already, the rest of the line still to come).  After the
 * update (to kvd-v2, by SIGUSR2 and then by "kvd upgrade") both carry on
 * on the same connections and the data is all there.  kvd keeps its
 * outgoing session current: once the new image has finished the incoming
 * session, its next outgoing session holds the dataset, the listener and
 * every connection; a closed connection leaves it; an upgrade whose exec
 * fails takes the session back and kvd carries on.
 */
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "daemon-harness.h"
#include "kvd-test.h"

static void status(const char *sock, struct luo_status *st)
{
	int ctl = luo_open_at(sock, LUO_OPEN_CONTROL);

	dh_check(ctl >= 0);
	dh_check_eq(luo_status(ctl, st), 0);
	luo_close(ctl);
}

/* Ask for the version until @v answers: each ask is a blocking exchange. */
static void wait_version(int fd, const char *v)
{
	char want[32], got[32];

	snprintf(want, sizeof(want), "VERSION %s\r\n", v);
	for (;;) {
		size_t n = 0;

		kt_send(fd, "version\r\n");
		while (n < strlen(want)) {
			ssize_t r = recv(fd, got + n, strlen(want) - n, 0);

			dh_check(r > 0);
			n += (size_t)r;
		}
		if (!memcmp(got, want, n))
			return;
	}
}

/* One "version" exchange: kvd has run at least one turn of its loop. */
static void ask_version(int fd)
{
	char c = 0;

	kt_send(fd, "version\r\n");
	while (c != '\n')
		dh_check_eq(recv(fd, &c, 1, 0), 1);
}

/* Until the one outgoing session holds @files files and nothing else. */
static void wait_session(const char *sock, int fd, uint64_t files)
{
	struct luo_status st;

	for (;;) {
		status(sock, &st);
		if (st.nr_incoming == 0 && st.nr_outgoing == 1 &&
		    st.nr_files == files)
			return;
		ask_version(fd);
	}
}

static void upgrade_cmd(const struct kt_kvd *k, const char *bin)
{
	int st;
	pid_t pid = fork();

	dh_check(pid >= 0);
	if (!pid) {
		execl(getenv("KVD"), "kvd", "upgrade", "--control", k->ctl,
		      bin, (char *)NULL);
		_exit(127);
	}
	dh_check_eq(waitpid(pid, &st, 0), pid);
	dh_check_eq(dh_exit_code(st), 0);
}

int main(void)
{
	struct dh_daemon d;
	struct kt_kvd k;
	char line[8192];
	size_t n;
	int a, b, c;

	if (dh_start(&d, NULL))
		dh_skip("cannot start liveupdated");
	kt_start(&k, d.socket);
	a = kt_connect(&k);
	b = kt_connect(&k);
	kt_send(a, "set one 7 0 3\r\nuno\r\n");
	kt_expect(a, "STORED\r\n");
	kt_send(a, "set two 0 0 3\r\ndo");		/* half a command */
	kt_send(b, "get one\r\nversion\r\n");		/* answers left unread */
	kt_expect(b, "VALUE one 7 3\r\nuno\r\nEND\r\n");
	c = kt_connect(&k);
	n = (size_t)snprintf(line, sizeof(line), "get one");
	for (int i = 0; i < 500; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, " miss%d", i);
	kt_send(c, line);
	kt_expect(c, "VALUE one 7 3\r\nuno\r\n");

	dh_check_eq(kill(k.pid, SIGUSR2), 0);
	kt_expect(b, "VERSION 1.0\r\n");
	wait_version(b, "2.0");
	kt_send(a, "s\r\nget two one\r\nversion\r\n");
	kt_expect(a, "STORED\r\nVALUE two 0 3\r\ndos\r\n"
		     "VALUE one 7 3\r\nuno\r\nEND\r\nVERSION 2.0\r\n");
	/* The new image goes on with the get line where the old one left. */
	kt_send(c, " miss one\r\nversion\r\n");
	kt_expect(c, "VALUE one 7 3\r\nuno\r\nEND\r\nVERSION 2.0\r\n");
	close(c);
	/* The dataset, the listener and both connections, preserved again. */
	wait_session(d.socket, b, 4);
	close(a);
	wait_session(d.socket, b, 3);

	/* An exec that fails: still 2.0, the session taken back and rebuilt. */
	upgrade_cmd(&k, "/nonexistent/kvd");
	ask_version(b);		/* the FIFO was ready first: kvd tried it */
	wait_session(d.socket, b, 3);
	kt_send(b, "get two\r\nversion\r\n");
	kt_expect(b, "VALUE two 0 3\r\ndos\r\nEND\r\nVERSION 2.0\r\n");

	/* And back to the first binary with the command-line client. */
	upgrade_cmd(&k, getenv("KVD"));
	wait_version(b, "1.0");
	kt_send(b, "get two\r\n");
	kt_expect(b, "VALUE two 0 3\r\ndos\r\nEND\r\n");
	wait_session(d.socket, b, 3);
	close(b);
	dh_check_eq(kt_stop(&k), 0);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	return DH_PASS;
}
