// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Which fds are ours: a device or session fd is an AF_UNIX SOCK_SEQPACKET
 * socket whose peer is the daemon.  The kernel records the peer's
 * credentials when the socket is connected (or the pair is made, by the
 * daemon, for a session), so SO_PEERCRED names the daemon's pid whatever
 * happened to the fd since: dup, dup2, fork, exec, SCM_RIGHTS.
 *
 * That takes three getsockopt calls, so the inode numbers of sockets found
 * to be ours are kept in a small direct-mapped cache: one fstat per ioctl
 * answers for a known socket.  The cache is keyed by the socket's inode,
 * not by the fd number, so dup2 or close and reuse of a number cannot
 * fool it; sockfs inode numbers come from a counter and are not reused
 * while the socket lives.  The cache and the daemon's pid are this
 * library's only global state (an LD_PRELOAD library has no caller to
 * hand state to); both are atomics, so threads need no lock.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "preload.h"

#define LP_CACHE_SLOTS	256

static _Atomic(unsigned long) lp_cache[LP_CACHE_SLOTS];
static _Atomic(pid_t) lp_daemon_pid;

static _Atomic(unsigned long) *lp_slot(unsigned long ino)
{
	return &lp_cache[ino % LP_CACHE_SLOTS];
}

static void lp_remember(unsigned long ino)
{
	atomic_store_explicit(lp_slot(ino), ino, memory_order_relaxed);
}

/**
 * lp_owner_add() - remember a new device fd
 * @fd:         the fd luo_open_at() returned
 * @daemon_pid: its peer's pid, or 0 to read it from @fd
 */
void lp_owner_add(int fd, pid_t daemon_pid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct stat st;

	if (!daemon_pid &&
	    !getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		daemon_pid = cred.pid;
	if (daemon_pid)
		atomic_store_explicit(&lp_daemon_pid, daemon_pid,
				      memory_order_relaxed);
	if (!fstat(fd, &st))
		lp_remember(st.st_ino);
}

static int lp_sockopt(int fd, int opt)
{
	int v = -1;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, opt, &v, &len) < 0)
		return -1;
	return v;
}

/* The daemon's pid: known, or learnt by a probe connection. */
static pid_t lp_daemon(bool refresh)
{
	pid_t pid = atomic_load_explicit(&lp_daemon_pid, memory_order_relaxed);

	if (pid && !refresh)
		return pid;
	if (lp_probe_daemon(&pid))
		return 0;
	atomic_store_explicit(&lp_daemon_pid, pid, memory_order_relaxed);
	return pid;
}

/* The slow test, for a socket the cache does not know. */
static bool lp_peer_is_daemon(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	pid_t pid;

	if (lp_sockopt(fd, SO_DOMAIN) != AF_UNIX ||
	    lp_sockopt(fd, SO_TYPE) != SOCK_SEQPACKET ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    cred.pid <= 0)
		return false;
	pid = lp_daemon(false);
	if (pid == cred.pid)
		return true;
	/* Ask again only if the daemon we knew has gone (a restart). */
	if (pid && (kill(pid, 0) == 0 || errno == EPERM))
		return false;
	pid = lp_daemon(true);
	return pid && pid == cred.pid;
}

/**
 * lp_fd_is_ours() - is @fd a device or session fd of the daemon?
 * @fd: any fd
 *
 * errno is left as it was.
 *
 * Return: true if it is.
 */
bool lp_fd_is_ours(int fd)
{
	int saved = errno;
	struct stat st;
	bool ours;

	if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		errno = saved;
		return false;
	}
	ours = atomic_load_explicit(lp_slot(st.st_ino),
				    memory_order_relaxed) == st.st_ino;
	if (!ours && lp_peer_is_daemon(fd)) {
		lp_remember(st.st_ino);
		ours = true;
	}
	errno = saved;
	return ours;
}
