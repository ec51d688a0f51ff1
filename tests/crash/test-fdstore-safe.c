// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Only files whose close cannot block go to the service manager's fd
 * store (liveupdated(8), "The vault and the fd store"; vault_fdsafe.c):
 * systemd 252 closes a stored fd in PID 1 itself, and a TCP socket with
 * SO_LINGER and unsent data held PID 1 for its whole linger time.  Against
 * the stand-in for systemd (fdstore-standin.c):
 *
 * 1. A memfd, a pipe, an eventfd, a Unix socket, a UDP socket, a listening
 *    TCP socket and a regular file go to the store as their preserves
 *    return; a connected TCP socket with SO_LINGER does not.
 * 2. Every luo process killed at once: the restart serves everything but
 *    the TCP connection (dropped, as the store never had it).
 * 3. What lets a listening TCP socket go to the store: a client cannot
 *    turn it into a connection, whose close could linger (Linux refuses
 *    to connect a socket that listened, after shutdown() or an AF_UNSPEC
 *    connect alike).  If a kernel ever allows it, this fails, and
 *    vault_fdsafe.c must keep listeners out of the store too.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/kcmp.h>

#include <luo/libluo.h>

#include "daemon-harness.h"
#include "fdstore-standin.h"

enum { MEMFD, PIPE, EVENTFD, UNIX, UDP, LISTEN1, LISTEN2, FILE_, TCP, NR };

static bool kcmp_same(int a, int b)
{
	pid_t pid = getpid();

	return syscall(SYS_kcmp, pid, pid, KCMP_FILE, a, b) == 0;
}

/* Under @lock: the store's entry for @fd, or NULL. */
static const char *entry_of(int fd)
{
	for (int i = 0; i < nr_store; i++)
		if (kcmp_same(store[i].fd, fd))
			return store[i].name;
	return NULL;
}

static int tcp_listener(struct sockaddr_in *sa)
{
	socklen_t len = sizeof(*sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	*sa = (struct sockaddr_in){ .sin_family = AF_INET };
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	dh_check(fd >= 0 && bind(fd, (struct sockaddr *)sa, sizeof(*sa)) == 0 &&
		 listen(fd, 8) == 0 &&
		 getsockname(fd, (struct sockaddr *)sa, &len) == 0);
	return fd;
}

/* @fd, a listening socket, cannot become a connection to @to. */
static void cannot_connect(int fd, const struct sockaddr_in *to)
{
	struct sockaddr unspec = { .sa_family = AF_UNSPEC };

	dh_check_eq(shutdown(fd, SHUT_RDWR), 0);
	dh_check(connect(fd, (const struct sockaddr *)to, sizeof(*to)) < 0 &&
		 errno == EINVAL);
	dh_check_eq(connect(fd, &unspec, sizeof(unspec)), 0);
	dh_check(connect(fd, (const struct sockaddr *)to, sizeof(*to)) < 0 &&
		 errno == EINVAL);
}

static uint32_t nr_files(int dev)
{
	struct luo_status st = { .size = sizeof(st) };

	dh_check_eq(luo_status(dev, &st), 0);
	return st.nr_files;
}

static pid_t engine(int dev)
{
	struct luo_status st = { .size = sizeof(st) };

	dh_check_eq(luo_status(dev, &st), 0);
	return (pid_t)st.pid;
}

int main(void)
{
	static char names[MAX_STORED + 2][256];
	struct sockaddr_in peer_addr, scratch;
	struct standin_unit u;
	const char *bin = dh_binary(), *notify = u.notify, *path = u.path;
	int fds[NR], pair[2], p[2], lsock, dev, s, peer, accepted, nr, r;
	struct linger lg = { .l_onoff = 1, .l_linger = 30 };
	int sfds[MAX_STORED + 2];
	char file[128];
	pid_t vault;

	standin_unit_make(&u, "fdsafe", true);
	lsock = u.lsock;
	snprintf(file, sizeof(file), "%.63s/a-file", u.dir);
	snprintf(names[0], sizeof(names[0]), "liveupdated.socket");
	vault = group = start_vault(bin, notify, path, &lsock, names, 1);
	notify_until(is_ready, NULL, "READY=1 at the first start");

	/* 1. What goes to the store, what does not. */
	fds[MEMFD] = memfd_with("a memfd");
	dh_check_eq(pipe2(p, O_CLOEXEC), 0);
	fds[PIPE] = p[0];
	fds[EVENTFD] = eventfd(7, EFD_CLOEXEC);
	dh_check_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair),
		    0);
	fds[UNIX] = pair[0];
	fds[UDP] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	fds[LISTEN1] = tcp_listener(&scratch);
	fds[LISTEN2] = tcp_listener(&scratch);
	fds[FILE_] = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	/* A connection whose close would wait: SO_LINGER. */
	peer = tcp_listener(&peer_addr);
	fds[TCP] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	dh_check(fds[TCP] >= 0 &&
		 connect(fds[TCP], (struct sockaddr *)&peer_addr,
			 sizeof(peer_addr)) == 0);
	accepted = accept4(peer, NULL, NULL, SOCK_CLOEXEC);
	dh_check(accepted >= 0);
	dh_check_eq(setsockopt(fds[TCP], SOL_SOCKET, SO_LINGER, &lg,
			       sizeof(lg)), 0);
	dev = luo_open_at(path, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	s = luo_create_session(dev, "fdstore-safe");
	dh_check(s >= 0);
	for (int i = 0; i < NR; i++) {
		dh_check(fds[i] >= 0);
		r = luo_session_preserve_fd(s, fds[i], (uint64_t)i + 1);
		if (r)
			fprintf(stderr, "preserve %d: %s\n", i, strerror(-r));
		dh_check_eq(r, 0);
	}
	/* Each preserve waited for the manager to take what it stored. */
	pthread_mutex_lock(&lock);
	for (int i = 0; i < NR; i++) {
		if (i == TCP)
			dh_check(!entry_of(fds[i]));
		else if (!entry_of(fds[i]))
			dh_fail(__FILE__, __LINE__, "a safe file in the store");
	}
	pthread_mutex_unlock(&lock);

	/* 2. The loss of every luo process: all but the TCP connection. */
	kill_all(vault, engine(dev), vault);
	pthread_mutex_lock(&lock);
	nr = store_passed(lsock, sfds, names);
	ready = false;
	vault = group = start_vault(bin, notify, path, sfds, names, nr);
	pthread_mutex_unlock(&lock);
	notify_until(is_ready, NULL, "READY=1 after the restart");
	dh_check_eq(nr_files(dev), NR - 1);

	/* 3. The listeners: no way to a lingering connection. */
	cannot_connect(fds[LISTEN1], &peer_addr);
	cannot_connect(fds[LISTEN2], &peer_addr);

	dh_check(kill(vault, SIGTERM) == 0);
	dh_check(waitpid(vault, &r, 0) == vault);
	group = 0;
	dh_check(WIFEXITED(r) && WEXITSTATUS(r) == 0);
	luo_close(dev);
	unlink(file);
	standin_unit_remove(&u);
	printf("test-fdstore-safe: PASS\n");
	return DH_PASS;
}
