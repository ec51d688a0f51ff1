/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Between the engine and its vault (liveupdated(8), "Crash recovery"):
 * the messages on their private SOCK_SEQPACKET pair, and the layout of
 * the shared records memfd.  Both ends are the same release: native byte
 * order, no versioning beyond the magic.
 */
#ifndef LUOD_VAULT_PROTO_H
#define LUOD_VAULT_PROTO_H

#include <stdint.h>

/* fds per message, under the kernel's SCM_MAX_FD (253). */
#define VAULT_MAX_FDS	240

/**
 * enum vault_op - what a message from the engine says
 * @VAULT_ADD:     hold the attached fds, pending until commit @seq;
 *                 @fds are the engine's numbers for them, in order.  A
 *                 pending fd replaces the one held for its number once its
 *                 commit is known to be written (the records' committed
 *                 slot says, read at each message and when the engine
 *                 died): until then the committed records may still name
 *                 the old file under that number.
 * @VAULT_DEL:     drop what is held for the engine's fds @fds
 * @VAULT_FULL:    a full account follows: what is not added again before
 *                 VAULT_SWEEP is dropped then
 * @VAULT_SWEEP:   the full account is complete
 * @VAULT_SERVING: the engine serves (it may be restarted from now on); an
 *                 exec under way (VAULT_EXEC) is over
 * @VAULT_EXEC:    a REBOOT or an UPGRADE executes a new image now: if no
 *                 image serves within @seq ms, the vault kills it, and if
 *                 it dies first, the vault starts an engine that recovers
 *                 the records and answers the request with the errno the
 *                 keeper would have (--rolled-back)
 * @VAULT_SYNC:    under a service manager's fd store (RECORDS_FDSTORE):
 *                 answer VAULT_SYNCED @seq once every fd sent before is
 *                 in the store and the manager has taken it (BARRIER=1)
 * @VAULT_SYNCED:  the vault's one message to the engine: the answer to
 *                 VAULT_SYNC @seq (sent at once without a store)
 */
enum vault_op {
	VAULT_ADD = 1,
	VAULT_DEL,
	VAULT_FULL,
	VAULT_SWEEP,
	VAULT_SERVING,
	VAULT_EXEC,
	VAULT_SYNC,
	VAULT_SYNCED,
};

/**
 * struct vault_msg - one message; only @count entries of @fds are sent
 * @op:    enum vault_op
 * @count: entries of @fds
 * @seq:   VAULT_ADD, VAULT_SYNC, VAULT_SYNCED: the commit; VAULT_EXEC: the
 *         takeover timeout in ms
 * @fds:   the engine's fd numbers
 */
struct vault_msg {
	uint32_t op;
	uint32_t count;
	uint64_t seq;
	int32_t fds[VAULT_MAX_FDS];
};

#define VAULT_MSG_SIZE(n)	(16 + 4 * (size_t)(n))

#define RECORDS_MAGIC	"LUOREC01"
/* Where handovers go in the memfd: after the header's page. */
#define RECORDS_DATA	4096u

/**
 * struct records_slot - where one committed handover lies in the memfd
 * @off: its offset
 * @len: its length; 0: none
 * @seq: the commit that wrote it
 */
struct records_slot {
	uint64_t off;
	uint64_t len;
	uint64_t seq;
};

/**
 * struct records_stats - STATUS's reboot counters, carried through a crash
 * @last_reboot_ns: how long the last REBOOT took, 0 if none
 * @failed_reboots: REBOOTs and UPGRADEs that failed, all images
 * @last_error:     the errno the last failed one answered, 0 if none
 * @last_failure:   why it failed, NUL-terminated ("" if none)
 * @exec_upgrade:   the exec under way (VAULT_EXEC) is an UPGRADE's, which
 *                  a recovery does not count as a failed REBOOT
 *
 * Written by the engine in place before each commit; statistics, outside
 * the two slots (a crash mid-write at worst cuts the failure's text).
 */
struct records_stats {
	uint64_t last_reboot_ns;
	uint32_t failed_reboots;
	int32_t last_error;
	char last_failure[64];
	uint32_t exec_upgrade;
};

/**
 * struct records_header - the first bytes of the records memfd (mapped)
 * @magic:    RECORDS_MAGIC
 * @active:   the committed slot: 0 or 1.  The engine writes the other
 *            slot's handover and place first and flips @active last, so a
 *            crash at any moment leaves one complete handover.
 * @inflight: the engine's fd of the connection whose request is being
 *            handled, or -1
 * @commits:  commits so far (statistics)
 * @slot:     the two places
 * @flags:    RECORDS_KILLPOINTS, set by the vault when it makes the memfd;
 *            RECORDS_FDSTORE, set and cleared by the vault
 * @sent_conn: the engine's fd of the connection whose reply, held in the
 *            committed handover as its pending reply, is being or was
 *            sent (reply_sent() in records.c); meaningful only while @sent_seq
 *            is the committed slot's seq
 * @sent_seq: the commit @sent_conn refers to; 0: none
 * @stats:    STATUS's counters (zero in a vault of an earlier release:
 *            the memfd is made zeroed)
 * @file_slots: struct records_file_slot entries at RECORDS_FILES; the
 *            engine raises it (after growing the memfd) before it writes
 *            a slot beyond
 * @session_slots: struct records_session_slot entries at
 *            RECORDS_SESSIONS, likewise
 * @conn_slots: connection slots at RECORDS_CONNS, likewise
 *
 * Fields after @slot came later: a header made without them reads them
 * as 0 (the memfd is made zeroed), which says nothing was sent and no
 * counter moved.
 */
struct records_header {
	char magic[8];
	uint32_t active;
	int32_t inflight;
	uint64_t commits;
	struct records_slot slot[2];
	uint32_t flags;
	int32_t sent_conn;
	uint64_t sent_seq;
	struct records_stats stats;
	uint64_t file_slots;
	uint64_t session_slots;
	uint64_t conn_slots;
};

/*
 * The sessions and files of the committed state (records.c): a handover
 * written with luo_handover_info.records leaves every session and file
 * out, and connections are recorded apart too; each is a slot here,
 * written copy-on-write, files at RECORDS_FILES, sessions at
 * RECORDS_SESSIONS and connections at RECORDS_CONNS.  Every slot begins
 * with its @born and @died words.  A slot is part of commit C if
 * @born <= C and not (@died && @died <= C); a commit writes new slots
 * (@born first, then the rest) and marks ended ones (@died) before it
 * flips the header, and a slot is reused only once its end is committed.
 * Sparse: the memfd holds no pages between the handovers and this.  4
 * GiB in: past any two handovers (records_read() takes one of 1 GiB at
 * most), and no nearer a file size limit than it must be.
 */
#define RECORDS_FILES	(1ull << 32)
/* Far past the files' 2^26 slots; sparse likewise. */
#define RECORDS_SESSIONS	(1ull << 40)
#define RECORDS_CONNS		(2ull << 40)

/* --fault-injection: the engine honours LUO_FAULT_KILL_AT (killpoint.c). */
#define RECORDS_KILLPOINTS	(1u << 0)
/*
 * The vault's copies go to a service manager's fd store: before a commit
 * that sent fds, the engine waits for VAULT_SYNCED, and if the vault dies
 * the engine ends too, so that the manager restarts the unit from the
 * store (records.c, vault_fdstore.c).
 */
#define RECORDS_FDSTORE		(1u << 1)

#endif /* LUOD_VAULT_PROTO_H */
