/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the core does with one preserved file, for the handler tests:
 * PRESERVE_FD dups the caller's fd, REBOOT freezes and hands the new image
 * another fd of the same open file description with a copy of @data, then
 * retrieve and finish; the core's fds are closed by these helpers.
 */
#ifndef LUO_HT_SIM_H
#define LUO_HT_SIM_H

#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/kcmp.h>

#include "handlers.h"

struct sim {
	struct luo_file_handler *h;
	struct luo_file_op_args out;
	struct luo_file_op_args in;
};

static inline bool sim_takes(struct luo_file_handler *h, int fd)
{
	return h->ops->can_preserve(h, fd);
}

static inline int sim_preserve(struct sim *s, struct luo_file_handler *h,
			       int user_fd)
{
	int err;

	memset(s, 0, sizeof(*s));
	s->h = h;
	s->out.handler = h;
	s->in.handler = h;
	s->in.fd = -1;
	s->in.retrieved_fd = -1;
	s->out.retrieved_fd = -1;
	s->out.fd = fcntl(user_fd, F_DUPFD_CLOEXEC, 0);
	if (s->out.fd < 0)
		return -errno;
	err = h->ops->preserve(&s->out);
	if (err) {
		close(s->out.fd);
		s->out.fd = -1;
	}
	return err;
}

static inline void sim_unpreserve(struct sim *s)
{
	s->h->ops->unpreserve(&s->out);
	close(s->out.fd);
	s->out.fd = -1;
}

static inline int sim_reboot(struct sim *s)
{
	int err = s->h->ops->freeze ? s->h->ops->freeze(&s->out) : 0;

	if (err)
		return err;
	s->in.fd = fcntl(s->out.fd, F_DUPFD_CLOEXEC, 0);
	if (s->in.fd < 0)
		return -errno;
	close(s->out.fd);
	s->out.fd = -1;
	memcpy(s->in.data, s->out.data, sizeof(s->in.data));
	s->in.data_len = s->out.data_len;
	return 0;
}

static inline int sim_retrieve(struct sim *s)
{
	int err = s->h->ops->retrieve(&s->in);

	s->in.retrieve_status = err ? err : 1;
	return err;
}

static inline void sim_finish(struct sim *s)
{
	s->h->ops->finish(&s->in);
	if (s->in.retrieved_fd >= 0)
		close(s->in.retrieved_fd);
	if (s->in.fd >= 0)
		close(s->in.fd);
	s->in.fd = -1;
	s->in.retrieved_fd = -1;
}

/* A whole cycle up to retrieve; 0 or the first -errno. */
static inline int sim_cycle(struct sim *s, struct luo_file_handler *h,
			    int user_fd)
{
	int err = sim_preserve(s, h, user_fd);

	if (!err)
		err = sim_reboot(s);
	if (!err)
		err = sim_retrieve(s);
	return err;
}

/* kcmp(KCMP_FILE): 0 if @a and @b share one open file description. */
static inline long same_ofd(int a, int b)
{
	pid_t pid = getpid();

	return syscall(SYS_kcmp, pid, pid, KCMP_FILE, a, b);
}

/* The handler that takes @fd among the built-in ones, in their order. */
static inline struct luo_file_handler *builtin_taker(int fd)
{
	struct luo_file_handler *hs[] = {
		luo_memfd_handler(), luo_socket_handler(), luo_pipe_handler(),
		luo_eventfd_handler(), luo_file_handler(),
	};

	for (size_t i = 0; i < sizeof(hs) / sizeof(hs[0]); i++)
		if (sim_takes(hs[i], fd))
			return hs[i];
	return NULL;
}

#endif /* LUO_HT_SIM_H */
