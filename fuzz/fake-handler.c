// SPDX-License-Identifier: LGPL-2.1-or-later
/* The fuzzers' pipe handler (fake-handler.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fake-handler.h"

static struct fz_fake *fake_of(struct luo_file_handler *h)
{
	return container_of(h, struct fz_fake, h);
}

static bool fake_can_preserve(struct luo_file_handler *h, int fd)
{
	struct stat st;

	return !fstat(fd, &st) && S_ISFIFO(st.st_mode);
}

static int fake_preserve(struct luo_file_op_args *a)
{
	if (fake_of(a->handler)->fail_preserve)
		return -FZ_FAKE_PRESERVE_ERR;
	a->private_data = malloc(1);
	if (!a->private_data)
		return -ENOMEM;
	a->data_len = 1;
	a->data[0] = 0x5a;
	return 0;
}

static void fake_unpreserve(struct luo_file_op_args *a)
{
	free(a->private_data);
}

static int fake_freeze(struct luo_file_op_args *a)
{
	struct fz_fake *f = fake_of(a->handler);

	if (f->fail_freeze)
		return -FZ_FAKE_FREEZE_ERR;
	f->frozen++;
	return 0;
}

static void fake_unfreeze(struct luo_file_op_args *a)
{
	fake_of(a->handler)->frozen--;
}

static int fake_retrieve(struct luo_file_op_args *a)
{
	if (fake_of(a->handler)->fail_retrieve)
		return -FZ_FAKE_RETRIEVE_ERR;
	a->private_data = malloc(1);
	if (!a->private_data)
		return -ENOMEM;
	a->retrieved_fd = fcntl(a->fd, F_DUPFD_CLOEXEC, 0);
	if (a->retrieved_fd < 0) {
		free(a->private_data);
		a->private_data = NULL;
		return -errno;
	}
	return 0;
}

static bool fake_can_finish(struct luo_file_op_args *a)
{
	return !fake_of(a->handler)->refuse_finish;
}

static void fake_finish(struct luo_file_op_args *a)
{
	free(a->private_data);
}

static const struct luo_file_handler_ops fake_ops = {
	.can_preserve = fake_can_preserve,
	.preserve = fake_preserve,
	.unpreserve = fake_unpreserve,
	.freeze = fake_freeze,
	.unfreeze = fake_unfreeze,
	.retrieve = fake_retrieve,
	.can_finish = fake_can_finish,
	.finish = fake_finish,
};

/**
 * fz_fake_init() - a fresh pipe handler, every knob off
 * @f: storage that outlives its registration
 */
void fz_fake_init(struct fz_fake *f)
{
	memset(f, 0, sizeof(*f));
	f->h.ops = &fake_ops;
	snprintf(f->h.compatible, sizeof(f->h.compatible), "%s",
		 FZ_FAKE_COMPATIBLE);
	list_init(&f->h.list);
	list_init(&f->h.flb_links);
}
