/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * luo's own requests, beyond the kernel's ABI (DESIGN.md section 6).
 *
 * They use the kernel's ioctl conventions: _IO(0xBA, nr) request codes, a
 * struct that starts with its __u32 size, unknown trailing bytes that must
 * be zero (E2BIG), copy-back of min(user size, struct size).  Their numbers
 * start at 0x80 so that a kernel growing new commands cannot collide.
 * Every one of them is accepted on a device open and on a control open.
 *
 * Who may send them (DESIGN.md section 7a): REBOOT, UPGRADE and SET_EVENT
 * change the machine as a whole and are the administrator's (peer uid 0, or the
 * daemon's own uid for a daemon that does not run as root); anyone else
 * gets EPERM, after the size checks (EFAULT, ENOTTY, EINVAL, E2BIG).
 * DROP_SESSION ends another user's stale session: the administrator's too.
 * STATUS, LIST and GET_STATE are anyone's; LIST shows a non-administrator
 * only the sessions its uid owns.
 */
#ifndef _LUO_LUO_EXT_H
#define _LUO_LUO_EXT_H

#include <linux/types.h>
#include <luo/liveupdate.h>

enum {
	LUO_CMD_EXT_BASE = 0x80,
	LUO_CMD_STATUS = LUO_CMD_EXT_BASE,
	LUO_CMD_LIST = 0x81,
	LUO_CMD_REBOOT = 0x82,
	LUO_CMD_GET_STATE = 0x83,
	LUO_CMD_SET_EVENT = 0x84,
	LUO_CMD_UPGRADE = 0x85,
	LUO_CMD_DROP_SESSION = 0x86,
	LUO_CMD_POOL_MEMFD = 0x87,
	LUO_CMD_REBOOT_KEXEC = 0x88,
};

#define LUO_CMD_EXT_COUNT	9

#define LUO_IOCTL_STATUS	_IO(LIVEUPDATE_IOCTL_TYPE, LUO_CMD_STATUS)
#define LUO_IOCTL_LIST		_IO(LIVEUPDATE_IOCTL_TYPE, LUO_CMD_LIST)
#define LUO_IOCTL_REBOOT	_IO(LIVEUPDATE_IOCTL_TYPE, LUO_CMD_REBOOT)
#define LUO_IOCTL_GET_STATE	_IO(LIVEUPDATE_IOCTL_TYPE, LUO_CMD_GET_STATE)
#define LUO_IOCTL_SET_EVENT	_IO(LIVEUPDATE_IOCTL_TYPE, LUO_CMD_SET_EVENT)
#define LUO_IOCTL_UPGRADE	_IO(LIVEUPDATE_IOCTL_TYPE, LUO_CMD_UPGRADE)
#define LUO_IOCTL_DROP_SESSION	\
	_IO(LIVEUPDATE_IOCTL_TYPE, LUO_CMD_DROP_SESSION)
#define LUO_IOCTL_POOL_MEMFD	_IO(LIVEUPDATE_IOCTL_TYPE, LUO_CMD_POOL_MEMFD)
#define LUO_IOCTL_REBOOT_KEXEC	\
	_IO(LIVEUPDATE_IOCTL_TYPE, LUO_CMD_REBOOT_KEXEC)

/* struct luo_status.flags */
/* the device is held by the caller's uid */
#define LUO_STATUS_DEVICE_OPEN	(1u << 0)
/* a REBOOT or an UPGRADE is under way */
#define LUO_STATUS_REBOOTING	(1u << 1)
/* only the kernel's file handler, memfd-v2 (liveupdated --handlers=kernel) */
#define LUO_STATUS_KERNEL_HANDLERS	(1u << 2)
/* closes or opens of clients' files are still under way off the loop */
#define LUO_STATUS_WORKING	(1u << 3)

#define LUO_VERSION_LENGTH	32
#define LUO_REBOOT_FAILURE_LENGTH	64

/**
 * struct luo_status - LUO_IOCTL_STATUS: the orchestrator at a glance
 * @size:            sizeof(struct luo_status) or more
 * @flags:           out: LUO_STATUS_*
 * @update_number:   out: 1 on first start, +1 at every successful reboot
 * @nr_outgoing:     out: outgoing sessions
 * @nr_incoming:     out: incoming sessions (retrieved or not)
 * @nr_files:        out: files held, outgoing and incoming
 *                   (these three: the caller's uid's own, unless the caller
 *                   is the administrator)
 * @pid:             out: the daemon's process id
 * @max_sessions:    out: session limit (ENOSPC past it)
 * @max_files:       out: per-session file limit (ENOSPC past it)
 * @takeover_ms:     out: how long a REBOOT waits for the new image to take
 *                   over before the old one is run again (milliseconds;
 *                   0 from a daemon older than this field, which was
 *                   reserved and zero)
 * @last_reboot_ns:  out: duration of the last successful reboot, from the
 *                   REBOOT request to the new image serving, 0 if none
 * @version:         out: the daemon's version string, NUL-terminated
 * @failed_reboots:  out: REBOOTs that failed after the freeze (the exec, or
 *                   a new image that could not take over and was rolled
 *                   back) since the daemon first started
 * @last_reboot_error: out: the errno (positive) the last failed REBOOT
 *                   answered, 0 if none in this image
 * @last_reboot_failure: out: why it failed, NUL-terminated, "" if none
 */
struct luo_status {
	__u32 size;
	__u32 flags;
	__aligned_u64 update_number;
	__u32 nr_outgoing;
	__u32 nr_incoming;
	__aligned_u64 nr_files;
	__u32 pid;
	__u32 max_sessions;
	__u32 max_files;
	__u32 takeover_ms;
	__aligned_u64 last_reboot_ns;
	char version[LUO_VERSION_LENGTH];
	__u32 failed_reboots;
	__s32 last_reboot_error;
	char last_reboot_failure[LUO_REBOOT_FAILURE_LENGTH];
};

/**
 * struct luo_list - LUO_IOCTL_LIST: one page of the session listing
 * @size:       sizeof(struct luo_list) or more
 * @flags:      must be zero (EINVAL otherwise)
 * @session:    in/out: cursor, 0 to start; out: where the next page
 *              starts (opaque: the key of a session, not an index)
 * @file:       in/out: where to start within @session: 0 its own record,
 *              else an opaque file cursor
 * @nr_records: out: number of struct luo_list_record that follow the reply
 * @done:       out: 1 if this page ends the listing
 *
 * Outgoing sessions are listed first, in creation order, then incoming ones.
 * Each session record is followed by the records of its files.  A page holds
 * at most LUO_LIST_PAGE_RECORDS records and costs what it holds, wherever
 * its cursor is.  The administrator lists every uid's sessions, anyone
 * else only its own.  Between pages the listing may change: a session
 * that went is not listed (the cursor moves on to the next one), one that
 * joined a direction the walk has not passed yet is, and the walk always
 * ends.
 */
struct luo_list {
	__u32 size;
	__u32 flags;
	__u32 session;
	__u32 file;
	__u32 nr_records;
	__u32 done;
};

#define LUO_LIST_PAGE_RECORDS	256

enum luo_list_type {
	LUO_LIST_SESSION = 1,
	LUO_LIST_FILE = 2,
};

enum luo_direction {
	LUO_OUTGOING = 1,
	LUO_INCOMING = 2,
};

/* struct luo_list_record.state for a session */
enum luo_session_state {
	LUO_SESSION_OPEN = 0,		/* outgoing, or incoming not retrieved */
	LUO_SESSION_RETRIEVED = 1,	/* incoming, handed out */
	LUO_SESSION_FINISHED = 2,	/* incoming, finished */
};

/**
 * struct luo_list_record - one line of the listing
 * @type:            LUO_LIST_SESSION or LUO_LIST_FILE
 * @direction:       LUO_OUTGOING or LUO_INCOMING
 * @state:           sessions: enum luo_session_state; files: 0
 * @reserved:        zero
 * @retrieve_status: files: 0 never retrieved, 1 retrieved, -errno failed
 * @nr_files:        sessions: number of files
 * @owner:           the uid that created the session (for a file, its
 *                   session's); 0 for a session from a handover written
 *                   without owners
 * @token:           files: the token
 * @name:            sessions: the name; files: the handler's compatible
 */
struct luo_list_record {
	__u8 type;
	__u8 direction;
	__u8 state;
	__u8 reserved;
	__s32 retrieve_status;
	__u32 nr_files;
	__u32 owner;
	__aligned_u64 token;
	char name[LIVEUPDATE_SESSION_NAME_LENGTH];
};

/* struct luo_reboot.flags */
#define LUO_REBOOT_EXEC_FD	(1u << 0)	/* an executable fd is attached */

/**
 * struct luo_reboot - LUO_IOCTL_REBOOT: the daemon's kexec
 * @size:          sizeof(struct luo_reboot) or more
 * @flags:         LUO_REBOOT_*; unknown bits give EOPNOTSUPP
 * @update_number: out: the update number of the new image
 *
 * Freezes every outgoing session, writes the handover and re-executes the
 * daemon (its own image, or the executable attached with
 * LUO_REBOOT_EXEC_FD).  The reply comes from the new image once it serves.
 * On failure nothing changes and the errno of the failing step is returned.
 * The administrator's alone, with or without an image: EPERM otherwise.
 */
struct luo_reboot {
	__u32 size;
	__u32 flags;
	__aligned_u64 update_number;
};

/* struct luo_upgrade.flags */
#define LUO_UPGRADE_EXEC_FD	(1u << 0)	/* an executable fd is attached */

/**
 * struct luo_upgrade - LUO_IOCTL_UPGRADE: the orchestrator upgrades itself
 * @size:          sizeof(struct luo_upgrade) or more
 * @flags:         LUO_UPGRADE_*; unknown bits give EOPNOTSUPP
 * @update_number: out: the update number, unchanged
 *
 * Writes the handover of the daemon's whole state, without freezing
 * anything, and re-executes the daemon at the same pid (its own image, or
 * the executable attached with LUO_UPGRADE_EXEC_FD).  The new image takes
 * everything over as it was: outgoing sessions stay outgoing, incoming
 * stay incoming, handed-over ones stay parked, retrieved files stay
 * retrieved, the RFC state and the update number do not change, and every
 * connection, device hold and session fd keeps working; requests queued
 * meanwhile are answered by the new image.  The reply comes from the new
 * image.  On failure (EBUSY while a REBOOT or UPGRADE is under way or a
 * request waits for a client's file; the errno of the exec; EPROTO or
 * the keeper's errno when the new image refused or died and the old one
 * was rolled back to) nothing changed.  The administrator's alone: EPERM
 * otherwise.
 */
struct luo_upgrade {
	__u32 size;
	__u32 flags;
	__aligned_u64 update_number;
};

/* struct luo_drop_session.flags: none yet (EOPNOTSUPP for any bit) */

/**
 * struct luo_drop_session - LUO_IOCTL_DROP_SESSION: discard a stale session
 * @size:     sizeof(struct luo_drop_session) or more
 * @flags:    zero; unknown bits give EOPNOTSUPP
 * @owner:    the uid that owns the session (each uid has its own names)
 * @nr_files: out: the files the session held
 * @name:     the incoming session's name, NUL-terminated
 *
 * The administrator's alone (EPERM otherwise).  Ends an incoming session
 * that no session fd holds: one nobody retrieved, or one whose retriever
 * closed it without a successful FINISH.  It runs FINISH's rules: every
 * file's handler is asked can_finish first (EBUSY, nothing changed, if one
 * says no), then every file is finished, newest first; a file never
 * retrieved is discarded, a retrieved one stays with whoever retrieved it
 * (the daemon drops only its own references).  Then the session and its
 * name are gone.  ENOENT if @owner has no incoming session of that name,
 * EINVAL for an empty or unterminated name, EBUSY if a session fd holds
 * the session (its holder may FINISH it or close it).
 */
struct luo_drop_session {
	__u32 size;
	__u32 flags;
	__u32 owner;
	__u32 nr_files;
	char name[LIVEUPDATE_SESSION_NAME_LENGTH];
};

/* struct luo_pool_memfd.flags */
#define LUO_POOL_ALLOW_SEALING	(1u << 0)	/* as MFD_ALLOW_SEALING */

#define LUO_POOL_NAME_LENGTH	256

/**
 * struct luo_pool_memfd - LUO_IOCTL_POOL_MEMFD: a file in the pool
 * @size:     sizeof(struct luo_pool_memfd) or more
 * @fd:       out: the new file, close-on-exec
 * @flags:    LUO_POOL_*; unknown bits give EINVAL
 * @reserved: zero (EINVAL otherwise)
 * @name:     a label for the daemon's log, NUL-terminated (EINVAL if not);
 *            the file itself has no name
 *
 * An unnamed regular file, read-write, in the daemon's pool
 * (liveupdated --pool): used like a memfd; its pages live in the pool, so
 * it crosses a REBOOT, an UPGRADE and a real kexec (REBOOT_KEXEC) with no
 * copy.  EOPNOTSUPP if the daemon has no pool, or for
 * LUO_POOL_ALLOW_SEALING where the pool's filesystem cannot seal.
 * Anyone's who may open the device.
 */
struct luo_pool_memfd {
	__u32 size;
	__s32 fd;
	__u32 flags;
	__u32 reserved;
	char name[LUO_POOL_NAME_LENGTH];
};

/* struct luo_reboot_kexec.flags */
#define LUO_KEXEC_NO_INITRD	(1u << 0)	/* load no initrd */
#define LUO_KEXEC_CMDLINE	(1u << 1)	/* @cmdline, not /proc/cmdline */

#define LUO_KEXEC_PATH_LENGTH		256
#define LUO_KEXEC_CMDLINE_LENGTH	2048

/**
 * struct luo_reboot_kexec - LUO_IOCTL_REBOOT_KEXEC: a real kexec
 * @size:          sizeof(struct luo_reboot_kexec) or more
 * @flags:         LUO_KEXEC_*; unknown bits give EOPNOTSUPP
 * @update_number: unused on success (the machine is gone); 0
 * @kernel:        the kernel image, NUL-terminated; "" for
 *                 /boot/vmlinuz-$(uname -r)
 * @initrd:        the initrd; "" for /boot/initrd.img-$(uname -r) if it
 *                 exists (none with LUO_KEXEC_NO_INITRD)
 * @cmdline:       the new kernel's command line with LUO_KEXEC_CMDLINE,
 *                 else /proc/cmdline is used
 *
 * REBOOT onto a new kernel: the daemon (started with --pool) checks that
 * every outgoing file can cross a kernel change (EXDEV and a reason in
 * STATUS otherwise, before anything is frozen), freezes every outgoing
 * session, copies ordinary memfds into the pool, writes the handover into
 * the pool, makes it durable, loads the kernel with kexec_file_load() and
 * reboots into it.  The paths are opened by the daemon: the request is the
 * administrator's alone (EPERM).  EOPNOTSUPP without a pool.  On failure
 * nothing changed and the errno of the failing step is returned.
 */
struct luo_reboot_kexec {
	__u32 size;
	__u32 flags;
	__aligned_u64 update_number;
	char kernel[LUO_KEXEC_PATH_LENGTH];
	char initrd[LUO_KEXEC_PATH_LENGTH];
	char cmdline[LUO_KEXEC_CMDLINE_LENGTH];
};

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L && !defined(__cplusplus)
_Static_assert(sizeof(struct luo_pool_memfd) == 272, "luo_pool_memfd layout");
_Static_assert(sizeof(struct luo_reboot_kexec) == 2576,
	       "luo_reboot_kexec layout");
_Static_assert(sizeof(struct luo_status) == 160, "luo_status layout");
_Static_assert(sizeof(struct luo_upgrade) == 16, "luo_upgrade layout");
_Static_assert(sizeof(struct luo_list) == 24, "luo_list layout");
_Static_assert(sizeof(struct luo_list_record) == 88, "luo_list_record layout");
_Static_assert(sizeof(struct luo_reboot) == 16, "luo_reboot layout");
_Static_assert(sizeof(struct luo_drop_session) == 80,
	       "luo_drop_session layout");
#endif

/*
 * Session extension requests, numbered from LUO_CMD_SESSION_EXT_BASE on a
 * session fd (the kernel's session commands stop at 0x7f).
 */
#define LUO_CMD_SESSION_EXT_BASE	0x80
#define LUO_CMD_HANDOVER		0x81

#define LUO_IOCTL_HANDOVER	_IO(LIVEUPDATE_IOCTL_TYPE, LUO_CMD_HANDOVER)

/* struct luo_session_handover.flags */
#define LUO_HANDOVER_KEEP_ON_CLOSE	(1u << 0)

/**
 * struct luo_session_handover - LUO_IOCTL_HANDOVER: live update of one session
 * @size:  sizeof(struct luo_session_handover) or more
 * @flags: LUO_HANDOVER_*; unknown bits give EOPNOTSUPP
 *
 * On an outgoing session (EINVAL on an incoming one): freezes its files
 * and moves it, under the same name, to the incoming list (EEXIST if an
 * incoming session has that name), where the next process retrieves it
 * with RETRIEVE_SESSION while every other session keeps running.  The
 * session fd it was sent on is detached: closing it does nothing, and
 * every later request on it fails with ENOENT.  With
 * LUO_HANDOVER_KEEP_ON_CLOSE, the last close of a retriever's session fd
 * before FINISH puts the session back on the incoming list, un-retrieved
 * and with all its files, instead of finishing it.
 */
struct luo_session_handover {
	__u32 size;
	__u32 flags;
};

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L && !defined(__cplusplus)
_Static_assert(sizeof(struct luo_session_handover) == 8,
	       "luo_session_handover layout");
#endif

/*
 * The RFC global state machine (SPEC.md 9.2): the values are the RFC's.
 * LUO_IOCTL_GET_STATE and LUO_IOCTL_SET_EVENT work on a device open and on
 * a control open alike.  UPDATED is derived: an incoming session of the
 * previous image is not finished yet.
 */
enum liveupdate_state {
	LIVEUPDATE_STATE_UNDEFINED = 0,
	LIVEUPDATE_STATE_NORMAL = 1,
	LIVEUPDATE_STATE_PREPARED = 2,
	LIVEUPDATE_STATE_FROZEN = 3,
	LIVEUPDATE_STATE_UPDATED = 4,
};

enum liveupdate_event {
	LIVEUPDATE_PREPARE = 0,	/* NORMAL -> PREPARED: the outgoing set sealed */
	LIVEUPDATE_FREEZE = 1,	/* only by REBOOT: never accepted (EINVAL) */
	LIVEUPDATE_FINISH = 2,	/* UPDATED -> NORMAL: every incoming session */
	LIVEUPDATE_CANCEL = 3,	/* PREPARED or FROZEN -> NORMAL */
};

/**
 * struct luo_ioctl_get_state - LUO_IOCTL_GET_STATE
 * @size:  sizeof(struct luo_ioctl_get_state) or more
 * @state: out: enum liveupdate_state
 */
struct luo_ioctl_get_state {
	__u32 size;
	__u32 state;
};

/**
 * struct luo_ioctl_set_event - LUO_IOCTL_SET_EVENT
 * @size:  sizeof(struct luo_ioctl_set_event) or more
 * @event: enum liveupdate_event: PREPARE, FINISH or CANCEL
 *
 * The administrator's alone (EPERM otherwise): PREPARE seals everyone's
 * sessions and the global FINISH discards every unretrieved one.
 * EINVAL for FREEZE, an unknown event, or an event the state does not
 * allow; EBUSY if a handler refuses FINISH (nothing changed).  In
 * PREPARED, CREATE_SESSION and PRESERVE_FD get EBUSY.
 */
struct luo_ioctl_set_event {
	__u32 size;
	__u32 event;
};

/* Session extension command numbers (the kernel's stop at 0x7f). */
#define LUO_CMD_SESSION_UNPRESERVE_FD	0x80
#define LUO_CMD_SESSION_LAST_ERROR	0x82

#define LUO_SESSION_UNPRESERVE_FD \
	_IO(LIVEUPDATE_IOCTL_TYPE, LUO_CMD_SESSION_UNPRESERVE_FD)
#define LUO_SESSION_LAST_ERROR \
	_IO(LIVEUPDATE_IOCTL_TYPE, LUO_CMD_SESSION_LAST_ERROR)

#define LUO_SESSION_ERROR_LENGTH	128

/**
 * struct luo_session_unpreserve_fd - LUO_SESSION_UNPRESERVE_FD
 * @size:     sizeof(struct luo_session_unpreserve_fd) or more
 * @reserved: zero (EINVAL otherwise)
 * @token:    the file to drop from this outgoing session
 *
 * The per-file removal the session ABI lacks (the RFC's FD_UNPRESERVE).
 * Only on an outgoing session (EINVAL on an incoming one), only in the
 * NORMAL state (EBUSY otherwise); ENOENT for an unknown token.
 */
struct luo_session_unpreserve_fd {
	__u32 size;
	__u32 reserved;
	__aligned_u64 token;
};

/**
 * struct luo_session_error - LUO_SESSION_LAST_ERROR: why a file was refused
 * @size:   sizeof(struct luo_session_error) or more
 * @error:  out: the errno (positive) of the last PRESERVE_FD on this
 *          session that failed, 0 if none did
 * @token:  out: the token that request named
 * @reason: out: why, in words, NUL-terminated ("" if none): for ENOENT
 *          the file handlers' own explanation of why none of them takes
 *          the file, e.g. "epoll: it watches fds of its owner's fd table"
 *
 * On any session fd, outgoing or incoming.  The record belongs to the
 * session, is replaced by the next failed PRESERVE_FD on it (a
 * successful one leaves it), is cleared when RETRIEVE_SESSION hands the
 * session to a new holder, and lives in this image only (a REBOOT does
 * not carry it).
 */
struct luo_session_error {
	__u32 size;
	__s32 error;
	__aligned_u64 token;
	char reason[LUO_SESSION_ERROR_LENGTH];
};

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L && !defined(__cplusplus)
_Static_assert(sizeof(struct luo_session_error) == 144,
	       "luo_session_error layout");
_Static_assert(sizeof(struct luo_ioctl_get_state) == 8,
	       "luo_ioctl_get_state layout");
_Static_assert(sizeof(struct luo_ioctl_set_event) == 8,
	       "luo_ioctl_set_event layout");
_Static_assert(sizeof(struct luo_session_unpreserve_fd) == 16,
	       "luo_session_unpreserve_fd layout");
#endif

#endif /* _LUO_LUO_EXT_H */
