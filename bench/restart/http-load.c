// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * http-load: N clients on 127.0.0.1 (or ::1, or a Unix socket) making
 * HTTP/1.0 requests in a loop, one connection per request, until SIGTERM
 * or SIGINT; then one line of counts on stdout:
 *
 *   requests=N refused=N reset=N failed=N
 *
 * requests: answered with a 200 status line; refused: connect() failed
 * with ECONNREFUSED (no listener); reset: the connection ended without an
 * answer, by ECONNRESET, EPIPE or an end of file (a listener closed with
 * the connection in its backlog, or a server that stopped while serving
 * it); failed: anything else (another errno, a reply that is not 200, no
 * reply within 10 s).
 *
 * With $HTTP_LOAD_DEBUG set, every error but a refusal is also told on
 * stderr.
 *
 * Usage: http-load ADDR PORT CLIENTS [PATH]  (ADDR an IPv4 or IPv6 literal)
 *        http-load unix:/SOCKET CLIENTS [PATH]
 * Exit codes: 0, 2 for usage, 1 if the clients cannot start.
 *
 * With --probe first and CLIENTS 1, it makes one request instead, again
 * while it is refused, for up to 10 s: a wait for a server to be up.
 * Exit codes: 0 when answered, 1 otherwise.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static union {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
	struct sockaddr_un un;
} addr;
static socklen_t addr_len;
static char request[512];
static atomic_bool stop;
static atomic_ulong requests, refused, resets, failed;

static void count_error(int err)
{
	if (err == ECONNREFUSED)
		atomic_fetch_add(&refused, 1);
	else if (err == ECONNRESET || err == EPIPE)
		atomic_fetch_add(&resets, 1);
	else
		atomic_fetch_add(&failed, 1);
}

/* One request: 0 if answered 200, else the errno to count (-1: bad reply). */
static int one_request(void)
{
	struct timeval tv = { .tv_sec = 10 };
	char buf[1024];
	size_t have = 0, len = strlen(request);
	ssize_t n;
	int fd = socket(addr.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int err = 0;

	if (fd < 0)
		return errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, &addr.sa, addr_len) < 0) {
		err = errno;
		goto out;
	}
	for (size_t off = 0; off < len; off += (size_t)n) {
		n = send(fd, request + off, len - off, MSG_NOSIGNAL);
		if (n < 0) {
			err = errno;
			goto out;
		}
	}
	while (have < sizeof(buf) - 1) {
		n = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);
		if (n < 0) {
			err = errno;
			goto out;
		}
		if (!n)
			break;
		have += (size_t)n;
	}
	buf[have] = '\0';
	if (!have)
		err = ECONNRESET;
	else if (strncmp(buf, "HTTP/1.", 7) || strncmp(buf + 8, " 200", 4))
		err = -1;
out:
	if (err && err != ECONNREFUSED && getenv("HTTP_LOAD_DEBUG"))
		fprintf(stderr, "http-load: %d %s: %.80s\n", err,
			err > 0 ? strerror(err) : "bad reply",
			err < 0 ? buf : "");
	close(fd);
	return err;
}

static void *client(void *unused)
{
	(void)unused;
	while (!atomic_load(&stop)) {
		int err = one_request();

		if (!err)
			atomic_fetch_add(&requests, 1);
		else if (!atomic_load(&stop) || err != EINTR)
			count_error(err);
	}
	return NULL;
}

static int parse_addr(int argc, char **argv, int *next)
{
	if (!strncmp(argv[1], "unix:", 5)) {
		if (strlen(argv[1] + 5) >= sizeof(addr.un.sun_path))
			return -1;
		addr.un.sun_family = AF_UNIX;
		strcpy(addr.un.sun_path, argv[1] + 5);
		addr_len = sizeof(addr.un);
		*next = 2;
		return 0;
	}
	if (argc < 4)
		return -1;
	*next = 3;
	if (inet_pton(AF_INET, argv[1], &addr.in.sin_addr) == 1) {
		addr.in.sin_family = AF_INET;
		addr.in.sin_port = htons((uint16_t)atoi(argv[2]));
		addr_len = sizeof(addr.in);
		return 0;
	}
	if (inet_pton(AF_INET6, argv[1], &addr.in6.sin6_addr) == 1) {
		addr.in6.sin6_family = AF_INET6;
		addr.in6.sin6_port = htons((uint16_t)atoi(argv[2]));
		addr_len = sizeof(addr.in6);
		return 0;
	}
	return -1;
}

/* One request, repeated while refused: 0 once answered 200. */
static int probe(void)
{
	struct timespec ms = { .tv_nsec = 1000000 };

	for (int i = 0; i < 10000; i++) {
		int err = one_request();

		if (err != ECONNREFUSED)
			return err ? 1 : 0;
		nanosleep(&ms, NULL);
	}
	return 1;
}

int main(int argc, char **argv)
{
	bool once = argc > 1 && !strcmp(argv[1], "--probe");
	pthread_t *t;
	sigset_t set;
	int next, nr, sig;

	if (once) {
		argc--;
		argv++;
	}
	if (argc < 3 || parse_addr(argc, argv, &next) || next >= argc ||
	    (nr = atoi(argv[next])) < 1 || nr > 1024) {
		fprintf(stderr, "usage: http-load ADDR PORT CLIENTS [PATH] | "
			"http-load unix:/SOCKET CLIENTS [PATH]\n");
		return 2;
	}
	snprintf(request, sizeof(request),
		 "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n",
		 next + 1 < argc ? argv[next + 1] : "/");
	if (once)
		return probe();
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	t = calloc((size_t)nr, sizeof(*t));
	if (!t)
		return 1;
	for (int i = 0; i < nr; i++)
		if (pthread_create(&t[i], NULL, client, NULL))
			return 1;
	sigwait(&set, &sig);
	atomic_store(&stop, true);
	for (int i = 0; i < nr; i++)
		pthread_join(t[i], NULL);
	free(t);
	printf("requests=%lu refused=%lu reset=%lu failed=%lu\n",
	       atomic_load(&requests), atomic_load(&refused),
	       atomic_load(&resets), atomic_load(&failed));
	return 0;
}
