/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The core fuzzer's reference model: what the orchestrator must hold after
 * every request, kept from the rules of SPEC.md sections 2-4 alone (no code
 * of the core), updated from return codes, and compared with what the core
 * reports through STATUS and LIST.
 */
#ifndef LUO_FUZZ_CORE_MODEL_H
#define LUO_FUZZ_CORE_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include <luo/luo-ext.h>

#include "fake-handler.h"

/* Limits of the core under test: small, so that ENOSPC is reached. */
#define M_MAX_SESSIONS	6
#define M_MAX_FILES	4

/* What the host's REBOOT callback answers once the core's checks passed. */
#define M_REBOOT_ERR	EAGAIN

enum m_kind {
	M_MEMFD,	/* memfd-v2 takes it; identity: the inode */
	M_PIPE,		/* the fake handler takes it; identity: the description */
	M_OTHER,	/* no handler takes it */
	M_OPATH,	/* an O_PATH fd: no file to preserve */
};

/**
 * struct m_fd - an fd of the fuzzer's pool
 * @fd:    the fd
 * @kind:  enum m_kind
 * @ident: files with the same @ident are "the same file" (EBUSY)
 */
struct m_fd {
	int fd;
	enum m_kind kind;
	int ident;
};

/**
 * struct m_file - a preserved file
 * @token:   its token
 * @ident:   the pool identity it was preserved from
 * @fake:    the fake handler took it (else memfd-v2)
 * @rstatus: incoming: 0 never retrieved, 1 retrieved, -errno sticky failure
 */
struct m_file {
	uint64_t token;
	int ident;
	bool fake;
	int rstatus;
};

/**
 * struct m_session - a session
 * @name:      its name, terminated
 * @incoming:  from the previous "image"
 * @retrieved: incoming: handed out
 * @finished:  incoming: FINISH succeeded
 * @handle:    the core's session while the fuzzer holds an fd for it
 * @nfiles:    entries of @files
 * @files:     preservation order
 */
struct m_session {
	char name[LIVEUPDATE_SESSION_NAME_LENGTH];
	bool incoming;
	bool retrieved;
	bool finished;
	struct luo_session *handle;
	int nfiles;
	struct m_file files[M_MAX_FILES];
};

/**
 * struct model - the whole orchestrator as the rules say it is
 * @out:           outgoing sessions, creation order
 * @nout:          their number
 * @in:            incoming sessions, handover order
 * @nin:           their number
 * @update_number: 1, plus one per handover
 * @fake:          the knobs of the fake handler in use
 */
struct model {
	struct m_session out[M_MAX_SESSIONS];
	int nout;
	struct m_session in[M_MAX_SESSIONS];
	int nin;
	uint64_t update_number;
	const struct fz_fake *fake;
};

/**
 * struct m_req - one ioctl as the fuzzer made it
 * @s:         the session it goes to, NULL for the device
 * @cmd:       the command word
 * @arg:       the argument bytes before the call
 * @arg_len:   their number
 * @fd:        the attached pool fd, or NULL
 * @extra_cap: bytes of the LIST payload buffer
 */
struct m_req {
	struct m_session *s;
	uint32_t cmd;
	const uint8_t *arg;
	uint32_t arg_len;
	const struct m_fd *fd;
	uint32_t extra_cap;
};

/* What a request must do: its result, and on success its effect. */
enum m_effect {
	M_NONE,
	M_CREATE,
	M_RETRIEVE,
	M_PRESERVE,
	M_RETRIEVE_FD,
	M_FINISH,
	M_GET_NAME,
	M_UNMODELED,	/* a number the model does not know: must fail */
};

struct m_expect {
	int ret;
	enum m_effect effect;
	uint32_t copy_len;
	struct m_session *s;
	struct m_file *f;
};

bool m_modeled(bool session, uint32_t nr);
void m_expect(struct model *m, const struct m_req *r, struct m_expect *e);
struct m_session *m_apply(struct model *m, const struct m_req *r,
			  const struct m_expect *e, struct luo_session *out);
void m_release(struct model *m, struct m_session *s);
void m_handover(struct model *m);
uint64_t m_nr_files(const struct model *m);

#endif /* LUO_FUZZ_CORE_MODEL_H */
