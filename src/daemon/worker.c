// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The worker: threads that do what may block on a file a client chose, so
 * that the event loop never does (DESIGN.md section 7).
 *
 *  - A close.  The daemon's close of a socket is its last reference once the
 *    client closed its own copy; with SO_LINGER and unsent data it then
 *    blocks for as long as the client set.  Every fd of a client's file that
 *    the daemon closes goes through worker_close().
 *  - A wait until a file can be opened.  An open conflicting with a lease
 *    waits for the lease to be broken (up to /proc/sys/fs/lease-break-time).
 *    The handlers open with O_NONBLOCK first; when that fails with
 *    EWOULDBLOCK they ask for worker_open_wait(), the request that needed the
 *    file is parked (defer.c) and run again once the open in a thread
 *    returned.
 *
 * Up to WORKER_THREADS threads, started when work arrives and no thread is
 * idle; past that, work queues.  A thread touches nothing but its job, the
 * queue and the eventfd that tells the loop a wait is over; it never logs.
 * The loop thread alone runs the callbacks of finished waits.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <linux/sockios.h>

#include "list.h"
#include "log.h"
#include "loop.h"
#include "worker.h"

#define WORKER_THREADS		64
#define WORKER_STACK		(256 * 1024)

enum worker_kind {
	WORKER_CLOSE,
	WORKER_OPEN,
};

/**
 * struct worker_job - one piece of blocking work
 * @link:      in the queue, then (WORKER_OPEN) in the list of finished ones
 * @kind:      enum worker_kind
 * @fd:        the fd to close, or (WORKER_OPEN) the job's own duplicate of
 *             the file to open, closed by the thread
 * @flags:     WORKER_OPEN: open(2) flags
 * @err:       WORKER_OPEN: 0 or the open's -errno
 * @cancelled: nobody waits for it any more
 * @done:      called on the loop thread when a wait is over, unless cancelled
 * @ctx:       its argument
 */
struct worker_job {
	struct list_head link;
	enum worker_kind kind;
	int fd;
	int flags;
	int err;
	bool cancelled;
	void (*done)(void *ctx, int err);
	void *ctx;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t work;
	pthread_cond_t drained;
	struct list_head queue;
	struct list_head finished;
	unsigned int threads;
	unsigned int idle;
	unsigned int busy;
	bool started;
	bool stopping;
	struct loop *loop;
	struct loop_source src;
	struct worker_job *unclaimed;
} w = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.queue = LIST_HEAD_INIT(w.queue),
	.finished = LIST_HEAD_INIT(w.finished),
	.src = { .fd = -1 },
};

static void worker_run_job(struct worker_job *job)
{
	char path[sizeof("/proc/self/fd/") + 12];
	int fd;

	if (job->kind == WORKER_CLOSE) {
		close(job->fd);
		return;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", job->fd);
	fd = open(path, job->flags | O_CLOEXEC | O_NOCTTY);
	job->err = fd < 0 ? -errno : 0;
	if (fd >= 0)
		close(fd);
	close(job->fd);
	job->fd = -1;
}

static void *worker_thread(void *arg)
{
	static const uint64_t one = 1;
	struct worker_job *job;

	(void)arg;
	pthread_mutex_lock(&w.lock);
	for (;;) {
		while (list_empty(&w.queue) && !w.stopping) {
			w.idle++;
			pthread_cond_wait(&w.work, &w.lock);
			w.idle--;
		}
		if (list_empty(&w.queue))
			break;
		job = list_entry(w.queue.next, struct worker_job, link);
		list_del(&job->link);
		pthread_mutex_unlock(&w.lock);

		worker_run_job(job);

		pthread_mutex_lock(&w.lock);
		w.busy--;
		pthread_cond_broadcast(&w.drained);
		if (job->kind == WORKER_CLOSE) {
			free(job);
			continue;
		}
		list_add_tail(&job->link, &w.finished);
		/* Cannot fail: the loop reads the counter back to 0. */
		if (w.src.fd >= 0 && write(w.src.fd, &one, sizeof(one)) < 0)
			continue;
	}
	w.threads--;
	pthread_mutex_unlock(&w.lock);
	return NULL;
}

/* With w.lock held: a thread for a new job unless one is idle. */
static int worker_spawn(void)
{
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t tid;
	int r;

	if (w.idle || w.threads >= WORKER_THREADS)
		return 0;
	if (pthread_attr_init(&attr))
		return -ENOMEM;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, WORKER_STACK);
	/* Signals stay with the loop thread (its signalfd). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&tid, &attr, worker_thread, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (r)
		return -r;
	w.threads++;
	return 0;
}

/* Queues @job; -errno if no thread exists nor can be started. */
static int worker_queue(struct worker_job *job)
{
	int r;

	pthread_mutex_lock(&w.lock);
	r = w.started ? worker_spawn() : -ESRCH;
	if (r && w.threads)
		r = 0;	/* a running thread will get to it */
	if (!r) {
		list_add_tail(&job->link, &w.queue);
		w.busy++;
		pthread_cond_signal(&w.work);
	}
	pthread_mutex_unlock(&w.lock);
	return r;
}

/* The loop's side: callbacks of the waits that are over. */
static void worker_ready(struct loop_source *src, uint32_t events)
{
	struct worker_job *job, *tmp;
	struct list_head done;
	uint64_t n;

	(void)events;
	if (read(src->fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("worker: %m");
	list_init(&done);
	pthread_mutex_lock(&w.lock);
	list_for_each_entry_safe(job, tmp, &w.finished, link) {
		list_del(&job->link);
		list_add_tail(&job->link, &done);
	}
	pthread_mutex_unlock(&w.lock);
	list_for_each_entry_safe(job, tmp, &done, link) {
		list_del(&job->link);
		if (!job->cancelled && job->done)
			job->done(job->ctx, job->err);
		free(job);
	}
}

/**
 * worker_start() - be ready to take blocking work
 * @loop: the loop that hears of finished waits
 *
 * No thread runs until work arrives.
 *
 * Return: 0 or -errno.
 */
int worker_start(struct loop *loop)
{
	pthread_condattr_t ca;
	int r;

	w.src.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w.src.fd < 0)
		return -errno;
	w.src.ready = worker_ready;
	r = loop_add(loop, &w.src, EPOLLIN);
	if (r) {
		close(w.src.fd);
		w.src.fd = -1;
		return r;
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w.drained, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&w.work, NULL);
	w.loop = loop;
	w.started = true;
	return 0;
}

/**
 * worker_stop() - wait, at most @timeout_ms, for the work under way
 * @timeout_ms: the bound
 *
 * What is still running then (a close that lingers, a wait for a lease) is
 * left to the process's exit, which ends it at once: a socket closed by an
 * exiting process does not linger.  Says so in the log.
 */
void worker_stop(unsigned int timeout_ms)
{
	struct worker_job *job, *tmp;
	struct timespec end;
	unsigned int left;

	if (!w.started)
		return;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += timeout_ms / 1000;
	end.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&w.lock);
	w.stopping = true;
	pthread_cond_broadcast(&w.work);
	while (w.busy &&
	       pthread_cond_timedwait(&w.drained, &w.lock, &end) != ETIMEDOUT)
		;
	left = w.busy;
	list_for_each_entry_safe(job, tmp, &w.finished, link) {
		list_del(&job->link);
		free(job);
	}
	w.unclaimed = NULL;
	loop_remove(w.loop, &w.src);
	close(w.src.fd);
	w.src.fd = -1;
	w.started = false;
	pthread_mutex_unlock(&w.lock);
	if (left)
		log_notice("exiting with %u close(s) or open(s) of clients' files "
			   "still blocked after %u ms (a lingering socket, a "
			   "lease): the exit ends them",
			   left, timeout_ms);
}

/*
 * A client's end of one of the daemon's own connections (a session fd sent
 * back with a request), with nothing queued on it: its close releases the
 * socket and nothing else.  Only the daemon sends on such a socket, so what
 * is queued cannot change before the close; every reply is non-empty.
 * Closed in place, such a session fd is released as promptly as by the
 * kernel's synchronous close.
 */
static bool worker_unix_self_idle(int fd)
{
	socklen_t len = sizeof(int);
	struct ucred cred;
	int domain, queued;

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 ||
	    domain != AF_UNIX)
		return false;
	len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    cred.pid != getpid())
		return false;
	return !ioctl(fd, SIOCINQ, &queued) && queued == 0;
}

/*
 * Whether closing @fd can never block, whatever the client did to it: a
 * pipe or FIFO, a shmem or hugetlbfs file (memfd-v2's: they take seals;
 * there is nothing to flush), a file or directory of a filesystem on a
 * block device (ext4, xfs, ...: its st_dev has a real major number; it may
 * start writeback, it waits for no client), an anonymous inode (eventfd,
 * ...: no file type), an idle end of the daemon's own connection.  Those
 * are closed in place, at no cost.  A TCP socket may linger, a Unix socket
 * hold such a socket in a message it queues, a file of a filesystem
 * without a block device (NFS, FUSE: major 0) be flushed to a server, a
 * terminal drain its output, a device wait in its release: those go to a
 * thread.  Only fstat(), fcntl(), getsockopt() and ioctl() SIOCINQ, which
 * never wait for a client, are asked.
 */
static bool worker_close_is_quick(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return true;	/* no file: close(2) has nothing to do */
	switch (st.st_mode & S_IFMT) {
	case 0:
	case S_IFIFO:
		return true;
	case S_IFDIR:
		return major(st.st_dev) != 0;
	case S_IFREG:
		return major(st.st_dev) != 0 || fcntl(fd, F_GET_SEALS) >= 0;
	case S_IFSOCK:
		return worker_unix_self_idle(fd);
	default:
		return false;
	}
}

/**
 * worker_close() - close an fd of a client's file without blocking
 * @fd: the fd, or -1; always taken over
 *
 * A file whose close cannot block is closed at once; any other fd gets
 * close-on-exec at once, so that a REBOOT's exec does not carry it if the
 * close has not run yet, and is closed by a thread.  Without a worker (not
 * started, or no thread can be made) the fd is closed here.
 */
void worker_close(int fd)
{
	struct worker_job *job;

	if (fd < 0)
		return;
	if (worker_close_is_quick(fd)) {
		close(fd);
		return;
	}
	job = calloc(1, sizeof(*job));
	if (job) {
		job->kind = WORKER_CLOSE;
		job->fd = fd;
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		if (!worker_queue(job))
			return;
		free(job);
	}
	close(fd);
}

/**
 * worker_busy() - is blocking work queued or under way?
 *
 * STATUS says so (LUO_STATUS_WORKING), so that a client that counts the
 * daemon's fds can wait for the closes it caused.
 *
 * Return: true if a close or an open wait has not finished yet.
 */
bool worker_busy(void)
{
	bool busy;

	pthread_mutex_lock(&w.lock);
	busy = w.busy > 0;
	pthread_mutex_unlock(&w.lock);
	return busy;
}

/**
 * worker_close_cb() - worker_close() as a host callback
 * @ctx: unused
 * @fd:  the fd; taken over
 */
void worker_close_cb(void *ctx, int fd)
{
	(void)ctx;
	worker_close(fd);
}

/**
 * worker_open_wait() - start waiting, in a thread, until @fd's file opens
 * @ctx:   unused (a handler host callback)
 * @fd:    the file, as the caller holds it; duplicated, not taken over
 * @flags: the open(2) flags that would block
 *
 * The wait is a blocking open of /proc/self/fd of a duplicate; what it
 * opens is closed at once.  The job is kept for worker_claim(), which the
 * request that caused it calls; one not claimed is dropped by the next.
 *
 * Return: 0, or -errno if no wait could be started.
 */
int worker_open_wait(void *ctx, int fd, int flags)
{
	struct worker_job *job = calloc(1, sizeof(*job));
	int r;

	(void)ctx;
	if (!job)
		return -ENOMEM;
	job->kind = WORKER_OPEN;
	job->flags = flags & ~O_NONBLOCK;
	job->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (job->fd < 0) {
		r = -errno;
		free(job);
		return r;
	}
	r = worker_queue(job);
	if (r) {
		close(job->fd);
		free(job);
		return r;
	}
	worker_cancel(worker_claim());
	w.unclaimed = job;
	return 0;
}

/**
 * worker_claim() - the wait the last request started, if any
 *
 * Return: the job, or NULL; it is the caller's to worker_arm() or
 * worker_cancel().
 */
struct worker_job *worker_claim(void)
{
	struct worker_job *job = w.unclaimed;

	w.unclaimed = NULL;
	return job;
}

/**
 * worker_arm() - call @done on the loop thread when @job's wait is over
 * @job:  a claimed job
 * @done: the callback, given the open's result (0 or -errno)
 * @ctx:  its first argument
 */
void worker_arm(struct worker_job *job, void (*done)(void *ctx, int err),
		void *ctx)
{
	pthread_mutex_lock(&w.lock);
	job->done = done;
	job->ctx = ctx;
	pthread_mutex_unlock(&w.lock);
}

/**
 * worker_cancel() - nobody waits for @job any more
 * @job: a claimed job, or NULL
 *
 * It is freed when its thread is done with it.
 */
void worker_cancel(struct worker_job *job)
{
	if (!job)
		return;
	pthread_mutex_lock(&w.lock);
	job->cancelled = true;
	pthread_mutex_unlock(&w.lock);
}
