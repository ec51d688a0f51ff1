// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The vault (liveupdated(8), "Crash recovery"; DESIGN.md section 7).
 *
 * With --vault, liveupdated's main process is the vault: it parses no
 * client input and never blocks on a client's file.  It makes the records
 * memfd and a private SOCK_SEQPACKET pair, and runs the engine (the daemon
 * proper: loop, core, handlers, worker) as its child, from its own image
 * (/proc/self/exe, kept open as an fd: never a path).  The engine sends it
 * a duplicate of every fd that its records name (records.c) before it
 * acknowledges anything, and says which it dropped; the vault keeps them
 * by the engine's fd number.
 *
 * When the engine dies of anything but a clean exit, the vault reads what
 * is still queued from it, and starts a new engine with --recover: in the
 * child every fd it holds is put back under the engine's number for it,
 * and the new engine reads the records (the handover of the last commit)
 * in RESTORE mode and serves every session, file and connection again.
 *
 * The vault closes what it drops on a thread of its own: a close that
 * turns out to be the last one (a client's socket with SO_LINGER) may
 * block, and the vault must always be there to read.
 *
 * A REBOOT or an UPGRADE executes a new image in the engine's process
 * (VAULT_EXEC first): the vault is its keeper.  A new image that has not
 * served within the takeover timeout is killed, and one that dies first is
 * followed by an engine that recovers the records (the state before the
 * exec) with --rolled-back, which answers the request ETIMEDOUT or ENOEXEC
 * as the keeper's rollback would.
 *
 * Under a service manager the vault is the main pid: it says MAINPID= and
 * READY=1 once the first engine serves; the engine keeps NOTIFY_SOCKET and
 * says READY=1, RELOADING=1 and STATUS= itself, never MAINPID=.  A socket
 * the manager passed (LISTEN_FDS) is held by the vault under its number
 * and passed on to the first engine (LISTEN_PID its pid); later engines
 * find it in the records, like any fd the vault holds.  SIGTERM or SIGINT
 * to the vault stops the engine, then the vault.  Under the manager's fd
 * store (vault_fdstore.c) the vault answers the engine's VAULT_SYNC once
 * the manager has taken every fd stored before it (BARRIER=1, whose pipe
 * the loop watches: it never waits for the manager in place).
 *
 * Once the first engine serves (its socket is made, and chowned for
 * --group), the vault drops its capabilities as the engine does (privs.c):
 * every later engine, a recovery's or a new image's, starts with what the
 * engine keeps.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include "activation.h"
#include "fdlimit.h"
#include "log.h"
#include "notify.h"
#include "options.h"
#include "privs.h"
#include "vault.h"
#include "vault_fdstore.h"
#include "vault_proto.h"

/* "LISTEN_PID=" and a pid, written in the child (vault_child()). */
#define LISTEN_PID_LEN	32

/* Engines in a row that die before they serve: then the vault gives up. */
#define VAULT_MAX_FAILURES	5

extern char **environ;

/**
 * struct vault - the vault's state
 * @opt:      the command line
 * @argv:     the original command line
 * @envp:     the environment for the engine (no NOTIFY_SOCKET)
 * @self_fd:  our own image
 * @rec_fd:   the records memfd
 * @sock:     our end of the pair with the current engine
 * @sigfd:    SIGCHLD, SIGTERM, SIGINT
 * @oldmask:  the signal mask to give the engine
 * @pid:      the engine
 * @serving:  the current engine said it serves
 * @served:   an engine ever did
 * @failures: engines in a row that died before serving
 * @restarts: engines started after a crash
 * @spawned:  engines started in all: each has a socket pair of its own
 * @stopping: SIGTERM or SIGINT was passed on
 * @held:     our fd for each engine fd number, -1 for none
 * @next:     a pending replacement for it (VAULT_ADD), -1 for none
 * @next_seq: the commit that @next waits for
 * @fresh:    during a full account: added again
 * @nr_held:  entries of @held, @next, @next_seq and @fresh
 * @pend:     the numbers with a @next
 * @nr_pend:  entries of @pend
 * @rec:      the records' header, mapped
 * @full:     a full account is under way
 * @closer:   pipe to the closing thread
 * @pidfd:    --vault-adopt: the adopted engine, no child of ours; else -1
 * @exec_deadline: CLOCK_MONOTONIC ns by which a new image executed by a
 *            REBOOT or an UPGRADE must serve; 0: no exec under way
 * @exec_ms:  its takeover timeout
 * @exec_seq: the last commit written before it: a later one is the new
 *            image's, which has taken over then
 * @rolled:   "ERRNO:WHY" for the next engine if the exec failed, or ""
 * @nr_listen: fds a service manager passed (LISTEN_FDS), for the first
 *            engine
 * @listen_env: "LISTEN_FDS=N" and "LISTEN_PID=" for the first engine
 * @barrier:  the read end of the pipe of the BARRIER=1 under way, or -1
 * @barrier_deadline: CLOCK_MONOTONIC ns by which the manager answers it
 * @sync_want: the commit of the engine's last VAULT_SYNC
 * @sync_asked: the commit the barrier under way answers
 * @unsynced: a new entry went to the store after the last BARRIER=1
 * @barrier_late: the manager did not answer @barrier in time: VAULT_SYNC
 *            is answered at once until it does
 */
struct vault {
	const struct luod_options *opt;
	char **argv;
	char **envp;
	int self_fd;
	int rec_fd;
	int sock;
	int sigfd;
	sigset_t oldmask;
	pid_t pid;
	bool serving;
	bool served;
	int failures;
	unsigned long restarts;
	unsigned long spawned;
	bool stopping;
	int *held;
	int *next;
	uint64_t *next_seq;
	bool *fresh;
	size_t nr_held;
	int32_t *pend;
	size_t nr_pend;
	const struct records_header *rec;
	bool full;
	int closer[2];
	int pidfd;
	uint64_t exec_deadline;
	uint32_t exec_ms;
	uint64_t exec_seq;
	char rolled[160];
	int nr_listen;
	char listen_env[2][LISTEN_PID_LEN];
	int barrier;
	uint64_t barrier_deadline;
	uint64_t sync_want;
	uint64_t sync_asked;
	bool unsynced;
	bool barrier_late;
};

static uint64_t vault_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *closer_main(void *arg)
{
	int fd, rfd = (int)(long)arg;
	ssize_t n;

	for (;;) {
		n = read(rfd, &fd, sizeof(fd));
		if (n == sizeof(fd)) {
			close(fd);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return NULL;
	}
}

/* Off our thread: we never block on a client's file. */
static void vault_close(struct vault *v, int fd)
{
	ssize_t n;

	do
		n = write(v->closer[1], &fd, sizeof(fd));
	while (n < 0 && errno == EINTR);
	if (n != sizeof(fd))
		close(fd);
}

static int vault_grow(struct vault *v, size_t idx)
{
	size_t n = v->nr_held ? v->nr_held : 64, i;
	uint64_t *seq;
	int32_t *pend;
	bool *fresh;
	int *held, *next;

	while (n <= idx)
		n *= 2;
	held = realloc(v->held, n * sizeof(*held));
	if (held)
		v->held = held;
	next = realloc(v->next, n * sizeof(*next));
	if (next)
		v->next = next;
	seq = realloc(v->next_seq, n * sizeof(*seq));
	if (seq)
		v->next_seq = seq;
	fresh = realloc(v->fresh, n * sizeof(*fresh));
	if (fresh)
		v->fresh = fresh;
	pend = realloc(v->pend, n * sizeof(*pend));
	if (pend)
		v->pend = pend;
	if (!held || !next || !seq || !fresh || !pend)
		return -ENOMEM;
	for (i = v->nr_held; i < n; i++) {
		held[i] = -1;
		next[i] = -1;
		fresh[i] = false;
	}
	v->nr_held = n;
	return 0;
}

static void vault_drop(struct vault *v, int32_t idx)
{
	if (idx < 0 || (size_t)idx >= v->nr_held || v->held[idx] < 0)
		return;
	vault_fdstore_drop(idx);
	vault_close(v, v->held[idx]);
	v->held[idx] = -1;
}

/* Pending until commit @seq is known to be written. */
static void vault_add(struct vault *v, int32_t idx, int fd, uint64_t seq)
{
	if (idx < 3 || ((size_t)idx >= v->nr_held && vault_grow(v, (size_t)idx))) {
		log_err("vault: cannot hold the engine's fd %d", idx);
		vault_close(v, fd);
		return;
	}
	if (vault_fdstore_add(idx, fd, seq))
		v->unsynced = true;
	if (v->next[idx] >= 0)
		vault_close(v, v->next[idx]);	/* its commit failed */
	else
		v->pend[v->nr_pend++] = idx;
	v->next[idx] = fd;
	v->next_seq[idx] = seq;
	v->fresh[idx] = true;
}

/* Commit @seq is written: what waited for it replaces what was held. */
static void vault_committed(struct vault *v, uint64_t seq)
{
	size_t i, j = 0;
	int32_t idx;

	for (i = 0; i < v->nr_pend; i++) {
		idx = v->pend[i];
		if (v->next_seq[idx] > seq) {
			v->pend[j++] = idx;
			continue;
		}
		vault_fdstore_commit(idx);
		if (v->held[idx] >= 0)
			vault_close(v, v->held[idx]);
		v->held[idx] = v->next[idx];
		v->next[idx] = -1;
	}
	v->nr_pend = j;
}

/* The last commit the engine wrote (the records' header says). */
static uint64_t vault_written(const struct vault *v)
{
	const struct records_slot *s =
		&v->rec->slot[__atomic_load_n(&v->rec->active,
					      __ATOMIC_ACQUIRE) & 1];

	return s->len ? s->seq : 0;
}

/* The engine is dead: keep what its last written commit names. */
static void vault_settle(struct vault *v)
{
	vault_committed(v, vault_written(v));
	for (size_t i = 0; i < v->nr_pend; i++) {
		vault_fdstore_cancel(v->pend[i]);
		vault_close(v, v->next[v->pend[i]]);
		v->next[v->pend[i]] = -1;
	}
	v->nr_pend = 0;
}

static void vault_sweep(struct vault *v)
{
	for (size_t i = 0; i < v->nr_held; i++)
		if (!v->fresh[i])
			vault_drop(v, (int32_t)i);
	v->full = false;
}

/* VAULT_SYNCED: the engine may write its commit @seq. */
static void vault_synced(struct vault *v, uint64_t seq)
{
	struct vault_msg m = { .op = VAULT_SYNCED, .seq = seq };

	if (v->sock >= 0 &&
	    send(v->sock, &m, VAULT_MSG_SIZE(0), MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_err("vault: cannot answer the engine: %m");
}

/*
 * VAULT_SYNC: what was stored so far (vault_fdstore_add(), as each
 * VAULT_ADD was read) is followed by BARRIER=1; the answer waits for the
 * manager's.  Without a store, or without a barrier, it goes at once.
 */
static void vault_sync_start(struct vault *v)
{
	int fd = vault_fdstore_barrier();

	if (fd < 0) {
		if (fd != -ENODEV)
			log_err("fd store: BARRIER=1: %s; the engine goes on without",
				strerror(-fd));
		vault_synced(v, v->sync_want);
		return;
	}
	v->unsynced = false;
	v->barrier = fd;
	v->sync_asked = v->sync_want;
	v->barrier_deadline = vault_now_ns() +
			      v->opt->fdstore_ms * 1000000ull;
}

/*
 * The manager did not answer the barrier in time: the engine goes on, and
 * so does every VAULT_SYNC until the manager answers that barrier (a hung
 * PID 1 costs one wait, not one per request).
 */
static void vault_barrier_late(struct vault *v)
{
	log_err("fd store: the service manager did not take the fds in %u ms; the engine goes on without until it does",
		v->opt->fdstore_ms);
	v->barrier_late = true;
	v->barrier_deadline = 0;
	vault_synced(v, v->sync_want);
}

/* The manager answered the barrier. */
static void vault_barrier_done(struct vault *v)
{
	close(v->barrier);
	v->barrier = -1;
	v->barrier_deadline = 0;
	if (v->barrier_late) {
		log_notice("fd store: the service manager answers again");
		v->barrier_late = false;
		return;
	}
	vault_synced(v, v->sync_asked);
	if (v->sync_want <= v->sync_asked)
		return;
	if (v->unsynced)
		vault_sync_start(v);
	else
		vault_synced(v, v->sync_want);
}

/* The engine is gone: what it waited for is of no use. */
static void vault_sync_reset(struct vault *v)
{
	/* What it covered is covered by the next one. */
	if (v->barrier >= 0) {
		close(v->barrier);
		v->unsynced = true;
	}
	v->barrier_late = false;
	v->barrier = -1;
	v->barrier_deadline = 0;
	v->sync_want = v->sync_asked = 0;
}

static void vault_op(struct vault *v, const struct vault_msg *m,
		     const int *fds, uint32_t nfds)
{
	uint32_t i;

	/* What waited for a commit now written replaces what was held. */
	vault_committed(v, vault_written(v));
	switch (m->op) {
	case VAULT_ADD:
		for (i = 0; i < nfds; i++)
			vault_add(v, m->fds[i], fds[i], m->seq);
		break;
	case VAULT_DEL:
		for (i = 0; i < m->count; i++)
			vault_drop(v, m->fds[i]);
		break;
	case VAULT_FULL:
		v->full = true;
		if (v->nr_held)
			memset(v->fresh, 0, v->nr_held * sizeof(*v->fresh));
		break;
	case VAULT_SWEEP:
		vault_sweep(v);
		break;
	case VAULT_SYNC:
		v->sync_want = m->seq;
		if (v->barrier_late)
			vault_synced(v, m->seq);	/* no second wait */
		else if (v->barrier >= 0)
			break;				/* answered with it */
		else if (v->unsynced)
			vault_sync_start(v);
		else
			vault_synced(v, m->seq);	/* nothing new stored */
		break;
	case VAULT_EXEC:
		v->exec_seq = vault_written(v);
		v->exec_ms = (uint32_t)m->seq;
		v->exec_deadline = vault_now_ns() + m->seq * 1000000u;
		break;
	case VAULT_SERVING:
		v->exec_deadline = 0;
		v->serving = true;
		v->failures = 0;
		if (!v->served) {
			notify_serving();
			/* The socket is made: what engines need from now on. */
			privs_drop(v->opt->pool != NULL,
				   v->opt->pool && v->opt->max_pool_per_user);
		}
		v->served = true;
		break;
	default:
		log_err("vault: unknown message %u", m->op);
	}
}

/* One message; 1 if one was read, 0 at EOF or when none is queued. */
static int vault_recv(struct vault *v, int flags)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VAULT_MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct vault_msg m;
	struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	int fds[VAULT_MAX_FDS];
	uint32_t nfds = 0;
	struct cmsghdr *cm;
	ssize_t n;

	n = recvmsg(v->sock, &mh, MSG_CMSG_CLOEXEC | flags);
	if (n < 0)
		return errno == EINTR ? 1 : 0;
	if (n == 0)
		return 0;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		nfds = (uint32_t)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		memcpy(fds, CMSG_DATA(cm), nfds * sizeof(int));
	}
	if ((size_t)n < VAULT_MSG_SIZE(0) || m.count > VAULT_MAX_FDS ||
	    (size_t)n != VAULT_MSG_SIZE(m.count) ||
	    (m.op == VAULT_ADD && nfds != m.count) ||
	    (mh.msg_flags & MSG_CTRUNC)) {
		log_err("vault: malformed message from the engine");
		for (uint32_t i = 0; i < nfds; i++)
			vault_close(v, fds[i]);
		return 1;
	}
	if (m.op != VAULT_ADD)
		for (uint32_t i = 0; i < nfds; i++)
			vault_close(v, fds[i]);
	vault_op(v, &m, fds, m.op == VAULT_ADD ? nfds : 0);
	return 1;
}

/*
 * The engines' environment: ours (NOTIFY_SOCKET too: the engine says
 * READY=1, RELOADING=1 and STATUS=), less what sd_listen_fds() took, with
 * two free places at the end for the first engine's LISTEN_FDS= and
 * LISTEN_PID= (vault_spawn()).
 */
static char **vault_env(void)
{
	size_t n = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 3, sizeof(*env));
	if (!env)
		return NULL;
	memcpy(env, environ, n * sizeof(*env));
	return env;
}

/* LISTEN_PID=<our pid>, in the child: no library call is safe there. */
static void vault_listen_pid(char *buf)
{
	char digits[16];
	int pid = (int)getpid(), n = 0;
	size_t k = strlen("LISTEN_PID=");

	do
		digits[n++] = (char)('0' + pid % 10);
	while ((pid /= 10) && n < (int)sizeof(digits));
	while (n && k < LISTEN_PID_LEN - 1)
		buf[k++] = digits[--n];
	buf[k] = '\0';
}

/*
 * In the child, between fork and exec: only system calls.  Our end of the
 * pair and the records go to @top and @top + 1, above every number the
 * engine used, our image to @top + 2; each held fd goes to its engine
 * number through a copy above those (close-on-exec), so that no number is
 * overwritten before it is copied.
 */
static void vault_child(struct vault *v, int engine_sock, int top,
			char **argv, bool first)
{
	int k = top + 3;

	sigprocmask(SIG_SETMASK, &v->oldmask, NULL);
	if (dup2(engine_sock, top) < 0)
		_exit(121);
	if (dup2(v->rec_fd, top + 1) < 0)
		_exit(122);
	if (dup3(v->self_fd, top + 2, O_CLOEXEC) < 0)
		_exit(123);
	for (size_t i = 0; i < v->nr_held; i++)
		if (v->held[i] >= 0 && dup3(v->held[i], k++, O_CLOEXEC) < 0)
			_exit(125);
	k = top + 3;
	for (size_t i = 0; i < v->nr_held; i++)
		if (v->held[i] >= 0 && dup2(k++, (int)i) < 0)
			_exit(126);
	if (first && v->opt->ready_fd >= 0)
		fcntl(v->opt->ready_fd, F_SETFD, 0);
	if (first && v->nr_listen)
		vault_listen_pid(v->listen_env[1]);
	execveat(top + 2, "", argv, v->envp, AT_EMPTY_PATH);
	_exit(127);
}

/*
 * Above every number in use: the engine's held ones and ours.  Not the
 * table's size, which would grow with every generation of vaults.
 */
static int vault_top(const struct vault *v, int sv0, int sv1)
{
	int top = 3;
	int fds[] = { v->self_fd, v->rec_fd, v->sigfd, v->closer[0],
		      v->closer[1], sv0, sv1, v->opt->ready_fd };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= top)
			top = fds[i] + 1;
	for (size_t i = 0; i < v->nr_held; i++) {
		if (v->held[i] < 0)
			continue;
		if (v->held[i] >= top)
			top = v->held[i] + 1;
		if ((int)i >= top)
			top = (int)i + 1;
	}
	return top;
}

/* Starts an engine: the first one, or one that recovers (@first false). */
static int vault_spawn(struct vault *v, bool first)
{
	char **argv;
	int sv[2], top;
	size_t n = 0;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	v->spawned++;
	top = vault_top(v, sv[0], sv[1]);
	log_debug("vault: new engine's fds from %d, %zu held", top, v->nr_held);
	argv = options_engine_argv(v->argv, first, top, top + 1,
				   v->rolled[0] ? v->rolled : NULL);
	if (!argv) {
		close(sv[0]);
		close(sv[1]);
		return -ENOMEM;
	}
	/* Only the first engine is the one the manager passed sockets to. */
	while (v->envp[n] && v->envp[n] != v->listen_env[0])
		n++;
	v->envp[n] = NULL;
	if (first && v->nr_listen) {
		v->envp[n] = v->listen_env[0];
		v->envp[n + 1] = v->listen_env[1];
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0)
		vault_child(v, sv[1], top, argv, first);
	options_free_argv(argv);
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return -errno;
	}
	v->sock = sv[0];
	v->pid = pid;
	v->serving = false;
	v->rolled[0] = '\0';
	return 0;
}

/* What the dead engine still had queued for us. */
static void vault_drain(struct vault *v)
{
	while (vault_recv(v, MSG_DONTWAIT) > 0)
		;
	close(v->sock);
	v->sock = -1;
	vault_sync_reset(v);
	vault_settle(v);
	v->full = false;	/* an account cut short: nothing is swept */
}

/* The engine is gone: -1 to go on (a new one runs), else the exit code. */
static int vault_engine_died(struct vault *v, int status)
{
	/* A new image that exits before it serves has failed, whatever code. */
	bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
		     !v->exec_deadline;

	vault_drain(v);
	if (v->stopping || clean || !v->served)
		return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
	if (!v->serving && ++v->failures > VAULT_MAX_FAILURES) {
		log_err("vault: %d engines in a row died before serving; giving up",
			v->failures);
		return 1;
	}
	/*
	 * A REBOOT's or an UPGRADE's new image died before it served, and
	 * before it wrote any records: the records are of before the exec.
	 */
	if (v->exec_deadline && !v->rolled[0] &&
	    vault_written(v) <= v->exec_seq)
		snprintf(v->rolled, sizeof(v->rolled),
			 "%d:new image (pid %d) died before taking over",
			 ENOEXEC, (int)v->pid);
	v->exec_deadline = 0;
	if (WIFSIGNALED(status))
		log_err("vault: the engine (pid %d) died of %s; recovering",
			(int)v->pid, strsignal(WTERMSIG(status)));
	else
		log_err("vault: the engine (pid %d) exited with %d; recovering",
			(int)v->pid, WEXITSTATUS(status));
	v->restarts++;
	if (vault_spawn(v, false)) {
		log_err("vault: cannot start an engine: %m");
		return 1;
	}
	return -1;
}

static int vault_signal(struct vault *v)
{
	struct signalfd_siginfo si;
	int status, r;
	pid_t pid;

	if (read(v->sigfd, &si, sizeof(si)) != sizeof(si))
		return -1;
	if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
		v->stopping = true;
		kill(v->pid, (int)si.ssi_signo);
		return -1;
	}
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid != v->pid)
			continue;
		r = vault_engine_died(v, status);
		if (r >= 0)
			return r;
	}
	return -1;
}

/*
 * A new image that has not served in time: what it sent is read first (it
 * may have served just now), then it is killed; its death starts an engine
 * that recovers and answers ETIMEDOUT.
 */
static void vault_exec_expired(struct vault *v)
{
	while (v->exec_deadline && v->sock >= 0 &&
	       vault_recv(v, MSG_DONTWAIT) > 0)
		;
	if (!v->exec_deadline)
		return;
	log_err("vault: new image (pid %d) did not take over in %u ms; killing it",
		(int)v->pid, v->exec_ms);
	/* Unless it wrote records: then it took over, and a crash it is. */
	if (vault_written(v) <= v->exec_seq)
		snprintf(v->rolled, sizeof(v->rolled),
			 "%d:new image (pid %d) did not take over in %u ms",
			 ETIMEDOUT, (int)v->pid, v->exec_ms);
	v->exec_deadline = 0;
	if (v->pidfd >= 0)
		syscall(SYS_pidfd_send_signal, v->pidfd, SIGKILL, NULL, 0);
	else
		kill(v->pid, SIGKILL);
}

/* How long poll() may wait: until the next deadline, or for ever. */
static int vault_timeout(const struct vault *v)
{
	uint64_t now, end = v->exec_deadline;

	if (v->barrier_deadline && (!end || v->barrier_deadline < end))
		end = v->barrier_deadline;
	if (!end)
		return -1;
	now = vault_now_ns();
	if (now >= end)
		return 0;
	return (int)((end - now + 999999) / 1000000);
}

/* Nothing happened before a deadline: which one passed. */
static void vault_expired(struct vault *v)
{
	uint64_t now = vault_now_ns();

	if (v->barrier_deadline && now >= v->barrier_deadline)
		vault_barrier_late(v);
	if (v->exec_deadline && now >= v->exec_deadline)
		vault_exec_expired(v);
}

static int vault_run(struct vault *v)
{
	struct pollfd p[4];
	bool eof = false;
	unsigned long spawned;
	int r, n;

	for (;;) {
		p[0] = (struct pollfd){ .fd = v->sigfd, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = eof ? -1 : v->sock,
					.events = POLLIN };
		p[2] = (struct pollfd){ .fd = v->pidfd, .events = POLLIN };
		p[3] = (struct pollfd){ .fd = v->barrier, .events = POLLIN };
		n = poll(p, 4, vault_timeout(v));
		if (n == 0) {
			vault_expired(v);
			continue;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		/* At EOF the engine is dead: SIGCHLD or its pidfd follows. */
		if ((p[1].revents & (POLLIN | POLLHUP)) &&
		    !vault_recv(v, MSG_DONTWAIT))
			eof = true;
		/* The manager closed its end: it took everything before. */
		if (v->barrier >= 0 && p[3].fd == v->barrier &&
		    (p[3].revents & (POLLHUP | POLLERR)))
			vault_barrier_done(v);
		if (p[0].revents & POLLIN) {
			/*
			 * A new engine's socket may well get the number of
			 * the dead one's: count engines, not fd numbers.
			 */
			spawned = v->spawned;
			r = vault_signal(v);
			if (r >= 0)
				return r;
			eof = eof && v->spawned == spawned;
		}
		/* The adopted engine died; no status for a stranger's child. */
		if (p[2].revents & POLLIN) {
			close(v->pidfd);
			v->pidfd = -1;
			r = vault_engine_died(v, v->stopping ? 0 : SIGKILL);
			if (r >= 0)
				return r;
			eof = false;
		}
	}
}

static int vault_setup(struct vault *v)
{
	const struct records_header hdr = {
		.magic = RECORDS_MAGIC, .inflight = -1, .sent_conn = -1,
		.flags = v->opt->fault_injection ? RECORDS_KILLPOINTS : 0,
	};
	sigset_t set;
	pthread_t th;

	v->self_fd = open("/proc/self/exe", O_PATH | O_CLOEXEC);
	if (v->self_fd < 0)
		return -errno;
	if (v->opt->vault_adopt) {
		v->rec_fd = v->opt->records_fd;
		fcntl(v->rec_fd, F_SETFD, FD_CLOEXEC);
	} else if ((v->rec_fd = vault_fdstore_records()) < 0) {
		v->rec_fd = memfd_create("luo-records", MFD_CLOEXEC);
		if (v->rec_fd < 0 || ftruncate(v->rec_fd, RECORDS_DATA) < 0 ||
		    pwrite(v->rec_fd, &hdr, sizeof(hdr), 0) != sizeof(hdr))
			return -errno;
		vault_fdstore_keep_records(v->rec_fd);
	}
	v->rec = mmap(NULL, RECORDS_DATA, PROT_READ, MAP_SHARED, v->rec_fd, 0);
	if (v->rec == MAP_FAILED)
		return -errno;
	/* Blocked before the thread starts: it must take none of them. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, &v->oldmask) < 0)
		return -errno;
	v->sigfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (v->sigfd < 0 || pipe2(v->closer, O_CLOEXEC) < 0)
		return -errno;
	if (pthread_create(&th, NULL, closer_main, (void *)(long)v->closer[0]))
		return -EAGAIN;
	pthread_detach(th);
	v->envp = vault_env();
	return v->envp ? 0 : -ENOMEM;
}

/*
 * Sockets a service manager passed: held under their numbers (3 on) like
 * the engine's own fds, for the first engine with LISTEN_FDS and its own
 * LISTEN_PID; the engine checks them (activation.c).  Before anything of
 * ours is opened, which could take their numbers.
 */
static int vault_listen_fds(struct vault *v)
{
	int n = sd_listen_fds(1);

	if (n <= 0)
		return 0;	/* an error is the engine's to report */
	if (vault_grow(v, (size_t)(SD_LISTEN_FDS_START + n)))
		return -ENOMEM;
	for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + n; fd++) {
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		v->held[fd] = fd;
	}
	v->nr_listen = n;
	/* Every engine after the first: the socket file is the manager's. */
	setenv(ACTIVATION_ENV, "1", 1);
	snprintf(v->listen_env[0], sizeof(v->listen_env[0]), "LISTEN_FDS=%d",
		 n);
	snprintf(v->listen_env[1], sizeof(v->listen_env[1]), "LISTEN_PID=");
	return 0;
}

/*
 * --vault-adopt: every fd we were started with (but stdio, our pair and
 * the records) is the engine's, under its own number.  First thing, before
 * anything of ours is opened.
 */
static int vault_adopt_fds(struct vault *v)
{
	struct dirent *e;
	DIR *dir = opendir("/proc/self/fd");
	long fd;

	if (!dir)
		return -errno;
	while ((e = readdir(dir))) {
		fd = strtol(e->d_name, NULL, 10);
		if (fd < 3 || fd == dirfd(dir) || fd == v->opt->vault_fd ||
		    fd == v->opt->records_fd)
			continue;
		if ((size_t)fd >= v->nr_held && vault_grow(v, (size_t)fd)) {
			closedir(dir);
			return -ENOMEM;
		}
		fcntl((int)fd, F_SETFD, FD_CLOEXEC);
		v->held[fd] = (int)fd;
	}
	closedir(dir);
	return 0;
}

/* Watch the engine that started us, and tell the manager who we are. */
static int vault_adopt(struct vault *v)
{
	const char *ns = getenv("NOTIFY_SOCKET");

	v->sock = v->opt->vault_fd;
	fcntl(v->sock, F_SETFD, FD_CLOEXEC);
	v->pid = v->opt->vault_adopt;
	v->pidfd = (int)syscall(SYS_pidfd_open, v->pid, 0);
	if (v->pidfd < 0)
		return -errno;
	v->served = v->serving = true;
	vault_fdstore_adopted(v->rec_fd);
	if (ns && *ns)
		notify_serving();
	log_notice("vault: adopted engine pid %d", (int)v->pid);
	return 0;
}

static int vault_hold(void *ctx, int32_t idx, int fd)
{
	struct vault *v = ctx;

	if (idx < 3 || ((size_t)idx >= v->nr_held && vault_grow(v, (size_t)idx)))
		return -EINVAL;
	v->held[idx] = fd;
	return 0;
}

/*
 * Every luo process died at once and the service manager passed the
 * store back: hold what the records' last commit names, and recover from
 * it as after an engine's crash.  Not served yet: READY=1 follows the
 * engine's VAULT_SERVING, and a vault whose engine cannot recover exits
 * (the manager restarts it, up to the unit's start limit).
 */
static int vault_restore(struct vault *v)
{
	vault_fdstore_restore(vault_written(v), vault_hold, v);
	v->restarts++;
	return vault_spawn(v, false);
}

/* At exit: what the vault holds goes with it; the closer thread too. */
static void vault_free(struct vault *v)
{
	free(v->held);
	free(v->next);
	free(v->next_seq);
	free(v->fresh);
	free(v->pend);
	free(v->envp);
	vault_sync_reset(v);
	vault_fdstore_free();
	if (v->rec && v->rec != MAP_FAILED)
		munmap((void *)v->rec, RECORDS_DATA);
}

/**
 * vault_main() - be the vault: run the engine, and a new one after a crash
 * @opt:  the command line, parsed
 * @argv: the original command line, which the engine gets too
 *
 * Return: the exit code: the engine's own when it stops cleanly, 1 if it
 * never served or could not be started again.
 */
int vault_main(const struct luod_options *opt, char **argv)
{
	struct vault v = {
		.opt = opt, .argv = argv, .self_fd = -1, .rec_fd = -1,
		.sock = -1, .sigfd = -1, .closer = { -1, -1 }, .pidfd = -1,
		.barrier = -1,
	};
	int r;

	fdlimit_raise();
	/*
	 * What the manager passed: the fd store's copies (by name) are set
	 * apart first, then the sockets left are held for the first engine.
	 */
	if (opt->vault_adopt)
		r = vault_adopt_fds(&v);
	else
		r = vault_fdstore_start() ?: vault_listen_fds(&v);
	r = r ?: vault_setup(&v);
	if (!r && opt->vault_adopt)
		r = vault_adopt(&v);
	else if (!r && vault_fdstore_restoring())
		r = vault_restore(&v);
	else if (!r)
		r = vault_spawn(&v, true);
	if (r) {
		log_err("vault: cannot start: %s", strerror(-r));
		vault_free(&v);
		return 1;
	}
	if (opt->ready_fd >= 0)
		close(opt->ready_fd);	/* the engine says it */
	r = vault_run(&v);
	if (v.restarts)
		log_notice("vault: %lu engines started after a crash",
			   v.restarts);
	vault_free(&v);
	return r;
}
