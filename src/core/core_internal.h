/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The core's own structures, shared by its files and nobody else. */
#ifndef LUO_CORE_INTERNAL_H
#define LUO_CORE_INTERNAL_H

#include "hmap.h"
#include "luo_core.h"
#include "seqtree.h"

struct luo_ofd_bucket;

/**
 * struct luo_file_key - identity of a preserved file for the EBUSY rule
 * @by_id: true if the handler's get_id() gave @id; otherwise the identity
 *         is the open file description of @fd, bucketed by @id = (dev, ino)
 * @id:    the identity, or the bucket of an open file description
 * @fd:    an fd of the file, for the open-file-description comparison
 */
struct luo_file_key {
	bool by_id;
	struct luo_file_id id;
	int fd;
};

/**
 * struct luo_file - a preserved file
 * @list:            in the session's files, preservation order
 * @list_node:       in the session's files by LIST key (ext.c)
 * @token_node:      in the session's token table
 * @key_node:        in the core's table of preserved files
 * @key:             the identity @key_node is filed under
 * @ofd:             the bucket @key is filed in when it is an open file
 *                   description (file.c), or NULL
 * @session:         owner
 * @handler:         the handler that took it
 * @token:           the user's token
 * @fd:              the core's fd of the file (outgoing: dup of the
 *                   caller's; incoming: inherited across the re-exec)
 * @retrieved_fd:    incoming: the retrieved file, or -1
 * @retrieve_status: 0 never, 1 retrieved, <0 the sticky retrieve errno
 * @frozen:          freeze() ran and was not undone
 * @dev:             st_dev of the file when preserved, for the handover
 * @ino:             st_ino of the file when preserved
 * @type:            S_IFMT bits of st_mode when preserved
 * @data:            the handler's serialized state
 * @data_len:        bytes of @data
 * @private_data:    the handler's runtime state
 */
struct luo_file {
	struct list_head list;
	struct luo_tnode list_node;
	struct luo_hnode token_node;
	struct luo_hnode key_node;
	struct luo_file_key key;
	struct luo_ofd_bucket *ofd;
	struct luo_session *session;
	struct luo_file_handler *handler;
	uint64_t token;
	int fd;
	int retrieved_fd;
	int retrieve_status;
	bool frozen;
	uint64_t dev;
	uint64_t ino;
	uint32_t type;
	uint8_t data[LUO_FILE_DATA_MAX];
	uint32_t data_len;
	void *private_data;
	/* the engine's records (records.c): */
	struct list_head dirty;		/* in core->dirty, or empty */
	uint64_t order;			/* link order, for the records */
	int32_t rec_slot;		/* its records slot, or -1 */
	int rec_fd;			/* @fd as last recorded, or -1 */
	int rec_rfd;			/* @retrieved_fd likewise */
};

/**
 * struct luo_owner - one uid's sessions and what they are charged
 * @node:        in the core's owner table, by uid
 * @uid:         the uid
 * @nr_sessions: sessions it owns, every direction (its limit's count)
 * @nr_incoming: of which incoming
 * @nr_files:    files in them (its limit's count)
 * @outgoing:    its outgoing sessions, by struct luo_session.owner_link,
 *               in the order of the core's outgoing list
 * @incoming:    its incoming sessions, likewise
 * @by_key:      its sessions by LIST key (struct luo_session.owner_tnode)
 *
 * Freed with its last session.
 */
struct luo_owner {
	struct luo_hnode node;
	uint32_t uid;
	uint32_t nr_sessions;
	uint32_t nr_incoming;
	uint64_t nr_files;
	struct list_head outgoing;
	struct list_head incoming;
	struct luo_tree by_key;
};

/**
 * struct luo_session - a named group of preserved files
 * @list:      in the core's outgoing or incoming list, creation order
 * @owner_link: in its owner's list of the same direction
 * @name_node: in the core's name table of its direction, by (owner, name)
 * @tnode:     in the core's LIST order (@core->by_key)
 * @owner_tnode: in its owner's LIST order
 * @owner:     the uid that created it, its namespace and its charges
 * @seq:       its place in LIST order within its direction (see ext.c)
 * @name:      NUL-terminated
 * @incoming:  came from the previous image
 * @retrieved: incoming: handed out by RETRIEVE_SESSION
 * @finished:  incoming: FINISH succeeded
 * @handed_over: incoming: came from this image's HANDOVER, so its files
 *             still hold their FLBs as outgoing users
 * @keep_on_close: incoming: HANDOVER's LUO_HANDOVER_KEEP_ON_CLOSE
 * @released:  incoming: its fd was closed but the implicit FINISH was
 *             refused, so no fd holds it
 * @files:     struct luo_file, preservation order
 * @files_by_key: the same by LIST key, increasing along @files (ext.c)
 * @next_file_key: the LIST key of the next file preserved
 * @nr_files:  entries of @files
 * @tokens:    the files by token
 * @hidx:      its index in the handover being written or read
 */
struct luo_session {
	struct list_head list;
	struct list_head owner_link;
	struct luo_hnode name_node;
	struct luo_tnode tnode;
	struct luo_tnode owner_tnode;
	struct luo_owner *owner;
	uint32_t seq;
	char name[LIVEUPDATE_SESSION_NAME_LENGTH];
	bool incoming;
	bool retrieved;
	bool finished;
	bool handed_over;
	bool keep_on_close;
	bool released;
	struct list_head files;
	struct luo_tree files_by_key;
	uint32_t next_file_key;
	uint32_t nr_files;
	struct luo_hmap tokens;
	uint32_t hidx;
	uint64_t rid;			/* records.c: its records id */
	/* the engine's records (records.c): */
	struct list_head dirty;		/* in core->sdirty, or empty */
	uint64_t order;			/* list order, for the records */
	int32_t rec_slot;		/* its records slot, or -1 */
	/* the last failed PRESERVE_FD (LUO_SESSION_LAST_ERROR) */
	int err_errno;
	uint64_t err_token;
	uint32_t err_seq;
	char err_reason[LUO_SESSION_ERROR_LENGTH];
};

/**
 * struct luo_flb_in - an FLB as the previous image handed it over
 * @compatible: its name
 * @data:       the handle its preserve() returned
 * @count:      files that depended on it
 */
struct luo_flb_in {
	char compatible[LIVEUPDATE_FLB_COMPAT_LENGTH];
	uint64_t data;
	uint64_t count;
};

struct luo_core {
	struct luo_core_host host;
	uint32_t max_sessions;
	uint32_t max_files;
	uint32_t max_sessions_per_user;	/* 0: no limit */
	uint32_t max_files_per_user;	/* 0: no limit */
	uint64_t update_number;

	struct list_head outgoing;
	struct list_head incoming;
	struct luo_hmap outgoing_names;
	struct luo_hmap incoming_names;
	uint32_t nr_outgoing;
	uint32_t nr_incoming;
	uint64_t nr_files;
	struct luo_hmap owners;		/* struct luo_owner by uid */
	struct luo_tree by_key;		/* every session by LIST key */
	uint32_t next_seq;		/* ext.c: the next session's seq */
	uint64_t list_steps;		/* ext.c: LIST's work, for tests */
	struct luo_hmap preserved;	/* struct luo_file by get_id() key */
	struct luo_hmap ofds;		/* struct luo_ofd_bucket by inode */

	struct list_head handlers;	/* registration order */
	struct list_head flbs;		/* struct luo_flb_state */
	uint32_t nr_flbs;
	struct luo_flb_in *flbs_in;	/* from the handover */
	uint32_t nr_flbs_in;

	/* records.c: what changed since the engine's last commit */
	bool track;			/* changes are tracked */
	struct list_head dirty;		/* struct luo_file.dirty */
	struct luo_file_gone *gone;	/* files unlinked */
	size_t nr_gone, cap_gone;
	bool gone_lost;			/* out of memory: all must be redone */
	struct list_head sdirty;	/* struct luo_session.dirty */
	int32_t *sgone;			/* slots of sessions freed */
	size_t nr_sgone, cap_sgone;
	uint64_t next_rid;		/* the next session's records id */
	uint64_t next_order;		/* the next file's order */

	bool rfc_prepared;		/* state.c: PREPARED */
	bool rfc_frozen;		/* state.c: FROZEN, during a reboot */
};

/* session.c */
struct luo_session *luo_session_new(struct luo_core *core, const char *name,
				    bool incoming, uint32_t uid);
void luo_session_destroy(struct luo_core *core, struct luo_session *s);
struct luo_session *luo_session_find(struct luo_core *core, const void *name,
				     bool incoming, uint32_t uid);
uint64_t luo_session_name_hash(const void *name, uint32_t uid);
int luo_session_create(struct luo_core *core, const uint8_t *name,
		       uint32_t uid, struct luo_session **out);
int luo_session_retrieve(struct luo_core *core, const uint8_t *name,
			 uint32_t uid, struct luo_session **out);
int luo_session_drop(struct luo_core *core, const uint8_t *name,
		     uint32_t uid, uint32_t *nr_files);
void luo_session_note_error(struct luo_session *s, uint64_t token, int err,
			    const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* owner.c */
struct luo_owner *luo_owner_find(const struct luo_core *core, uint32_t uid);
struct luo_owner *luo_owner_get(struct luo_core *core, uint32_t uid);
void luo_owner_put(struct luo_core *core, struct luo_owner *o);
int luo_owner_check(const struct luo_core *core, uint32_t uid,
		    uint32_t sessions, uint32_t files);
int luo_session_finish(struct luo_core *core, struct luo_session *s);

/* session_handover.c */
int luo_session_handover(struct luo_core *core, struct luo_session *s,
			 const struct luo_session_handover *arg);

/* file.c */
int luo_file_preserve(struct luo_core *core, struct luo_session *s, int fd,
		      uint64_t token);
int luo_file_retrieve(struct luo_core *core, struct luo_session *s,
		      uint64_t token, int *out_fd);
struct luo_file *luo_file_find(struct luo_session *s, uint64_t token);
void luo_file_unpreserve(struct luo_core *core, struct luo_file *f);
bool luo_file_can_finish(struct luo_file *f);
void luo_file_finish(struct luo_core *core, struct luo_file *f);
int luo_file_freeze(struct luo_core *core, struct luo_file *f);
void luo_file_unfreeze(struct luo_core *core, struct luo_file *f);
int luo_file_key_of(struct luo_file_handler *h, int fd, struct luo_file_key *k);
int luo_file_table_add(struct luo_core *core, struct luo_file *f);
struct luo_file *luo_file_alloc(struct luo_session *s,
				struct luo_file_handler *h, uint64_t token);
int luo_file_link(struct luo_core *core, struct luo_file *f, bool in_table);
void luo_file_unlink(struct luo_core *core, struct luo_file *f);

/* handover.c */
void luo_handover_session_record(const struct luo_session *s,
				 struct luo_session_record *rec);
int luo_handover_file_record(const struct luo_file *f,
			     struct luo_file_record *rec, struct luo_fd_id *rid);

/* records.c */
void luo_file_touch(struct luo_core *core, struct luo_file *f);
void luo_file_gone(struct luo_core *core, struct luo_file *f);
void luo_session_touch(struct luo_core *core, struct luo_session *s);
void luo_session_gone(struct luo_core *core, struct luo_session *s);

/* flb.c */
struct luo_flb *luo_flb_of_link(struct list_head *l);
int luo_flb_file_preserve(struct luo_core *core, struct luo_file_handler *h);
void luo_flb_file_unpreserve(struct luo_core *core, struct luo_file_handler *h);
void luo_flb_file_finish(struct luo_core *core, struct luo_file_handler *h);
int luo_flb_for_each_outgoing(struct luo_core *core,
			      int (*fn)(void *ctx, const char *compatible,
					uint64_t data, uint64_t count),
			      void *ctx);
void luo_flb_release_all(struct luo_core *core);
int luo_flb_for_each_incoming(struct luo_core *core,
			      int (*fn)(void *ctx, const char *compatible,
					uint64_t data, uint64_t count),
			      void *ctx);
int luo_flb_restore_outgoing(struct luo_core *core, const char *compatible,
			     uint64_t data, uint64_t count);

/* state.c */
uint32_t luo_state_get(const struct luo_core *core);
bool luo_state_sealed(const struct luo_core *core);
int luo_state_set_event(struct luo_core *core, uint32_t event);
void luo_state_frozen(struct luo_core *core, int ret);
void luo_state_thawed(struct luo_core *core);
int luo_state_unpreserve_fd(struct luo_core *core, struct luo_session *s,
			    const struct luo_session_unpreserve_fd *arg);

/* ext.c */
void luo_list_add(struct luo_core *core, struct luo_session *s);
void luo_list_del(struct luo_core *core, struct luo_session *s);
void luo_list_file_add(struct luo_session *s, struct luo_file *f);
void luo_list_file_del(struct luo_session *s, struct luo_file *f);
int luo_ext_status(struct luo_core *core, struct luo_status *st,
		   const struct luo_caller *who);
int luo_ext_list(struct luo_core *core, struct luo_list *l,
		 struct luo_call *call);

void luo_core_close_fd(struct luo_core *core, int fd);

#endif /* LUO_CORE_INTERNAL_H */
