// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * HANDOVER of one session through the daemon: a successor process retrieves
 * it by name while another session keeps running; a retriever killed before
 * FINISH loses the session without LUO_HANDOVER_KEEP_ON_CLOSE and gives it
 * back intact with it; the errnos; no fd leaks in the daemon.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e.h"

#define MIB	(1ul << 20)

static int open_dev(const char *sock)
{
	int dev = luo_open_at(sock, LUO_OPEN_DEVICE);

	dh_check(dev >= 0);
	return dev;
}

/* A session named @name holding a memfd of @size bytes under token 1. */
static int make_session(const char *sock, const char *name, size_t size,
			uint64_t seed)
{
	int dev = open_dev(sock), sfd, m;

	sfd = luo_create_session(dev, name);
	dh_check(sfd >= 0);
	luo_close(dev);
	m = e2e_memfd(size, seed, 17);
	dh_check_eq(luo_session_preserve_fd(sfd, m, 1), 0);
	close(m);
	return sfd;
}

/* In a child: retrieve @name, check its memfd, then finish or hang. */
static void successor(const char *sock, const char *name, size_t size,
		      uint64_t seed, int ready, bool finish)
{
	int dev = open_dev(sock), sfd, m;

	sfd = luo_retrieve_session(dev, name);
	dh_check(sfd >= 0);
	luo_close(dev);
	m = luo_session_retrieve_fd(sfd, 1);
	dh_check(m >= 0);
	dh_check_eq(lseek(m, 0, SEEK_CUR), 17);
	dh_check(e2e_memfd_ok(m, size, seed));
	if (finish)
		dh_check_eq(luo_session_finish(sfd), 0);
	dh_check_eq(write(ready, "x", 1), 1);
	if (!finish)
		pause();
	_exit(DH_PASS);
}

/* Run successor() in a child; kill it once it is ready unless it finishes. */
static void run_successor(const char *sock, const char *name, size_t size,
			  uint64_t seed, bool finish)
{
	int p[2], status;
	char c;
	pid_t pid;

	dh_check_eq(pipe(p), 0);
	pid = fork();
	dh_check(pid >= 0);
	if (!pid) {
		close(p[0]);
		successor(sock, name, size, seed, p[1], finish);
	}
	close(p[1]);
	dh_check_eq(read(p[0], &c, 1), 1);
	close(p[0]);
	if (!finish)
		dh_check_eq(kill(pid, SIGKILL), 0);
	dh_check_eq(waitpid(pid, &status, 0), pid);
	if (finish)
		dh_check_eq(dh_exit_code(status), DH_PASS);
	else
		dh_check(WIFSIGNALED(status));
}

static void check_detached(int sfd)
{
	int m = e2e_memfd(4096, 9, 0);
	char name[LIVEUPDATE_SESSION_NAME_LENGTH];

	dh_check_eq(luo_session_preserve_fd(sfd, m, 2), -ENOENT);
	dh_check_eq(luo_session_get_name(sfd, name, sizeof(name)), -ENOENT);
	dh_check_eq(luo_session_handover(sfd, 0), -ENOENT);
	dh_check_eq(luo_session_finish(sfd), -ENOENT);
	close(m);
}

/* Handover, retrieve in another process, FINISH; "other" is untouched. */
static void test_basic(const char *sock)
{
	int other = make_session(sock, "other", MIB, 1);
	int sfd = make_session(sock, "svc", 4 * MIB, 2);
	struct luo_status st;
	int m;

	dh_check_eq(luo_session_handover(sfd, 0), 0);
	check_detached(sfd);
	e2e_status(sock, &st);
	dh_check_eq(st.nr_outgoing, 1);
	dh_check_eq(st.nr_incoming, 1);
	luo_close(sfd);		/* detached: closing it does nothing */
	e2e_status(sock, &st);
	dh_check_eq(st.nr_incoming, 1);
	dh_check_eq(st.nr_files, 2);

	run_successor(sock, "svc", 4 * MIB, 2, true);
	e2e_status(sock, &st);
	dh_check_eq(st.nr_incoming, 0);
	dh_check_eq(st.nr_outgoing, 1);
	m = e2e_memfd(4096, 3, 0);
	dh_check_eq(luo_session_preserve_fd(other, m, 2), 0);
	close(m);
	luo_close(other);
}

/* A killed retriever: the session is finished, or kept with the flag. */
static void test_killed(const char *sock, bool keep)
{
	const char *name = keep ? "keep" : "nokeep";
	int sfd = make_session(sock, name, 2 * MIB, 4), dev;
	struct luo_status st;

	dh_check_eq(luo_session_handover(sfd, keep ? LUO_HANDOVER_KEEP_ON_CLOSE :
						     0), 0);
	luo_close(sfd);
	run_successor(sock, name, 2 * MIB, 4, false);
	e2e_status(sock, &st);	/* the daemon has seen the close */
	dev = open_dev(sock);
	if (!keep) {
		dh_check_eq(st.nr_incoming, 0);
		dh_check_eq(luo_retrieve_session(dev, name), -ENOENT);
		luo_close(dev);
		return;
	}
	dh_check_eq(st.nr_incoming, 1);
	dh_check_eq(st.nr_files, 1);
	luo_close(dev);
	/* Retrieved once already: the same file comes back, intact. */
	run_successor(sock, name, 2 * MIB, 4, true);
	e2e_status(sock, &st);
	dh_check_eq(st.nr_incoming, 0);
	dh_check_eq(st.nr_files, 0);
}

static int handover_raw(int sfd, uint32_t size, uint32_t flags, uint8_t tail)
{
	struct {
		struct luo_session_handover h;
		uint8_t tail[8];
	} arg;

	memset(&arg, 0, sizeof(arg));
	arg.h.size = size;
	arg.h.flags = flags;
	arg.tail[7] = tail;
	return luo_ioctl(sfd, LUO_IOCTL_HANDOVER, &arg);
}

static void test_errnos(const char *sock)
{
	int sfd = make_session(sock, "dup", MIB, 5), dev, in, again;

	dh_check_eq(luo_session_handover(sfd, 2), -EOPNOTSUPP);
	dh_check_eq(luo_session_handover(sfd, ~0u), -EOPNOTSUPP);
	dh_check_eq(handover_raw(sfd, 4, 0, 0), -EINVAL);
	dh_check_eq(handover_raw(sfd, 7, 0, 0), -EINVAL);
	dh_check_eq(handover_raw(sfd, 16, 0, 1), -E2BIG);
	dh_check_eq(handover_raw(sfd, 16, 4, 0), -EOPNOTSUPP);
	dh_check_eq(handover_raw(sfd, 16, 0, 0), 0);
	luo_close(sfd);

	/* The outgoing name is free again; handing it over clashes. */
	again = make_session(sock, "dup", MIB, 6);
	dh_check_eq(luo_session_handover(again, 0), -EEXIST);

	/* An incoming session cannot be handed over. */
	dev = open_dev(sock);
	in = luo_retrieve_session(dev, "dup");
	dh_check(in >= 0);
	dh_check_eq(luo_session_handover(in, 0), -EINVAL);
	dh_check_eq(luo_session_handover(dev, 0), -EINVAL);
	dh_check_eq(luo_session_finish(in), 0);
	luo_close(in);
	luo_close(dev);
	/* The first one is gone: now it can go. */
	dh_check_eq(luo_session_handover(again, 0), 0);
	luo_close(again);
	dev = open_dev(sock);
	in = luo_retrieve_session(dev, "dup");
	dh_check(in >= 0);
	luo_close(in);		/* implicit finish */
	luo_close(dev);
}

int main(void)
{
	struct dh_daemon d;
	struct luo_status st;
	int fds_before;

	if (dh_start(&d, NULL))
		dh_skip("cannot start liveupdated");
	fds_before = e2e_daemon_fds(&d);
	test_basic(d.socket);
	test_killed(d.socket, false);
	test_killed(d.socket, true);
	test_errnos(d.socket);
	e2e_status(d.socket, &st);
	dh_check_eq(st.nr_outgoing, 0);
	dh_check_eq(st.nr_incoming, 0);
	dh_check_eq(st.nr_files, 0);
	dh_check_eq(e2e_daemon_fds(&d), fds_before);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	return DH_PASS;
}
