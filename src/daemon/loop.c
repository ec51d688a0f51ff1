// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The epoll loop.  A source that dies during a batch (loop_source_kill) is
 * kept on a grave list and released only when the batch is over, so a later
 * event of the same batch never touches freed memory.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"

/*
 * A batch holds one event per fd the process may have open (up to a cap):
 * then every event ready when epoll_wait() is called comes back at once,
 * and the hang-ups are handled first.  A client's close(2) of a session fd
 * queues its hang-up before any request the client sends afterwards, so
 * that request sees the session released, as after the kernel's
 * synchronous close.  Beyond LOOP_BATCH_MAX open fds this order holds per
 * batch only.
 */
#define LOOP_BATCH_MIN	64
#define LOOP_BATCH_MAX	65536
#define LOOP_HANGUP	(EPOLLHUP | EPOLLRDHUP | EPOLLERR)

struct loop {
	int epfd;
	bool quit;
	struct list_head graves;
	void (*after)(void *ctx);
	void *after_ctx;
};

/**
 * loop_new() - make an empty loop
 *
 * Return: the loop, or NULL with errno set.
 */
struct loop *loop_new(void)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l);
		return NULL;
	}
	list_init(&l->graves);
	return l;
}

static void loop_bury(struct loop *l)
{
	struct loop_source *src, *tmp;

	list_for_each_entry_safe(src, tmp, &l->graves, grave) {
		list_del(&src->grave);
		if (src->release)
			src->release(src);
	}
}

/**
 * loop_free() - release dead sources and the epoll fd
 * @l: the loop, or NULL
 *
 * Live sources stay their owners' business.
 */
void loop_free(struct loop *l)
{
	if (!l)
		return;
	loop_bury(l);
	close(l->epfd);
	free(l);
}

static int loop_ctl(struct loop *l, int op, struct loop_source *src,
		    uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = src };

	if (epoll_ctl(l->epfd, op, src->fd, &ev) < 0)
		return -errno;
	src->events = events;
	return 0;
}

/**
 * loop_add() - watch @src->fd
 * @l:      the loop
 * @src:    the source, with @fd and callbacks set
 * @events: EPOLLIN, EPOLLOUT, EPOLLRDHUP...
 *
 * Return: 0 or -errno.
 */
int loop_add(struct loop *l, struct loop_source *src, uint32_t events)
{
	src->dead = false;
	list_init(&src->grave);
	return loop_ctl(l, EPOLL_CTL_ADD, src, events);
}

/**
 * loop_modify() - change the events watched on @src
 * @l:      the loop
 * @src:    a source added before
 * @events: the new set
 *
 * Return: 0 or -errno.
 */
int loop_modify(struct loop *l, struct loop_source *src, uint32_t events)
{
	if (src->events == events)
		return 0;
	return loop_ctl(l, EPOLL_CTL_MOD, src, events);
}

/**
 * loop_remove() - stop watching @src; it may be freed at once
 * @l:   the loop
 * @src: a source added before
 *
 * Only for use outside of a batch (set-up, shut-down, the exec path);
 * inside one, use loop_source_kill().
 */
void loop_remove(struct loop *l, struct loop_source *src)
{
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, src->fd, NULL);
}

/**
 * loop_source_kill() - stop watching @src and release it after the batch
 * @l:   the loop
 * @src: a source added before; its fd must still be open
 */
void loop_source_kill(struct loop *l, struct loop_source *src)
{
	if (src->dead)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, src->fd, NULL);
	src->dead = true;
	list_add_tail(&src->grave, &l->graves);
}

/* Hang-ups first, then everything else, skipping what died meanwhile. */
static void loop_dispatch(struct epoll_event *ev, int n)
{
	struct loop_source *src;
	int i;

	for (i = 0; i < n; i++) {
		src = ev[i].data.ptr;
		if ((ev[i].events & LOOP_HANGUP) && src->hangup && !src->dead)
			src->hangup(src);
	}
	for (i = 0; i < n; i++) {
		src = ev[i].data.ptr;
		if (!src->dead)
			src->ready(src, ev[i].events);
	}
}

/**
 * loop_run() - dispatch events until loop_quit()
 * @l: the loop
 *
 * Return: 0 after loop_quit(), -errno if epoll_wait failed or the batch
 * could not be allocated.
 */
static int loop_batch_size(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur < LOOP_BATCH_MIN)
		return LOOP_BATCH_MIN;
	return rl.rlim_cur > LOOP_BATCH_MAX ? LOOP_BATCH_MAX : (int)rl.rlim_cur;
}

int loop_run(struct loop *l)
{
	int batch = loop_batch_size(), n;
	struct epoll_event *ev = calloc((size_t)batch, sizeof(*ev));

	if (!ev)
		return -ENOMEM;
	while (!l->quit) {
		n = epoll_wait(l->epfd, ev, batch, -1);
		if (n < 0) {
			n = -errno;
			if (n == -EINTR)
				continue;
			log_err("epoll_wait: %s", strerror(-n));
			free(ev);
			return n;
		}
		loop_dispatch(ev, n);
		loop_bury(l);
		if (l->after)
			l->after(l->after_ctx);
	}
	free(ev);
	return 0;
}

/**
 * loop_set_after() - call @fn after every batch of events
 * @l:   the loop
 * @fn:  the function, or NULL for none; it must not block
 * @ctx: its argument
 *
 * For work that depends on what a batch changed, done once per batch.
 */
void loop_set_after(struct loop *l, void (*fn)(void *ctx), void *ctx)
{
	l->after = fn;
	l->after_ctx = ctx;
}

/**
 * loop_quit() - make loop_run() return after the current batch
 * @l: the loop
 */
void loop_quit(struct loop *l)
{
	l->quit = true;
}
