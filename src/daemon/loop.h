/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The single-threaded epoll loop.  Level-triggered.  Within one batch of
 * events, hang-ups are handled before anything else: a client that closes
 * one fd and then sends a request on another sees the close take effect
 * first, as it would with the kernel's synchronous close.
 */
#ifndef LUOD_LOOP_H
#define LUOD_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "list.h"

struct loop;

/**
 * struct loop_source - one fd watched by the loop
 * @fd:      the fd; owned by whoever embeds the source
 * @events:  the events currently asked for
 * @ready:   called with the events that fired (after hang-ups)
 * @hangup:  called first when EPOLLHUP, EPOLLRDHUP or EPOLLERR fired; NULL
 *           to get them through @ready instead
 * @release: frees the embedding object once it is dead (loop_source_kill)
 *           and the current batch is over
 * @dead:    set by loop_source_kill(); no callback runs afterwards
 * @grave:   private to the loop
 */
struct loop_source {
	int fd;
	uint32_t events;
	void (*ready)(struct loop_source *src, uint32_t events);
	void (*hangup)(struct loop_source *src);
	void (*release)(struct loop_source *src);
	bool dead;
	struct list_head grave;
};

struct loop *loop_new(void);
void loop_free(struct loop *l);
int loop_add(struct loop *l, struct loop_source *src, uint32_t events);
int loop_modify(struct loop *l, struct loop_source *src, uint32_t events);
void loop_remove(struct loop *l, struct loop_source *src);
void loop_source_kill(struct loop *l, struct loop_source *src);
int loop_run(struct loop *l);
void loop_quit(struct loop *l);
void loop_set_after(struct loop *l, void (*fn)(void *ctx), void *ctx);

#endif /* LUOD_LOOP_H */
