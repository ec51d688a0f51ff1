// SPDX-License-Identifier: LGPL-2.1-or-later
/* Running kvd in a test (kvd-test.h). */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon-harness.h"
#include "kvd-test.h"

/* The kvd running, killed if the test fails half-way. */
static pid_t kt_live;

static void kt_kill(void)
{
	if (kt_live > 0) {
		kill(kt_live, SIGKILL);
		waitpid(kt_live, NULL, 0);
	}
}

void kt_start(struct kt_kvd *k, const char *luo_socket)
{
	const struct kt_args a = { .luo_socket = luo_socket };

	kt_start_with(k, &a);
}

void kt_start_with(struct kt_kvd *k, const struct kt_args *a)
{
	const char *bin = getenv("KVD"), *v2 = getenv("KVD_V2");
	char rfd[16], port[16], mem[16], buf[16] = "";
	int p[2], status;
	ssize_t n;

	if (!bin || !v2)
		dh_skip("KVD and KVD_V2 are not set");
	snprintf(k->ctl, sizeof(k->ctl), "/tmp/kvd-test-%d.ctl", getpid());
	snprintf(port, sizeof(port), "%d", a->port);
	snprintf(mem, sizeof(mem), "%u", a->memory_mib ? a->memory_mib : 16);
	dh_check_eq(pipe2(p, O_CLOEXEC), 0);
	k->pid = fork();
	dh_check(k->pid >= 0);
	if (!k->pid) {
		dh_check_eq(fcntl(p[1], F_SETFD, 0), 0);
		snprintf(rfd, sizeof(rfd), "%d", p[1]);
		execl(bin, bin, "--port", port, "--memory", mem, "--control",
		      k->ctl, "--exec", v2, "--ready-fd", rfd, "--handoff",
		      a->handoff ? a->handoff : "luo",
		      a->luo_socket ? "--socket" : NULL, a->luo_socket,
		      (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	if (!kt_live)
		atexit(kt_kill);
	kt_live = k->pid;
	n = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	if (n <= 0 && a->must_start) {
		dh_check_eq(waitpid(k->pid, &status, 0), k->pid);
		kt_live = -1;
		fprintf(stderr, "kvd exited with %d\n", dh_exit_code(status));
		dh_fail(__FILE__, __LINE__, "kvd did not start");
	}
	if (n <= 0)
		dh_skip("kvd did not start");
	k->port = atoi(buf);
	dh_check(k->port > 0);
}

int kt_stop(struct kt_kvd *k)
{
	int status;

	kill(k->pid, SIGTERM);
	dh_check_eq(waitpid(k->pid, &status, 0), k->pid);
	kt_live = -1;
	unlink(k->ctl);
	return dh_exit_code(status);
}

int kt_connect(const struct kt_kvd *k)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)k->port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	dh_check(fd >= 0);
	dh_check_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

void kt_send(int fd, const char *s)
{
	size_t len = strlen(s);

	dh_check_eq(send(fd, s, len, MSG_NOSIGNAL), (ssize_t)len);
}

void kt_expect(int fd, const char *want)
{
	size_t len = strlen(want), got = 0;
	char *buf = malloc(len + 1);

	dh_check(buf != NULL);
	while (got < len) {
		ssize_t n = recv(fd, buf + got, len - got, 0);

		if (n <= 0)
			dh_fail(__FILE__, __LINE__, "connection closed");
		got += (size_t)n;
	}
	buf[len] = '\0';
	if (memcmp(buf, want, len)) {
		fprintf(stderr, "got '%s'\nwant '%s'\n", buf, want);
		dh_fail(__FILE__, __LINE__, "unexpected answer");
	}
	free(buf);
}
