/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A file handler for pipes ("fuzz-pipe-v1") whose callbacks fail when the
 * fuzzer says so.  It has no get_id, so the core tells its files apart by
 * open file description.  preserve and retrieve allocate private data that
 * unpreserve and finish free: an unbalanced call is a leak (LSan).
 */
#ifndef LUO_FUZZ_FAKE_HANDLER_H
#define LUO_FUZZ_FAKE_HANDLER_H

#include <stdbool.h>

#include "luo_handler.h"

#define FZ_FAKE_COMPATIBLE	"fuzz-pipe-v1"

/* The errnos of the failures the knobs ask for. */
#define FZ_FAKE_PRESERVE_ERR	EIO
#define FZ_FAKE_FREEZE_ERR	EAGAIN
#define FZ_FAKE_RETRIEVE_ERR	ENXIO

/**
 * struct fz_fake - the handler and what the fuzzer set it to do
 * @h:              what the core sees (first member)
 * @fail_preserve:  preserve fails with FZ_FAKE_PRESERVE_ERR
 * @fail_freeze:    freeze fails with FZ_FAKE_FREEZE_ERR
 * @fail_retrieve:  retrieve fails with FZ_FAKE_RETRIEVE_ERR
 * @refuse_finish:  can_finish answers false
 * @frozen:         files frozen and not unfrozen
 */
struct fz_fake {
	struct luo_file_handler h;
	bool fail_preserve;
	bool fail_freeze;
	bool fail_retrieve;
	bool refuse_finish;
	int frozen;
};

void fz_fake_init(struct fz_fake *f);

#endif /* LUO_FUZZ_FAKE_HANDLER_H */
