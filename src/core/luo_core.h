/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The orchestrator core: sessions, files, FLBs, the ioctl dispatch and the
 * handover format.  No I/O: no sockets, no polling, no exec.  It takes a
 * command word and an argument buffer and answers like the kernel's ioctl
 * path (SPEC.md sections 2-5 and 11), so it is tested in-process.
 *
 * Every function returns 0 or a negative errno unless it says otherwise.
 * A struct luo_core holds all state; there are no globals.
 */
#ifndef LUO_CORE_H
#define LUO_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "luo_handler.h"
#include <luo/luo-ext.h>

struct luo_core;
struct luo_session;

/* G4's capacities: 10,000 one-page blocks of 51 sessions / 63 files. */
#define LUO_DEFAULT_MAX_SESSIONS	510000u
#define LUO_DEFAULT_MAX_FILES		630000u

/* A host callback's answer meaning "the reply will be sent later". */
#define LUO_CALL_DEFERRED	1

enum luo_log_level {
	LUO_LOG_ERR = 3,
	LUO_LOG_WARNING = 4,
	LUO_LOG_NOTICE = 5,
	LUO_LOG_INFO = 6,
	LUO_LOG_DEBUG = 7,
};

/**
 * struct luo_core_host - what the process around the core provides
 * @reboot: LUO_IOCTL_REBOOT after the core checked the struct; @exec_fd is
 *          the attached executable or -1.  Returns 0, -errno or
 *          LUO_CALL_DEFERRED.
 * @upgrade: LUO_IOCTL_UPGRADE after the core checked the struct, as
 *          @reboot
 * @status: fills the fields of LUO_IOCTL_STATUS that the core does not know
 *          (flags, pid, last_reboot_ns, version)
 * @log:    a message from the core or a handler, no newline
 * @close_fd: closes an fd of a client's file that the core owns; it may
 *          block (a socket with SO_LINGER), so a daemon does it off its
 *          loop.  Without it the core calls close(2).
 * @pool_memfd: LUO_IOCTL_POOL_MEMFD after the core checked the struct:
 *          a new file in the pool for @uid, its space charged to @uid
 *          (CHARGE_POOL), in *@out_fd (the caller then owns it), 0 or
 *          -errno; without it EOPNOTSUPP
 * @reboot_kexec: LUO_IOCTL_REBOOT_KEXEC after the core checked the struct;
 *          returns only on failure (-errno); without it EOPNOTSUPP
 * @ctx:    passed to each callback
 * All callbacks are optional.
 */
struct luo_core_host {
	int (*reboot)(void *ctx, struct luo_reboot *arg, int exec_fd);
	int (*upgrade)(void *ctx, struct luo_upgrade *arg, int exec_fd);
	int (*pool_memfd)(void *ctx, struct luo_pool_memfd *arg, uint32_t uid,
			  int *out_fd);
	int (*reboot_kexec)(void *ctx, struct luo_reboot_kexec *arg);
	void (*status)(void *ctx, struct luo_status *st);
	void (*log)(void *ctx, int level, const char *msg);
	void (*close_fd)(void *ctx, int fd);
	void *ctx;
};

/**
 * struct luo_core_config - settings
 * @max_sessions:          outgoing sessions allowed (ENOSPC past it);
 *                         0: default
 * @max_files:             files allowed per session (ENOSPC past it);
 *                         0: default
 * @max_sessions_per_user: sessions one uid may own, outgoing, handed over
 *                         or incoming (ENOSPC past it); 0: no limit
 * @max_files_per_user:    files in the sessions one uid owns (ENOSPC past
 *                         it); 0: no limit
 * @host:                  host callbacks, copied
 */
struct luo_core_config {
	uint32_t max_sessions;
	uint32_t max_files;
	uint32_t max_sessions_per_user;
	uint32_t max_files_per_user;
	struct luo_core_host host;
};

/* struct luo_caller.kind: the kind of fd a request came on. */
enum luo_caller_kind {
	LUO_CALLER_DEVICE = 1 << 0,	/* /dev/liveupdate */
	LUO_CALLER_CONTROL = 1 << 1,	/* luo's control fd */
	LUO_CALLER_SESSION = 1 << 2,	/* a session fd */
};

/**
 * struct luo_caller - who sends a request
 * @uid:          the peer's uid: it owns the sessions it creates and sees
 *                only its own names
 * @admin:        may change the machine as a whole (REBOOT, SET_EVENT) and
 *                list every user's sessions; EPERM otherwise
 * @kind:         enum luo_caller_kind, for luo_core_device_ioctl();
 *                luo_core_session_ioctl() takes LUO_CALLER_SESSION
 * @session_room: sessions this caller may still create (its transport's
 *                per-connection limit), ENOSPC at 0; UINT32_MAX: no limit
 */
struct luo_caller {
	uint32_t uid;
	bool admin;
	uint8_t kind;
	uint32_t session_room;
};

/**
 * struct luo_call - one ioctl-shaped request
 * @caller:      who sends it; luo_call_init() makes it root on the device
 * @cmd:         the request code as the caller passed it
 * @arg:         the caller's struct; updated in place (copy-back)
 * @arg_len:     bytes available at @arg (see LUO_WIRE_MAX_ARG)
 * @in_fd:       fd attached to the request, or -1; borrowed, never closed
 * @copy_len:    out: bytes of @arg to copy back to the caller
 * @out_fd:      out: a new fd for the caller, or -1; the caller owns it
 * @out_session: out: the session CREATE or RETRIEVE made or found
 * @extra:       buffer for a reply payload (LUO_IOCTL_LIST), or NULL
 * @extra_cap:   its size
 * @extra_len:   out: payload bytes written
 * @detach:      out: the session fd no longer stands for its session
 *               (HANDOVER): never release that session for it
 * @retrieved:   out: RETRIEVE_FD retrieved the file with this call (it
 *               was not retrieved before); luo_core_file_unretrieve()
 *               undoes that if @out_fd never reaches the caller
 */
struct luo_call {
	struct luo_caller caller;
	uint32_t cmd;
	void *arg;
	uint32_t arg_len;
	int in_fd;
	uint32_t copy_len;
	int out_fd;
	struct luo_session *out_session;
	void *extra;
	uint32_t extra_cap;
	uint32_t extra_len;
	bool detach;
	bool retrieved;
};

struct luo_core *luo_core_new(const struct luo_core_config *cfg);
void luo_core_free(struct luo_core *core);
void luo_core_log(struct luo_core *core, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

void luo_call_init(struct luo_call *call, uint32_t cmd, void *arg,
		   uint32_t arg_len, int in_fd);
int luo_core_device_ioctl(struct luo_core *core, struct luo_call *call);
int luo_core_session_ioctl(struct luo_core *core, struct luo_session *s,
			   struct luo_call *call);
void luo_core_session_release(struct luo_core *core, struct luo_session *s);
void luo_core_session_abandon(struct luo_core *core, struct luo_session *s);
int luo_core_file_unretrieve(struct luo_core *core, struct luo_session *s,
			     uint64_t token);

const char *luo_session_name(const struct luo_session *s);
bool luo_session_is_incoming(const struct luo_session *s);
uint32_t luo_session_owner(const struct luo_session *s);
bool luo_core_makes_session(uint32_t cmd);

uint64_t luo_core_update_number(const struct luo_core *core);
void luo_core_set_update_number(struct luo_core *core, uint64_t number);
void luo_core_counts(const struct luo_core *core, uint32_t *outgoing,
		     uint32_t *incoming, uint64_t *files);

/* census.c: every session, for the host's report. */
enum luo_census_kind {
	LUO_CENSUS_OUTGOING,
	LUO_CENSUS_INCOMING,	/* from the handover */
	LUO_CENSUS_PARKED,	/* handed over with LUO_IOCTL_HANDOVER */
	LUO_CENSUS_KINDS,
};

/**
 * struct luo_census_session - one session, as luo_core_census() sees it
 * @name:      its name
 * @kind:      enum luo_census_kind
 * @retrieved: an incoming or parked session a client retrieved
 * @nr_files:  files in it
 */
struct luo_census_session {
	const char *name;
	enum luo_census_kind kind;
	bool retrieved;
	uint32_t nr_files;
};

/**
 * struct luo_census_totals - what luo_core_census() counted
 * @sessions: sessions of each enum luo_census_kind
 * @files:    files in them
 */
struct luo_census_totals {
	uint32_t sessions[LUO_CENSUS_KINDS];
	uint64_t files;
};

typedef int (*luo_census_fn)(const struct luo_census_session *s, void *ctx);
int luo_core_census(const struct luo_core *core, luo_census_fn fn, void *ctx,
		    struct luo_census_totals *totals);

/*
 * REBOOT support: freeze every outgoing session, FIFO, undoing on failure;
 * then luo_core_prepare_exec() right before the exec.  The core's fds of
 * outgoing files never have close-on-exec: they are what crosses.
 */
int luo_core_freeze(struct luo_core *core);
void luo_core_unfreeze(struct luo_core *core);
int luo_core_for_each_outgoing_fd(struct luo_core *core,
				  int (*fn)(void *ctx, int fd), void *ctx);
typedef int (*luo_outgoing_file_fn)(void *ctx, int fd, const char *compatible,
				    const char *session, uint32_t owner,
				    uint64_t token);
int luo_core_for_each_outgoing_file(struct luo_core *core,
				    luo_outgoing_file_fn fn, void *ctx);
int luo_core_prepare_exec(struct luo_core *core);
void luo_core_finish_exec(struct luo_core *core);

/**
 * struct luo_fd_id - an fd that crosses an exec, and the file it names
 * @fd:   its number, or -1
 * @type: S_IFMT bits of its mode
 * @dev:  st_dev
 * @ino:  st_ino
 */
struct luo_fd_id {
	int fd;
	uint32_t type;
	uint64_t dev;
	uint64_t ino;
};

int luo_fd_id_of(int fd, struct luo_fd_id *id);
bool luo_fd_id_check(const struct luo_fd_id *id);

/**
 * enum luo_handover_mode - what the reading image makes of a handover
 * @LUO_HANDOVER_TAKEOVER: a REBOOT's new image: outgoing sessions become
 *                         incoming, everything else of the previous image
 *                         (its incoming sessions, their FLBs) is discarded
 * @LUO_HANDOVER_RESTORE:  the previous image again after a rollback: every
 *                         session as it was, outgoing ones still frozen
 *                         (luo_core_unfreeze() thaws them)
 * @LUO_HANDOVER_RECOVER:  RESTORE by a new engine after a crash: a file
 *                         whose fd (or retrieved fd) is not open or is not
 *                         the file written down is dropped from its
 *                         session instead of failing the read, and so is
 *                         a listening socket that does not check
 *                         (@luo_handover_info.listen_fd -1); each drop is
 *                         reported in @luo_handover_info.dropped.  What is
 *                         malformed still fails
 *
 * An UPGRADE's handover is always restored, in any mode, with nothing
 * frozen (struct luo_handover_info.upgrade); TAKEOVER and RESTORE then
 * stay strict.
 */
enum luo_handover_mode {
	LUO_HANDOVER_TAKEOVER,
	LUO_HANDOVER_RESTORE,
	LUO_HANDOVER_RECOVER,
};

/**
 * struct luo_handover_info - what the handover carries besides sessions
 * @update_number:   the new image's update number
 * @listen_fd:       the listening socket, kept open across the exec
 * @reply_fd:        the connection waiting for REBOOT's answer, or -1
 * @reply_size:      the size word of that caller's struct luo_reboot
 * @self_fd:         the image to fall back to, or -1
 * @reboot_start_ns: CLOCK_MONOTONIC when REBOOT was asked for
 * @upgrade:         write: an UPGRADE's handover (nothing frozen, to be
 *                   restored as it was, "luo-handover-v2"); read: it was
 *                   one, and was restored whatever the mode asked
 * @rfc_state:       read: the RFC state (enum liveupdate_state) when the
 *                   handover was written, 0 if not recorded
 * @conns:           the daemon's connections, opaque to the core (written
 *                   as they are; read: a malloc'd copy), or NULL
 * @conns_len:       their size
 * @sessions:        read: every session by handover index
 *                   (luo_session_handover_index()); NULL where this mode
 *                   discards it
 * @nr_sessions:     entries of @sessions
 * @records:         write: the engine's records (liveupdated(8)): no
 *                   file in the sessions, each session's "records-id"
 *                   instead; its files are luo_core_records_changes()'s
 *                   and luo_handover_assemble() puts them back
 * @discard:         read: fds of discarded files, checked to be the files
 *                   written down; the caller closes them once it keeps
 *                   the handover (luo_handover_discard())
 * @nr_discard:      entries of @discard
 * @dropped:         read, LUO_HANDOVER_RECOVER: what was dropped because
 *                   its fd did not check, and why, one malloc'd line
 *                   each, for the caller's log; no fd of it is closed
 * @nr_dropped:      entries of @dropped
 * @dropped_files:   how many of them are files (the rest: the listening
 *                   socket)
 *
 * The reader checks @listen_fd, @reply_fd and @self_fd against the
 * identity written beside them: @listen_fd must be the socket (the read
 * fails otherwise, but for LUO_HANDOVER_RECOVER, where it is -1 then),
 * @reply_fd and @self_fd are -1 when theirs is not.
 * luo_handover_info_release() frees what the reader allocated.
 */
struct luo_handover_info {
	uint64_t update_number;
	int listen_fd;
	int reply_fd;
	uint32_t reply_size;
	int self_fd;
	uint64_t reboot_start_ns;
	bool upgrade;
	bool records;
	uint32_t rfc_state;
	void *conns;
	size_t conns_len;
	struct luo_session **sessions;
	uint32_t nr_sessions;
	int *discard;
	uint32_t nr_discard;
	char **dropped;
	uint32_t nr_dropped;
	uint32_t dropped_files;
};

uint32_t luo_core_handover_number(struct luo_core *core);
uint32_t luo_session_handover_index(const struct luo_session *s);
int luo_handover_write(struct luo_core *core,
		       const struct luo_handover_info *info,
		       void **blob, size_t *len);
int luo_handover_read(struct luo_core *core, const void *blob, size_t len,
		      struct luo_handover_info *info, char *why, size_t why_len);
int luo_handover_read_mode(struct luo_core *core, const void *blob,
			   size_t len, enum luo_handover_mode mode,
			   struct luo_handover_info *info, char *why,
			   size_t why_len);
/**
 * struct luo_handover_fdmap - where the files of a kexec's handover are
 * @open: the file written down under fd number @fd with handler
 *        @compatible: a new fd of it, or -errno.  The core owns the fd
 *        once the read succeeds; if it fails, the map's owner closes
 *        every fd it gave
 * @ctx:  passed to @open
 */
struct luo_handover_fdmap {
	int (*open)(void *ctx, uint32_t fd, const char *compatible);
	void *ctx;
};

int luo_handover_read_kexec(struct luo_core *core, const void *blob,
			    size_t len, const struct luo_handover_fdmap *map,
			    struct luo_handover_info *info, char *why,
			    size_t why_len);
void luo_handover_discard(struct luo_core *core,
			  struct luo_handover_info *info);
void luo_handover_info_release(struct luo_handover_info *info);

/* Sizes of a file's records in a handover (struct handover_file, ..._in). */
#define LUO_HANDOVER_FILE_SIZE		216
#define LUO_HANDOVER_FILE_IN_SIZE	32

/**
 * struct luo_file_record - one file as the engine's records hold it
 * @session:  its session's records id (the "records-id" of its node in a
 *            handover written with @luo_handover_info.records)
 * @order:    its place among its session's files: they are in this order
 * @incoming: @in is meaningful (its session is incoming)
 * @reserved: zero
 * @file:     its handover record (a session's "files" entry)
 * @in:       its incoming state (a "files-in" entry)
 */
struct luo_file_record {
	uint64_t session;
	uint64_t order;
	uint32_t incoming;
	uint32_t reserved;
	uint8_t file[LUO_HANDOVER_FILE_SIZE];
	uint8_t in[LUO_HANDOVER_FILE_IN_SIZE];
};

/**
 * struct luo_file_gone - a file unlinked since the last records commit
 * @slot: its records slot, or -1
 * @fd:   the fd last recorded for it, or -1
 * @rfd:  the retrieved fd last recorded for it, or -1
 */
struct luo_file_gone {
	int32_t slot;
	int fd;
	int rfd;
};

/**
 * struct luo_file_change - a file to record again (new or changed)
 * @old_slot: its records slot so far, or -1
 * @old_fd:   the fd last recorded for it, or -1
 * @old_rfd:  the retrieved fd last recorded for it, or -1
 * @fd:       its fd now, or -1
 * @id:       the identity of @fd's file (recorded at preserve)
 * @rfd:      its retrieved fd now, or -1
 * @rid:      the identity of @rfd's file, if @rfd >= 0
 * @rec:      its record
 */
struct luo_file_change {
	int32_t old_slot;
	int old_fd;
	int old_rfd;
	int fd;
	struct luo_fd_id id;
	int rfd;
	struct luo_fd_id rid;
	struct luo_file_record rec;
};

/**
 * struct luo_session_record - one session as the engine's records hold it
 * @rid:      its records id (its files' @luo_file_record.session)
 * @order:    its place in its list: sessions are in this order
 * @incoming: it is in "sessions-in"
 * @owner:    its owner's uid
 * @flags:    an incoming session's "flags"
 * @reserved: zero
 * @name:     its name, NUL-terminated and NUL-padded
 */
struct luo_session_record {
	uint64_t rid;
	uint64_t order;
	uint32_t incoming;
	uint32_t owner;
	uint32_t flags;
	uint32_t reserved;
	char name[LIVEUPDATE_SESSION_NAME_LENGTH];
};

/**
 * struct luo_records_ops - what luo_core_records_changes() reports
 * @gone:    a file that left, every one before any @changed
 * @changed: a file to record; returns its new slot (>= 0) or -errno
 * @session_gone:    the slot of a session that left
 * @session_changed: a session to record, @old_slot its slot so far (or
 *                   -1); returns its new slot (>= 0) or -errno
 */
struct luo_records_ops {
	void (*gone)(void *ctx, const struct luo_file_gone *g);
	int (*changed)(void *ctx, const struct luo_file_change *c);
	void (*session_gone)(void *ctx, int32_t slot);
	int (*session_changed)(void *ctx, int32_t old_slot,
			       const struct luo_session_record *rec);
};

/**
 * struct luo_records_parts - the committed state as the records hold it
 * @sessions:    every session's record, in any order (sorted here)
 * @nr_sessions: entries of @sessions
 * @files:       every file's record, in any order (sorted here)
 * @nr_files:    entries of @files
 * @conns:       the "connections" property to write, or NULL to keep the
 *               handover's own
 * @conns_len:   its length
 */
struct luo_records_parts {
	struct luo_session_record *sessions;
	size_t nr_sessions;
	struct luo_file_record *files;
	size_t nr_files;
	const void *conns;
	size_t conns_len;
};

void luo_core_track_changes(struct luo_core *core);
int luo_core_records_changes(struct luo_core *core, bool all,
			     const struct luo_records_ops *ops, void *ctx);
int luo_handover_assemble(const void *small, size_t len,
			  struct luo_records_parts *parts,
			  void **blob, size_t *out_len);
void luo_records_sort_sessions(struct luo_session_record *s, size_t n);
uint64_t luo_session_records_id(const struct luo_session *s);
int luo_handover_records_conns(const void *small, size_t len,
			       const void **conns, size_t *conns_len);

int luo_core_for_each_fd(const struct luo_core *core,
			 int (*fn)(void *ctx, int fd,
				   const struct luo_fd_id *id),
			 void *ctx);

#endif /* LUO_CORE_H */
