// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The handover: what one daemon image tells the next (DESIGN.md section 7),
 * the user-space counterpart of the kernel's KHO "LUO" subtree.
 *
 * Layout: a 16-byte header (magic "LUOHOVR", the CRC-32 of the tree, the
 * tree's size) followed by a flattened device tree:
 *
 *   / { compatible = "luo-handover-v1";
 *       update-number = <u64>; listen-fd = <u32>; reboot-start-ns = <u64>;
 *       [reply-fd = <u32>; reply-size = <u32>;] [self-fd = <u32>;]
 *       [listen-id, reply-id, self-id = struct handover_fdid;]
 *       [rfc-state = <u32>;] [connections = [the daemon's, opaque];]
 *       sessions { session@N { name = ".."; owner = <u32>;
 *                              files = [struct handover_file...]; }; };
 *       [sessions-in { session@N { name; owner; flags = <u32>; files;
 *                                  files-in = [struct handover_file_in...]; }; };]
 *       flbs { flb@N { compatible = ".."; data = <u64>; count = <u64>; }; };
 *       [flbs-in { flb@N { ... }; };]
 *   };
 *
 * "sessions" are the outgoing sessions, "sessions-in" the incoming ones;
 * each is numbered (luo_session_handover_index()) outgoing first, so that
 * the daemon's connections can say which session they serve.  An image
 * that takes over (LUO_HANDOVER_TAKEOVER) makes the outgoing ones incoming
 * and discards the rest; an image that a REBOOT rolled back to
 * (LUO_HANDOVER_RESTORE) restores everything as it was.  A reader of the
 * first version of this format ignores what it does not know and takes
 * over exactly as before.
 *
 * Versions: "luo-handover-v1" is a REBOOT's handover, which every release
 * since 0.1.0 takes over.  "luo-handover-v2" is an UPGRADE's: the same
 * tree, but its outgoing files are not frozen and it must be restored as
 * it was (outgoing stay outgoing, the RFC state is kept), never taken over
 * as a REBOOT's.  A reader that knows only v1 would take it over as one,
 * so the version changes: such a reader refuses it and rolls back without
 * harm.  This reader takes both.
 *
 * A session's owner is the uid that created it; a handover without it (an
 * older image's) means uid 0.
 *
 * Sessions are in creation order and files in preservation order.  Every
 * fd crosses the exec under the number recorded here, beside the identity
 * of its file (type, device, inode); the reader checks that each one is
 * still the file that was written down before it uses or closes it, as an
 * image that was rolled back to may have reused a number.  Integers are
 * big-endian, as FDT cells are.
 *
 * The engine's records (luo_handover_info.records) write the root's
 * properties with "records-sessions" and neither "sessions" nor
 * "sessions-in": each session and file is kept apart, and
 * luo_handover_assemble() puts them back as a whole handover writes them.
 *
 * A session's files are one property, an array of fixed-size records, not
 * a node each: with a node per file, libfdt's tag walking was 38 of the 50
 * ms a reboot with 10,000 files took (measured), for the same reason the
 * kernel's G4 format keeps its files in raw blocks.
 */
#include <errno.h>
#include <fcntl.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core_internal.h"

#define HANDOVER_MAGIC		"LUOHOVR"
#define HANDOVER_COMPATIBLE	"luo-handover-v1"
#define HANDOVER_COMPATIBLE_UPGRADE	"luo-handover-v2"

struct handover_header {
	char magic[8];
	uint32_t crc;
	uint32_t size;
};

/**
 * struct handover_file - one preserved file, in a session's "files"
 * @compatible: the handler, NUL-terminated and NUL-padded
 * @token:      the user's token
 * @fd:         the fd number it crosses the exec under
 * @type:       S_IFMT bits of the file, checked by the reader
 * @dev:        st_dev of the file, checked by the reader
 * @ino:        st_ino of the file, checked by the reader
 * @data_len:   bytes of @data used
 * @reserved:   zero
 * @data:       the handler's serialized state
 */
struct handover_file {
	char compatible[LIVEUPDATE_HNDL_COMPAT_LENGTH];
	fdt64_t token;
	fdt32_t fd;
	fdt32_t type;
	fdt64_t dev;
	fdt64_t ino;
	fdt32_t data_len;
	fdt32_t reserved;
	uint8_t data[LUO_FILE_DATA_MAX];
};

_Static_assert(sizeof(struct handover_file) == 216, "handover_file layout");
_Static_assert(sizeof(struct handover_file) == LUO_HANDOVER_FILE_SIZE,
	       "handover_file size");

/**
 * struct handover_fdid - an fd and the file it names (struct luo_fd_id)
 * @fd:   the number
 * @type: S_IFMT bits
 * @dev:  st_dev
 * @ino:  st_ino
 */
struct handover_fdid {
	fdt32_t fd;
	fdt32_t type;
	fdt64_t dev;
	fdt64_t ino;
};

_Static_assert(sizeof(struct handover_fdid) == 24, "handover_fdid layout");

/**
 * struct handover_file_in - what an incoming file adds, in "files-in"
 * @retrieved: the retrieved file, fd 0xffffffff if none
 * @status:    0 never retrieved, 1 retrieved, else the sticky -errno
 * @reserved:  zero
 */
struct handover_file_in {
	struct handover_fdid retrieved;
	fdt32_t status;
	fdt32_t reserved;
};

_Static_assert(sizeof(struct handover_file_in) == 32,
	       "handover_file_in layout");
_Static_assert(sizeof(struct handover_file_in) == LUO_HANDOVER_FILE_IN_SIZE,
	       "handover_file_in size");

#define HANDOVER_NO_FD		0xffffffffu

/* The "flags" of an incoming session. */
#define HS_RETRIEVED		(1u << 0)
#define HS_FINISHED		(1u << 1)
#define HS_HANDED_OVER		(1u << 2)
#define HS_KEEP_ON_CLOSE	(1u << 3)
#define HS_RELEASED		(1u << 4)
#define HS_ALL			(HS_RETRIEVED | HS_FINISHED | HS_HANDED_OVER | \
				 HS_KEEP_ON_CLOSE | HS_RELEASED)

/**
 * luo_core_handover_number() - number every session for the handover
 * @core: the core
 *
 * Outgoing sessions first, then incoming ones, each in creation order: the
 * order luo_handover_write() writes them in.
 *
 * Return: the number of sessions.
 */
uint32_t luo_core_handover_number(struct luo_core *core)
{
	struct luo_session *s;
	uint32_t i = 0;

	list_for_each_entry(s, &core->outgoing, list)
		s->hidx = i++;
	list_for_each_entry(s, &core->incoming, list)
		s->hidx = i++;
	return i;
}

/**
 * luo_session_handover_index() - a session's place in the handover
 * @s: a session numbered by luo_core_handover_number() or by the reader
 *
 * Return: the index.
 */
uint32_t luo_session_handover_index(const struct luo_session *s)
{
	return s->hidx;
}

/* ---- writing ---------------------------------------------------------- */

static int put_u32(void *fdt, const char *name, uint32_t v)
{
	return fdt_property_u32(fdt, name, v);
}

static int put_u64(void *fdt, const char *name, uint64_t v)
{
	return fdt_property_u64(fdt, name, v);
}

/* FDT properties are only 4-byte aligned: records go in and out by memcpy. */
static void write_file(void *out, const struct luo_file *f)
{
	struct handover_file rec = {
		.token = cpu_to_fdt64(f->token),
		.fd = cpu_to_fdt32(f->fd >= 0 ? (uint32_t)f->fd :
				   HANDOVER_NO_FD),
		.type = cpu_to_fdt32(f->type),
		.dev = cpu_to_fdt64(f->dev),
		.ino = cpu_to_fdt64(f->ino),
		.data_len = cpu_to_fdt32(f->data_len),
	};

	memcpy(rec.compatible, f->handler->compatible, sizeof(rec.compatible));
	memcpy(rec.data, f->data, f->data_len);
	memcpy(out, &rec, sizeof(rec));
}

static void write_fdid(void *out, const struct luo_fd_id *id)
{
	struct handover_fdid rec = {
		.fd = cpu_to_fdt32(id->fd >= 0 ? (uint32_t)id->fd :
				   HANDOVER_NO_FD),
		.type = cpu_to_fdt32(id->type),
		.dev = cpu_to_fdt64(id->dev),
		.ino = cpu_to_fdt64(id->ino),
	};

	memcpy(out, &rec, sizeof(rec));
}

/* The state of an incoming file besides its record; @id: its retrieved's. */
static int write_file_in(void *out, const struct luo_file *f,
			 struct luo_fd_id *id)
{
	struct handover_file_in rec = {
		.status = cpu_to_fdt32((uint32_t)f->retrieve_status),
	};
	int err = luo_fd_id_of(f->retrieved_fd, id);

	if (err)
		return -FDT_ERR_BADVALUE;
	write_fdid(&rec.retrieved, id);
	memcpy(out, &rec, sizeof(rec));
	return 0;
}

static uint32_t session_flags(const struct luo_session *s)
{
	return (s->retrieved ? HS_RETRIEVED : 0) |
	       (s->finished ? HS_FINISHED : 0) |
	       (s->handed_over ? HS_HANDED_OVER : 0) |
	       (s->keep_on_close ? HS_KEEP_ON_CLOSE : 0) |
	       (s->released ? HS_RELEASED : 0);
}

/* A session and its files. */
static int write_session(void *fdt, const struct luo_session *s)
{
	const struct luo_file *f;
	uint8_t *files, *in = NULL;
	struct luo_fd_id id;
	char node[32];
	int err;

	snprintf(node, sizeof(node), "session@%u", s->hidx);
	err = fdt_begin_node(fdt, node);
	err = err ?: fdt_property_string(fdt, "name", s->name);
	err = err ?: put_u32(fdt, "owner", s->owner->uid);
	if (!err && s->incoming)
		err = put_u32(fdt, "flags", session_flags(s));
	err = err ?: fdt_property_placeholder(fdt, "files",
					      (int)(s->nr_files *
						    sizeof(struct handover_file)),
					      (void **)&files);
	if (!err && s->incoming)
		err = fdt_property_placeholder(fdt, "files-in",
					       (int)(s->nr_files *
						     sizeof(struct handover_file_in)),
					       (void **)&in);
	if (err)
		return err;
	list_for_each_entry(f, &s->files, list) {
		write_file(files, f);
		files += sizeof(struct handover_file);
		if (!in)
			continue;
		err = write_file_in(in, f, &id);
		if (err)
			return err;
		in += sizeof(struct handover_file_in);
	}
	return fdt_end_node(fdt);
}

static int write_sessions(void *fdt, const char *name,
			  const struct list_head *list)
{
	const struct luo_session *s;
	int err = fdt_begin_node(fdt, name);

	list_for_each_entry(s, list, list) {
		if (err)
			return err;
		err = write_session(fdt, s);
	}
	return err ?: fdt_end_node(fdt);
}

/* An fd and, beside it, the file it names. */
static int put_fd(void *fdt, const char *name, const char *id_name, int fd)
{
	struct luo_fd_id id;
	void *p;
	int err;

	if (luo_fd_id_of(fd, &id))
		return -FDT_ERR_BADVALUE;
	err = put_u32(fdt, name, (uint32_t)fd);
	err = err ?: fdt_property_placeholder(fdt, id_name,
					      sizeof(struct handover_fdid), &p);
	if (!err)
		write_fdid(p, &id);
	return err;
}

struct flb_writer {
	void *fdt;
	uint32_t idx;
};

static int write_flb(void *ctx, const char *compatible, uint64_t data,
		     uint64_t count)
{
	struct flb_writer *w = ctx;
	char node[32];
	int err;

	snprintf(node, sizeof(node), "flb@%u", w->idx++);
	err = fdt_begin_node(w->fdt, node);
	err = err ?: fdt_property_string(w->fdt, "compatible", compatible);
	err = err ?: put_u64(w->fdt, "data", data);
	err = err ?: put_u64(w->fdt, "count", count);
	err = err ?: fdt_end_node(w->fdt);
	return err;
}

/*
 * The RFC state for the records: UPDATED depends on every incoming
 * session, which the records hold apart; luo_handover_assemble() finds it
 * from them (rfc_fixup()), so that a commit does not walk them all.
 */
static uint32_t records_rfc_state(const struct luo_core *core)
{
	if (core->rfc_frozen)
		return LIVEUPDATE_STATE_FROZEN;
	if (core->rfc_prepared)
		return LIVEUPDATE_STATE_PREPARED;
	return LIVEUPDATE_STATE_NORMAL;
}

static int write_root(struct luo_core *core, void *fdt,
		      const struct luo_handover_info *info)
{
	struct flb_writer fw = { .fdt = fdt };
	int err;

	/* The records number sessions apart (luo_records_sort_sessions()). */
	if (!info->records)
		luo_core_handover_number(core);
	err = fdt_begin_node(fdt, "");
	err = err ?: fdt_property_string(fdt, "compatible", info->upgrade ?
					 HANDOVER_COMPATIBLE_UPGRADE :
					 HANDOVER_COMPATIBLE);
	err = err ?: put_u64(fdt, "update-number", info->update_number);
	err = err ?: put_fd(fdt, "listen-fd", "listen-id", info->listen_fd);
	err = err ?: put_u64(fdt, "reboot-start-ns", info->reboot_start_ns);
	err = err ?: put_u32(fdt, "rfc-state", info->records ?
			     records_rfc_state(core) : luo_state_get(core));
	if (!err && info->reply_fd >= 0) {
		err = put_fd(fdt, "reply-fd", "reply-id", info->reply_fd);
		err = err ?: put_u32(fdt, "reply-size", info->reply_size);
	}
	if (!err && info->self_fd >= 0)
		err = put_fd(fdt, "self-fd", "self-id", info->self_fd);
	if (!err && info->conns)
		err = fdt_property(fdt, "connections", info->conns,
				   (int)info->conns_len);
	if (!err && info->records)
		err = fdt_property(fdt, "records-sessions", NULL, 0);
	if (!info->records)
		err = err ?: write_sessions(fdt, "sessions", &core->outgoing);
	if (!err && !info->records && !list_empty(&core->incoming))
		err = write_sessions(fdt, "sessions-in", &core->incoming);
	err = err ?: fdt_begin_node(fdt, "flbs");
	err = err ?: luo_flb_for_each_outgoing(core, write_flb, &fw);
	err = err ?: fdt_end_node(fdt);
	if (!err && core->nr_flbs_in) {
		fw.idx = 0;
		err = fdt_begin_node(fdt, "flbs-in");
		err = err ?: luo_flb_for_each_incoming(core, write_flb, &fw);
		err = err ?: fdt_end_node(fdt);
	}
	err = err ?: fdt_end_node(fdt);
	return err;
}

static int write_tree(struct luo_core *core, void *fdt, size_t size,
		      const struct luo_handover_info *info)
{
	int err = fdt_create(fdt, (int)size);

	err = err ?: fdt_finish_reservemap(fdt);
	err = err ?: write_root(core, fdt, info);
	err = err ?: fdt_finish(fdt);
	return err;
}

/**
 * luo_handover_write() - describe every session for the next image
 * @core: the core, frozen
 * @info: the rest of what the next image needs
 * @blob: out: the handover, to free()
 * @len:  out: its length
 *
 * No system call: it costs memory and CPU in proportion to the number of
 * files, nothing per byte they hold.
 *
 * Every fd written down (@info's, every file's) goes with the identity of
 * its file.  Sessions are numbered as luo_core_handover_number() does.
 * With @info->records, the sessions and their files are left out (the
 * engine's records hold them apart, luo_handover_assemble()): it costs
 * what the rest costs, nothing per session or file.
 *
 * Return: 0, -ENOMEM, -EOVERFLOW if it would not fit 2 GiB, -EINVAL if
 * libfdt refused or an fd could not be examined (logged).
 */
int luo_handover_write(struct luo_core *core,
		       const struct luo_handover_info *info,
		       void **blob, size_t *len)
{
	size_t size = 4096 + info->conns_len +
		      (info->records ? 0 :
		       (core->nr_outgoing + core->nr_incoming) * 160 +
		       core->nr_files * (sizeof(struct handover_file) +
					 sizeof(struct handover_file_in)));
	struct handover_header *hdr;
	int err;

	for (;;) {
		if (size > INT32_MAX)
			return -EOVERFLOW;
		hdr = calloc(1, sizeof(*hdr) + size);
		if (!hdr)
			return -ENOMEM;
		err = write_tree(core, hdr + 1, size, info);
		if (err != -FDT_ERR_NOSPACE)
			break;
		free(hdr);
		size *= 2;
	}
	if (err) {
		free(hdr);
		luo_core_log(core, LUO_LOG_ERR, "handover: %s", fdt_strerror(err));
		return -EINVAL;
	}
	memcpy(hdr->magic, HANDOVER_MAGIC, sizeof(hdr->magic));
	hdr->size = fdt_totalsize(hdr + 1);
	hdr->crc = (uint32_t)crc32(0, (const Bytef *)(hdr + 1), hdr->size);
	*blob = hdr;
	*len = sizeof(*hdr) + hdr->size;
	return 0;
}

/**
 * luo_handover_session_record() - one session's record for the records
 * @s:   a session
 * @rec: out: its record
 */
void luo_handover_session_record(const struct luo_session *s,
				 struct luo_session_record *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->rid = s->rid;
	rec->order = s->order;
	rec->incoming = s->incoming;
	rec->owner = s->owner->uid;
	rec->flags = s->incoming ? session_flags(s) : 0;
	memcpy(rec->name, s->name, sizeof(rec->name));
	rec->name[sizeof(rec->name) - 1] = '\0';
}

/**
 * luo_handover_file_record() - one file's record for the engine's records
 * @f:   a linked file
 * @rec: out: its record
 * @rid: out: the identity of its retrieved file (fd -1 if none)
 *
 * Return: 0, or -EBADF if its retrieved fd could not be examined.
 */
int luo_handover_file_record(const struct luo_file *f,
			     struct luo_file_record *rec, struct luo_fd_id *rid)
{
	memset(rec, 0, sizeof(*rec));
	*rid = (struct luo_fd_id){ .fd = -1 };
	rec->session = f->session->rid;
	rec->order = f->order;
	rec->incoming = f->session->incoming;
	write_file(rec->file, f);
	if (f->session->incoming && write_file_in(rec->in, f, rid))
		return -EBADF;
	return 0;
}

static int record_cmp(const void *a, const void *b)
{
	const struct luo_file_record *x = a, *y = b;

	if (x->session != y->session)
		return x->session < y->session ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* The files of session @rid in @files (sorted by record_cmp()): *@k of them. */
static const struct luo_file_record *
files_of(const struct luo_file_record *files, size_t n, uint64_t rid,
	 size_t *k)
{
	size_t a = 0, b = n, m;

	while (a < b) {
		m = a + (b - a) / 2;
		if (files[m].session < rid)
			a = m + 1;
		else
			b = m;
	}
	for (b = a; b < n && files[b].session == rid; b++)
		;
	*k = b - a;
	return files + a;
}

/* @k files' "files" entries (@in false) or "files-in" entries into @out. */
static void put_records(uint8_t *out, const struct luo_file_record *lo,
			size_t k, bool in)
{
	size_t size = in ? LUO_HANDOVER_FILE_IN_SIZE : LUO_HANDOVER_FILE_SIZE;

	for (size_t i = 0; i < k; i++)
		memcpy(out + i * size, in ? lo[i].in : lo[i].file, size);
}

/*
 * Records of an earlier release (sessions in the handover, "records-files"):
 * puts back the files of each session of the list node @name.
 */
static int assemble_list(void *fdt, const char *name,
			 const struct luo_file_record *files, size_t n,
			 size_t *used)
{
	int list = fdt_path_offset(fdt, name), node, err;
	const struct luo_file_record *lo;
	uint8_t *fp, *ip;
	const void *p;
	size_t k;
	int len;

	if (list == -FDT_ERR_NOTFOUND)
		return 0;
	if (list < 0)
		return list;
	fdt_for_each_subnode(node, fdt, list) {
		uint64_t rid;

		p = fdt_getprop(fdt, node, "records-id", &len);
		if (!p || len != sizeof(fdt64_t))
			return -FDT_ERR_BADVALUE;
		rid = fdt64_ld(p);
		lo = files_of(files, n, rid, &k);
		*used += k;
		err = fdt_setprop_placeholder(fdt, node, "files",
					      (int)(k * LUO_HANDOVER_FILE_SIZE),
					      (void **)&fp);
		if (err)
			return err;
		put_records(fp, lo, k, false);
		if (!fdt_getprop(fdt, node, "files-in", &len))
			continue;
		err = fdt_setprop_placeholder(fdt, node, "files-in",
					      (int)(k * LUO_HANDOVER_FILE_IN_SIZE),
					      (void **)&ip);
		if (err)
			return err;
		put_records(ip, lo, k, true);
	}
	return 0;
}

static int session_cmp(const void *a, const void *b)
{
	const struct luo_session_record *x = a, *y = b;

	if (x->incoming != y->incoming)
		return x->incoming ? 1 : -1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/**
 * luo_records_sort_sessions() - sessions in the order of a handover
 * @s: session records
 * @n: entries of @s
 *
 * Outgoing first, then incoming, each in list order: the handover index
 * of each (luo_session_handover_index()) is then its place in @s.
 */
void luo_records_sort_sessions(struct luo_session_record *s, size_t n)
{
	if (n)
		qsort(s, n, sizeof(*s), session_cmp);
}

/*
 * luo_state_get() of the records' sessions, given records_rfc_state():
 * UPDATED if an incoming session from the previous image is unfinished.
 */
static fdt32_t rfc_fixup(const void *v, int len,
			 const struct luo_records_parts *parts)
{
	fdt32_t state;

	memcpy(&state, v, sizeof(state));
	if (len != sizeof(state) ||
	    fdt32_to_cpu(state) != LIVEUPDATE_STATE_NORMAL)
		return state;
	for (size_t i = 0; i < parts->nr_sessions; i++) {
		const struct luo_session_record *s = &parts->sessions[i];

		if (s->incoming && !(s->flags & HS_HANDED_OVER) &&
		    !(s->flags & HS_FINISHED))
			return cpu_to_fdt32(LIVEUPDATE_STATE_UPDATED);
	}
	return state;
}

/*
 * The properties of @node of @in, but the records' own and @skip; at the
 * root (@parts), the RFC state as luo_state_get() says it.
 */
static int copy_props(const void *in, int node, void *out, const char *skip,
		      const struct luo_records_parts *parts)
{
	const char *name;
	const void *v;
	fdt32_t state;
	int p, len, err;

	fdt_for_each_property_offset(p, in, node) {
		v = fdt_getprop_by_offset(in, p, &name, &len);
		if (!v)
			return len;
		if (!strcmp(name, "records-sessions") ||
		    !strcmp(name, "records-files") ||
		    (skip && !strcmp(name, skip)))
			continue;
		if (parts && !strcmp(name, "rfc-state") &&
		    len == sizeof(state)) {
			state = rfc_fixup(v, len, parts);
			v = &state;
		}
		err = fdt_property(out, name, v, len);
		if (err)
			return err;
	}
	return 0;
}

/* @node of @in and all below it, into the tree being written. */
static int copy_node(const void *in, int node, void *out)
{
	int child, err = fdt_begin_node(out, fdt_get_name(in, node, NULL));

	err = err ?: copy_props(in, node, out, NULL, NULL);
	fdt_for_each_subnode(child, in, node) {
		if (err)
			return err;
		err = copy_node(in, child, out);
	}
	return err ?: fdt_end_node(out);
}

/* Session @idx of @parts (sorted) with its files; counts them in @used. */
static int assemble_session(void *out, const struct luo_records_parts *parts,
			    size_t idx, size_t *used)
{
	const struct luo_session_record *s = &parts->sessions[idx];
	const struct luo_file_record *lo;
	uint8_t *fp, *ip;
	char node[32];
	size_t k;
	int err;

	lo = files_of(parts->files, parts->nr_files, s->rid, &k);
	*used += k;
	snprintf(node, sizeof(node), "session@%zu", idx);
	err = fdt_begin_node(out, node);
	err = err ?: fdt_property_string(out, "name", s->name);
	err = err ?: put_u32(out, "owner", s->owner);
	if (!err && s->incoming)
		err = put_u32(out, "flags", s->flags);
	err = err ?: fdt_property_placeholder(out, "files",
					      (int)(k * LUO_HANDOVER_FILE_SIZE),
					      (void **)&fp);
	if (err)
		return err;
	put_records(fp, lo, k, false);
	if (!s->incoming)
		return fdt_end_node(out);
	err = fdt_property_placeholder(out, "files-in",
				       (int)(k * LUO_HANDOVER_FILE_IN_SIZE),
				       (void **)&ip);
	if (err)
		return err;
	put_records(ip, lo, k, true);
	return fdt_end_node(out);
}

/* The sessions of @parts, sorted, as "sessions" and "sessions-in". */
static int assemble_sessions(void *out, const struct luo_records_parts *parts,
			     size_t *used)
{
	size_t i = 0;
	int err = fdt_begin_node(out, "sessions");

	for (; !err && i < parts->nr_sessions &&
	       !parts->sessions[i].incoming; i++)
		err = assemble_session(out, parts, i, used);
	err = err ?: fdt_end_node(out);
	if (err || i == parts->nr_sessions)
		return err;
	err = fdt_begin_node(out, "sessions-in");
	for (; !err && i < parts->nr_sessions; i++)
		err = assemble_session(out, parts, i, used);
	return err ?: fdt_end_node(out);
}

/* The whole tree: @in's root, the sessions put in, @in's other nodes. */
static int assemble_tree(const void *in, void *out, size_t size,
			 const struct luo_records_parts *parts, size_t *used)
{
	int child, err = fdt_create(out, (int)size);

	err = err ?: fdt_finish_reservemap(out);
	err = err ?: fdt_begin_node(out, "");
	err = err ?: copy_props(in, 0, out,
				parts->conns ? "connections" : NULL, parts);
	if (!err && parts->conns)
		err = fdt_property(out, "connections", parts->conns,
				   (int)parts->conns_len);
	err = err ?: assemble_sessions(out, parts, used);
	fdt_for_each_subnode(child, in, 0) {
		const char *name = fdt_get_name(in, child, NULL);

		if (err)
			return err;
		if (strcmp(name, "sessions") && strcmp(name, "sessions-in"))
			err = copy_node(in, child, out);
	}
	err = err ?: fdt_end_node(out);
	return err ?: fdt_finish(out);
}

/* Records of an earlier release: only the files are apart. */
static int assemble_files(const struct handover_header *in,
			  struct luo_records_parts *parts,
			  struct handover_header **out)
{
	struct luo_file_record *files = parts->files;
	size_t size, used = 0, n = parts->nr_files;
	struct handover_header *hdr;
	void *fdt;
	int err;

	size = in->size + 4096 + n * (LUO_HANDOVER_FILE_SIZE +
				      LUO_HANDOVER_FILE_IN_SIZE);
	if (size > INT32_MAX)
		return -EOVERFLOW;
	hdr = calloc(1, sizeof(*hdr) + size);
	if (!hdr)
		return -ENOMEM;
	fdt = hdr + 1;
	if (n)
		qsort(files, n, sizeof(*files), record_cmp);
	err = fdt_open_into(in + 1, fdt, (int)size);
	err = err ?: assemble_list(fdt, "/sessions", files, n, &used);
	err = err ?: assemble_list(fdt, "/sessions-in", files, n, &used);
	err = err ?: fdt_delprop(fdt, 0, "records-files");
	if (!err && used != n)
		err = -FDT_ERR_BADVALUE;
	err = err ?: fdt_pack(fdt);
	if (err) {
		free(hdr);
		return err == -FDT_ERR_NOSPACE ? -ENOMEM : -EINVAL;
	}
	*out = hdr;
	return 0;
}

/* The records of this release: sessions and files apart. */
static int assemble_all(const struct handover_header *in,
			struct luo_records_parts *parts,
			struct handover_header **out)
{
	size_t size = in->size + 4096 + parts->conns_len +
		      parts->nr_sessions * 160 +
		      parts->nr_files * (LUO_HANDOVER_FILE_SIZE +
					 LUO_HANDOVER_FILE_IN_SIZE), used;
	struct handover_header *hdr;
	int err;

	luo_records_sort_sessions(parts->sessions, parts->nr_sessions);
	if (parts->nr_files)
		qsort(parts->files, parts->nr_files, sizeof(*parts->files),
		      record_cmp);
	for (;;) {
		if (size > INT32_MAX)
			return -EOVERFLOW;
		hdr = calloc(1, sizeof(*hdr) + size);
		if (!hdr)
			return -ENOMEM;
		used = 0;
		err = assemble_tree(in + 1, hdr + 1, size, parts, &used);
		if (err != -FDT_ERR_NOSPACE)
			break;
		free(hdr);
		size *= 2;
	}
	if (!err && used != parts->nr_files)
		err = -FDT_ERR_BADVALUE;
	if (err) {
		free(hdr);
		return -EINVAL;
	}
	*out = hdr;
	return 0;
}

/**
 * luo_handover_assemble() - the whole handover from the engine's records
 * @small:   a handover written with @luo_handover_info.records
 * @len:     its length
 * @parts:   the session and file records live in the same commit, in any
 *           order (sorted here: sessions by luo_records_sort_sessions(),
 *           files by session and order), and the connections
 * @blob:    out: the handover with every session and file, to free()
 * @out_len: out: its length
 *
 * A handover written without @luo_handover_info.records (an engine that
 * kept no records apart) is copied as it is, and @parts is ignored.  One
 * of an earlier release, which kept only the files apart ("records-files"),
 * takes @parts' files alone.
 *
 * Return: 0, -ENOMEM, -EOVERFLOW, or -EINVAL if @small is no handover, or
 * a file record names no session of it.
 */
int luo_handover_assemble(const void *small, size_t len,
			  struct luo_records_parts *parts,
			  void **blob, size_t *out_len)
{
	const struct handover_header *in = small;
	struct handover_header *hdr;
	int err;

	if (len < sizeof(*in) || memcmp(in->magic, HANDOVER_MAGIC,
					sizeof(in->magic)) ||
	    in->size != len - sizeof(*in) ||
	    crc32(0, (const Bytef *)(in + 1), in->size) != in->crc ||
	    in->size < sizeof(struct fdt_header) ||
	    fdt_check_header(in + 1))
		return -EINVAL;
	if (fdt_getprop(in + 1, 0, "records-sessions", NULL)) {
		err = assemble_all(in, parts, &hdr);
	} else if (fdt_getprop(in + 1, 0, "records-files", NULL)) {
		err = assemble_files(in, parts, &hdr);
	} else {
		/* A whole handover already. */
		hdr = malloc(len);
		if (!hdr)
			return -ENOMEM;
		memcpy(hdr, small, len);
		*blob = hdr;
		*out_len = len;
		return 0;
	}
	if (err)
		return err;
	memcpy(hdr->magic, HANDOVER_MAGIC, sizeof(hdr->magic));
	hdr->size = fdt_totalsize(hdr + 1);
	hdr->crc = (uint32_t)crc32(0, (const Bytef *)(hdr + 1), hdr->size);
	*blob = hdr;
	*out_len = sizeof(*hdr) + hdr->size;
	return 0;
}

/**
 * luo_handover_records_conns() - the connections a records' handover holds
 * @small:     a handover written with @luo_handover_info.records
 * @len:       its length, checked by luo_handover_assemble() (not here)
 * @conns:     out: its "connections" property, or NULL
 * @conns_len: out: its length
 *
 * Return: 0 if @small keeps its sessions apart (this release's records:
 * its connections are then the daemon's to put together), -ENOENT if not
 * (a whole handover, or records of an earlier release), -EINVAL if it is
 * no handover.
 */
int luo_handover_records_conns(const void *small, size_t len,
			       const void **conns, size_t *conns_len)
{
	const struct handover_header *in = small;
	int l;

	if (len < sizeof(*in) + sizeof(struct fdt_header) ||
	    in->size != len - sizeof(*in) || fdt_check_header(in + 1))
		return -EINVAL;
	if (!fdt_getprop(in + 1, 0, "records-sessions", NULL))
		return -ENOENT;
	*conns = fdt_getprop(in + 1, 0, "connections", &l);
	*conns_len = *conns ? (size_t)l : 0;
	return 0;
}

/* ---- reading ---------------------------------------------------------- */

struct reader {
	struct luo_core *core;
	enum luo_handover_mode mode;
	const void *fdt;
	char *why;
	size_t why_len;
	uint8_t *fd_seen;	/* one byte per fd number, for duplicates */
	int fd_max;
	struct luo_handover_info *info;
	uint32_t cap_discard;
	const struct luo_handover_fdmap *map;	/* a kexec's, or NULL */
};

static int fail(struct reader *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct reader *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->why, r->why_len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* A property looked for by name; @val is NULL if the node lacks it. */
struct prop {
	const char *name;
	const void *val;
	int len;
};

/*
 * One pass over a node's properties, picking those named in @want: libfdt's
 * fdt_getprop() walks the node from its start on every call, which made
 * reading 10,000 files cost more than the rest of a reboot.
 */
static void collect(struct reader *r, int node, struct prop *want, int n)
{
	int off;

	for (int i = 0; i < n; i++)
		want[i].val = NULL;
	fdt_for_each_property_offset(off, r->fdt, node) {
		const char *name;
		int len;
		const void *val = fdt_getprop_by_offset(r->fdt, off, &name, &len);

		for (int i = 0; val && name && i < n; i++) {
			if (!want[i].val && !strcmp(want[i].name, name)) {
				want[i].val = val;
				want[i].len = len;
				break;
			}
		}
	}
}

static int malformed(struct reader *r, int node, const struct prop *p)
{
	return fail(r, "%s: missing or malformed '%s'",
		    node ? fdt_get_name(r->fdt, node, NULL) : "/", p->name);
}

static int get_u64(struct reader *r, int node, const struct prop *p,
		   uint64_t *v)
{
	if (!p->val || p->len != sizeof(fdt64_t))
		return malformed(r, node, p);
	*v = fdt64_ld(p->val);
	return 0;
}

static int get_u32(struct reader *r, int node, const struct prop *p,
		   uint32_t *v)
{
	if (!p->val || p->len != sizeof(fdt32_t))
		return malformed(r, node, p);
	*v = fdt32_ld(p->val);
	return 0;
}

/* A NUL-terminated string property of 1 to @max - 1 characters. */
static const char *get_str(struct reader *r, int node, const struct prop *p,
			   size_t max)
{
	const char *str = p->val;

	if (!str || p->len < 2 || (size_t)p->len > max || str[p->len - 1] ||
	    strlen(str) != (size_t)p->len - 1) {
		malformed(r, node, p);
		return NULL;
	}
	return str;
}

/*
 * An inherited fd: open and used once.  @st receives its fstat().
 * Return: 0, -EBADF if it is not open, -EINVAL if it is used twice.
 */
static int check_fd(struct reader *r, int node, uint32_t fd, struct stat *st)
{
	if (fd > INT32_MAX || fstat((int)fd, st)) {
		fail(r, "%s: fd %u is not open",
		     node ? fdt_get_name(r->fdt, node, NULL) : "/", fd);
		return -EBADF;
	}
	if ((int)fd <= r->fd_max) {
		if (r->fd_seen[fd])
			return fail(r, "%s: fd %u used twice",
				    fdt_get_name(r->fdt, node, NULL), fd);
		r->fd_seen[fd] = 1;
	}
	return 0;
}

/*
 * An fd written with its identity: open, used once, the same file.
 * Return: 0; -EBADF if it is not open or is another file; -EINVAL if it
 * is used twice.
 */
static int check_id(struct reader *r, const char *what,
		    const struct handover_fdid *rec, int *fd)
{
	struct luo_fd_id id = {
		.fd = (int)fdt32_to_cpu(rec->fd),
		.type = fdt32_to_cpu(rec->type),
		.dev = fdt64_to_cpu(rec->dev),
		.ino = fdt64_to_cpu(rec->ino),
	};
	struct stat st;
	int ret = -EBADF;

	if (fdt32_to_cpu(rec->fd) > INT32_MAX ||
	    (ret = check_fd(r, 0, (uint32_t)id.fd, &st))) {
		if (ret == -EBADF)
			fail(r, "%s: fd %u is not open", what,
			     fdt32_to_cpu(rec->fd));
		return ret;
	}
	if (!luo_fd_id_check(&id)) {
		fail(r, "%s: fd %d is not the file that was written down",
		     what, id.fd);
		return -EBADF;
	}
	*fd = id.fd;
	return 0;
}

/*
 * LUO_HANDOVER_RECOVER: @r->why, what an fd check found, becomes a line of
 * @r->info->dropped, "file: ..." or "listening socket: ..." (@file).
 */
static int drop(struct reader *r, bool file)
{
	struct luo_handover_info *info = r->info;
	char **p, *line = NULL;

	if (asprintf(&line, "%s: %s", file ? "file" : "listening socket",
		     r->why) < 0)
		line = NULL;
	snprintf(r->why, r->why_len, "out of memory");
	if (!line)
		return -ENOMEM;
	p = realloc(info->dropped, (info->nr_dropped + 1) * sizeof(*p));
	if (!p) {
		free(line);
		return -ENOMEM;
	}
	info->dropped = p;
	info->dropped[info->nr_dropped++] = line;
	if (file)
		info->dropped_files++;
	return 0;
}

static int discard_fd(struct reader *r, int fd)
{
	struct luo_handover_info *info = r->info;
	int *p;

	if (fd < 0)
		return 0;
	if (info->nr_discard == r->cap_discard) {
		r->cap_discard = r->cap_discard ? r->cap_discard * 2 : 64;
		p = realloc(info->discard, r->cap_discard * sizeof(*p));
		if (!p)
			return -ENOMEM;
		info->discard = p;
	}
	info->discard[info->nr_discard++] = fd;
	return 0;
}

/*
 * The key the table of preserved files (the EBUSY rule) holds a file
 * under: that of its current fd.  Every file read from a handover is
 * held until it is finished, outgoing or incoming, retrieved or not (a
 * client that outlived the re-exec may hold the same description); a
 * retrieved file under its retrieved fd.
 */
static int file_key(struct luo_file *f, bool *in_table)
{
	int fd = f->fd;

	if (f->session->incoming && f->retrieve_status == 1 &&
	    f->retrieved_fd >= 0)
		fd = f->retrieved_fd;
	*in_table = fd >= 0;
	return fd >= 0 ? luo_file_key_of(f->handler, fd, &f->key) : 0;
}

/*
 * One file record, checked against the fd it names: one fstat() per file,
 * so the reboot's cost grows with the number of files only.  @in is the
 * incoming file's "files-in" record, or NULL.
 */
static int read_file(struct reader *r, struct luo_session *s, const void *rec,
		     const void *in_rec)
{
	struct handover_file copy, *in = &copy;
	struct handover_file_in state = {
		.retrieved.fd = cpu_to_fdt32(HANDOVER_NO_FD),
	};
	struct luo_file_handler *h;
	uint32_t fd, len;
	struct luo_file *f;
	uint64_t token;
	struct stat st;
	bool in_table = false;
	const char *name = s ? s->name : "(discarded)";
	int rfd = -1, status = 0;
	size_t clen;
	int ret = 0;

	memcpy(&copy, rec, sizeof(copy));
	if (in_rec)
		memcpy(&state, in_rec, sizeof(state));
	fd = fdt32_to_cpu(in->fd);
	len = fdt32_to_cpu(in->data_len);
	token = fdt64_to_cpu(in->token);
	clen = strnlen(in->compatible, sizeof(in->compatible));
	status = (int)fdt32_to_cpu(state.status);

	if (!clen || clen == sizeof(in->compatible) || len > sizeof(in->data) ||
	    in->reserved || state.reserved || status > 1 ||
	    (fd == HANDOVER_NO_FD && status != 1))
		return fail(r, "session '%s': malformed file record", name);
	if (r->map) {
		/* After a kexec no fd crossed: what is not taken is gone. */
		if (!s)
			return 0;
		if (fd == HANDOVER_NO_FD || status)
			return fail(r, "session '%s': malformed file record",
				    name);
		ret = r->map->open(r->map->ctx, fd, in->compatible);
		if (ret < 0)
			return fail(r, "session '%s': token %llu: no file in the pool: %s",
				    name, (unsigned long long)token,
				    strerror(-ret));
		fd = (uint32_t)ret;
		ret = 0;	/* the fd, not an error */
		if (check_fd(r, 0, fd, &st))
			return -EINVAL;
		in->dev = cpu_to_fdt64((uint64_t)st.st_dev);
		in->ino = cpu_to_fdt64((uint64_t)st.st_ino);
		in->type = cpu_to_fdt32(st.st_mode & S_IFMT);
	} else if (fd != HANDOVER_NO_FD) {
		ret = check_fd(r, 0, fd, &st);
		if (ret == -EBADF)
			fail(r, "session '%s': token %llu: fd %u is not open",
			     name, (unsigned long long)token, fd);
		else if (!ret && (st.st_dev != fdt64_to_cpu(in->dev) ||
				  st.st_ino != fdt64_to_cpu(in->ino) ||
				  (st.st_mode & S_IFMT) !=
				  fdt32_to_cpu(in->type))) {
			fail(r, "session '%s': token %llu: fd %u is not the file that was preserved",
			     name, (unsigned long long)token, fd);
			ret = -EBADF;
		}
	}
	if (!ret && fdt32_to_cpu(state.retrieved.fd) != HANDOVER_NO_FD) {
		char what[LIVEUPDATE_SESSION_NAME_LENGTH + 64];

		snprintf(what, sizeof(what), "session '%s': token %llu: retrieved",
			 name, (unsigned long long)token);
		ret = check_id(r, what, &state.retrieved, &rfd);
	}
	/* Only a recovery goes on without a file whose fd does not check. */
	if (ret && (ret != -EBADF || r->mode != LUO_HANDOVER_RECOVER))
		return -EINVAL;
	/* Discarded: its fds are closed once the handover is kept. */
	if (!s)
		return discard_fd(r, fd == HANDOVER_NO_FD ? -1 : (int)fd) ?:
		       discard_fd(r, rfd);
	h = luo_find_file_handler(r->core, in->compatible);
	if (!h)
		return fail(r, "session '%s': no handler '%s' in this image",
			    s->name, in->compatible);
	if (luo_file_find(s, token))
		return fail(r, "session '%s': token %llu twice", s->name,
			    (unsigned long long)token);
	/* The fd, open but another file, is not ours: nothing is closed. */
	if (ret)
		return drop(r, true);
	f = luo_file_alloc(s, h, token);
	if (!f)
		return -ENOMEM;
	memcpy(f->data, in->data, len);
	f->data_len = len;
	f->fd = fd == HANDOVER_NO_FD ? -1 : (int)fd;
	f->retrieved_fd = rfd;
	f->retrieve_status = status;
	f->dev = fdt64_to_cpu(in->dev);
	f->ino = fdt64_to_cpu(in->ino);
	f->type = fdt32_to_cpu(in->type);
	/* Every outgoing file was frozen for a REBOOT, none for an UPGRADE. */
	f->frozen = !s->incoming && !r->info->upgrade;
	/*
	 * The inherited fd is a live description that a client which
	 * outlived the re-exec may hold too: the file holds its identity
	 * (EBUSY) from now until it is finished, retrieved or not, in
	 * every mode.
	 */
	ret = file_key(f, &in_table);
	if (!ret)
		ret = luo_file_link(r->core, f, in_table);
	if (ret) {
		free(f);
		if (ret == -ENOMEM)
			return fail(r, "session '%s': out of memory", s->name);
		return fail(r, "session '%s': token %llu: %s", s->name,
			    (unsigned long long)token,
			    ret == -EBUSY ? "a file preserved twice" :
			    "no identity for its file");
	}
	return 0;
}

/* The session a node describes, made in the direction @mode gives it. */
static int new_session(struct reader *r, const char *name, bool incoming,
		       uint32_t owner, uint32_t flags, struct luo_session **out)
{
	struct luo_core *core = r->core;
	uint32_t nr = incoming ? core->nr_incoming : core->nr_outgoing;
	struct luo_session *s;

	if (luo_session_find(core, name, incoming, owner))
		return fail(r, "session '%s' of uid %u twice", name, owner);
	if (nr >= core->max_sessions)
		return fail(r, "more sessions than this image allows (%u)",
			    core->max_sessions);
	s = luo_session_new(core, name, incoming, owner);
	if (!s)
		return -ENOMEM;
	s->retrieved = flags & HS_RETRIEVED;
	s->finished = flags & HS_FINISHED;
	s->handed_over = flags & HS_HANDED_OVER;
	s->keep_on_close = flags & HS_KEEP_ON_CLOSE;
	s->released = flags & HS_RELEASED;
	*out = s;
	return 0;
}

/*
 * A session of "sessions" (@was_incoming false) or "sessions-in": taken
 * over as incoming, restored as it was, or discarded (@s NULL, its fds
 * checked and kept for luo_handover_discard()).
 */
static int read_session(struct reader *r, int node, bool was_incoming)
{
	struct prop p[5] = {
		{ .name = "name" }, { .name = "files" }, { .name = "owner" },
		{ .name = "flags" }, { .name = "files-in" },
	};
	struct luo_session *s = NULL;
	const uint8_t *files, *in = NULL;
	const char *name;
	uint32_t flags = 0, owner = 0, idx = r->info->nr_sessions++;
	size_t n;
	int ret;

	collect(r, node, p, 5);
	name = get_str(r, node, &p[0], LIVEUPDATE_SESSION_NAME_LENGTH);
	if (!name)
		return -EINVAL;
	if (!p[1].val || p[1].len % sizeof(struct handover_file))
		return malformed(r, node, &p[1]);
	if (p[2].val && get_u32(r, node, &p[2], &owner))
		return -EINVAL;
	files = p[1].val;
	n = (size_t)p[1].len / sizeof(struct handover_file);
	if (was_incoming) {
		if (get_u32(r, node, &p[3], &flags))
			return -EINVAL;
		if (flags & ~HS_ALL)
			return malformed(r, node, &p[3]);
		if (!p[4].val ||
		    (size_t)p[4].len != n * sizeof(struct handover_file_in))
			return malformed(r, node, &p[4]);
		in = p[4].val;
	}
	if (n > r->core->max_files)
		return fail(r, "session '%s': more files than this image allows (%u)",
			    name, r->core->max_files);
	if (r->mode != LUO_HANDOVER_TAKEOVER || !was_incoming) {
		ret = new_session(r, name, r->mode == LUO_HANDOVER_TAKEOVER ||
				  was_incoming, owner, flags, &s);
		if (ret)
			return ret;
		s->hidx = idx;
		r->info->sessions[idx] = s;
	}
	for (size_t i = 0; i < n; i++) {
		ret = read_file(r, s, files + i * sizeof(struct handover_file),
				in ? in + i * sizeof(struct handover_file_in) :
				NULL);
		if (ret)
			return ret;
	}
	return 0;
}

static int read_flbs(struct reader *r, int node)
{
	struct luo_flb_in *in;
	int child, n = 0;

	fdt_for_each_subnode(child, r->fdt, node)
		n++;
	if (n > LUO_MAX_FLBS)
		return fail(r, "%d FLBs, at most %d", n, LUO_MAX_FLBS);
	if (!n)
		return 0;
	in = calloc((size_t)n, sizeof(*in));
	if (!in)
		return -ENOMEM;
	r->core->flbs_in = in;
	fdt_for_each_subnode(child, r->fdt, node) {
		struct prop p[3] = {
			{ .name = "compatible" }, { .name = "data" },
			{ .name = "count" },
		};
		const char *c;

		collect(r, child, p, 3);
		c = get_str(r, child, &p[0], LIVEUPDATE_FLB_COMPAT_LENGTH);
		if (!c || get_u64(r, child, &p[1], &in->data) ||
		    get_u64(r, child, &p[2], &in->count))
			return -EINVAL;
		for (uint32_t i = 0; i < r->core->nr_flbs_in; i++)
			if (!strcmp(r->core->flbs_in[i].compatible, c))
				return fail(r, "FLB '%s' twice", c);
		strcpy(in->compatible, c);
		in++;
		r->core->nr_flbs_in++;
	}
	return 0;
}

/*
 * RESTORE: the FLBs the outgoing files used, in use again.  Read into
 * flbs_in first (checked), then moved to the FLBs' outgoing counts.
 */
static int restore_flbs(struct reader *r, int node)
{
	struct luo_core *core = r->core;
	int ret = read_flbs(r, node);

	for (uint32_t i = 0; !ret && i < core->nr_flbs_in; i++)
		if (luo_flb_restore_outgoing(core, core->flbs_in[i].compatible,
					     0, 0))
			ret = fail(r, "no FLB '%s' in this image",
				   core->flbs_in[i].compatible);
	for (uint32_t i = 0; !ret && i < core->nr_flbs_in; i++)
		luo_flb_restore_outgoing(core, core->flbs_in[i].compatible,
					 core->flbs_in[i].data,
					 core->flbs_in[i].count);
	free(core->flbs_in);
	core->flbs_in = NULL;
	core->nr_flbs_in = 0;
	return ret;
}

static int check_blob(struct reader *r, const void *blob, size_t len)
{
	const struct handover_header *hdr = blob;
	int err;

	if (len < sizeof(*hdr) || memcmp(hdr->magic, HANDOVER_MAGIC,
					 sizeof(hdr->magic)))
		return fail(r, "not a luo handover");
	if (hdr->size != len - sizeof(*hdr))
		return fail(r, "truncated: %zu bytes of %u", len - sizeof(*hdr),
			    hdr->size);
	if (crc32(0, (const Bytef *)(hdr + 1), hdr->size) != hdr->crc)
		return fail(r, "checksum mismatch");
	r->fdt = hdr + 1;
	/*
	 * libfdt 1.6.1's fdt_check_full() dereferences NULL on a tree older
	 * than version 16 (fdt_get_name() of its root fails); fdt_create()
	 * writes version 17, so anything older is refused first.
	 */
	if (hdr->size < sizeof(struct fdt_header) || fdt_version(r->fdt) < 16)
		return fail(r, "malformed tree: not an FDT of version 16 or later");
	err = fdt_check_full(r->fdt, hdr->size);
	if (err)
		return fail(r, "malformed tree: %s", fdt_strerror(err));
	return 0;
}

enum { RP_COMPAT, RP_UPDATE, RP_START, RP_LISTEN, RP_REPLY, RP_REPLY_SIZE,
       RP_SELF, RP_LISTEN_ID, RP_REPLY_ID, RP_SELF_ID, RP_RFC, RP_CONNS,
       RP_NR };

/* Return: 0, -EBADF if the fd is not open, or -EINVAL. */
static int read_fd_prop(struct reader *r, const struct prop *p, int *fd)
{
	struct stat st;
	uint32_t v = 0;
	int ret;

	if (get_u32(r, 0, p, &v))
		return -EINVAL;
	ret = check_fd(r, 0, v, &st);
	if (ret)
		return ret;
	*fd = (int)v;
	return 0;
}

/*
 * An fd property with its identity beside it: the fd is used only if it
 * still names that file.  Without an identity (a handover of an earlier
 * release) it is only checked to be open, as then.  @fd is -1 if the
 * number does not name what was written down; if @must, that fails with
 * -EBADF (-EINVAL for what is malformed).
 */
static int read_fd_id(struct reader *r, const struct prop *p,
		      const struct prop *id, bool must, int *fd)
{
	struct handover_fdid rec;
	uint32_t v = 0;
	int ret;

	*fd = -1;
	if (!id->val) {
		ret = read_fd_prop(r, p, fd);
		return ret && !must ? -EINVAL : ret;
	}
	if (get_u32(r, 0, p, &v))
		return -EINVAL;
	if (id->len != sizeof(rec))
		return malformed(r, 0, id);
	memcpy(&rec, id->val, sizeof(rec));
	if (fdt32_to_cpu(rec.fd) != v)
		return malformed(r, 0, id);
	ret = check_id(r, p->name, &rec, fd);
	if (!ret)
		return 0;
	if (must)
		return ret;
	snprintf(r->why, r->why_len, "out of memory");
	return 0;
}

static int count_subnodes(struct reader *r, int node)
{
	int child, n = 0;

	if (node < 0)
		return 0;
	fdt_for_each_subnode(child, r->fdt, node)
		n++;
	return n;
}

static int read_sessions(struct reader *r)
{
	int out = fdt_subnode_offset(r->fdt, 0, "sessions");
	int in = fdt_subnode_offset(r->fdt, 0, "sessions-in");
	int child, ret, n;

	if (out < 0)
		return fail(r, "no sessions node");
	n = count_subnodes(r, out) + count_subnodes(r, in);
	r->info->sessions = calloc((size_t)n + 1, sizeof(*r->info->sessions));
	if (!r->info->sessions)
		return -ENOMEM;
	fdt_for_each_subnode(child, r->fdt, out) {
		ret = read_session(r, child, false);
		if (ret)
			return ret;
	}
	if (in < 0)
		return 0;
	fdt_for_each_subnode(child, r->fdt, in) {
		ret = read_session(r, child, true);
		if (ret)
			return ret;
	}
	return 0;
}

/* FLBs: taken over as incoming, or restored in both directions. */
static int read_all_flbs(struct reader *r)
{
	int node = fdt_subnode_offset(r->fdt, 0, "flbs"), in, ret;

	if (node < 0)
		return fail(r, "no flbs node");
	if (r->mode == LUO_HANDOVER_TAKEOVER)
		return read_flbs(r, node);
	ret = restore_flbs(r, node);
	in = fdt_subnode_offset(r->fdt, 0, "flbs-in");
	return ret || in < 0 ? ret : read_flbs(r, in);
}

static int read_root(struct reader *r, struct luo_handover_info *info)
{
	struct prop p[RP_NR] = {
		[RP_COMPAT] = { .name = "compatible" },
		[RP_UPDATE] = { .name = "update-number" },
		[RP_START] = { .name = "reboot-start-ns" },
		[RP_LISTEN] = { .name = "listen-fd" },
		[RP_REPLY] = { .name = "reply-fd" },
		[RP_REPLY_SIZE] = { .name = "reply-size" },
		[RP_SELF] = { .name = "self-fd" },
		[RP_LISTEN_ID] = { .name = "listen-id" },
		[RP_REPLY_ID] = { .name = "reply-id" },
		[RP_SELF_ID] = { .name = "self-id" },
		[RP_RFC] = { .name = "rfc-state" },
		[RP_CONNS] = { .name = "connections" },
	};
	const char *compat;
	int ret;

	collect(r, 0, p, RP_NR);
	compat = p[RP_COMPAT].val;
	info->upgrade = compat &&
		p[RP_COMPAT].len == sizeof(HANDOVER_COMPATIBLE_UPGRADE) &&
		!memcmp(compat, HANDOVER_COMPATIBLE_UPGRADE,
			sizeof(HANDOVER_COMPATIBLE_UPGRADE));
	/*
	 * An UPGRADE's handover is restored as it was, whoever reads it (a
	 * recovery keeps its leniency).
	 */
	if (info->upgrade) {
		if (r->mode == LUO_HANDOVER_TAKEOVER)
			r->mode = LUO_HANDOVER_RESTORE;
	} else if (!compat || p[RP_COMPAT].len != sizeof(HANDOVER_COMPATIBLE) ||
		 memcmp(compat, HANDOVER_COMPATIBLE,
			sizeof(HANDOVER_COMPATIBLE)))
		return fail(r, "unknown handover format '%.*s'",
			    compat ? (int)strnlen(compat, (size_t)p[RP_COMPAT].len) : 6,
			    compat ? compat : "(none)");
	info->reply_fd = -1;
	info->self_fd = -1;
	info->listen_fd = -1;
	if (r->map) {
		/* A kexec's: no fd, no connection crossed. */
		if (info->upgrade)
			return fail(r, "an UPGRADE's handover after a kexec");
		if (get_u64(r, 0, &p[RP_UPDATE], &info->update_number) ||
		    get_u64(r, 0, &p[RP_START], &info->reboot_start_ns))
			return -EINVAL;
		return read_sessions(r) ?: read_all_flbs(r);
	}
	if (get_u64(r, 0, &p[RP_UPDATE], &info->update_number) ||
	    get_u64(r, 0, &p[RP_START], &info->reboot_start_ns))
		return -EINVAL;
	ret = read_fd_id(r, &p[RP_LISTEN], &p[RP_LISTEN_ID], true,
			 &info->listen_fd);
	/* A recovery makes a new one, as a fresh start would. */
	if (ret == -EBADF && r->mode == LUO_HANDOVER_RECOVER)
		ret = drop(r, false);
	if (ret)
		return ret == -ENOMEM ? ret : -EINVAL;
	if (p[RP_REPLY].val &&
	    (read_fd_id(r, &p[RP_REPLY], &p[RP_REPLY_ID], false,
			&info->reply_fd) ||
	     get_u32(r, 0, &p[RP_REPLY_SIZE], &info->reply_size)))
		return -EINVAL;
	/* Never closed unless it is provably the image written down. */
	if (p[RP_SELF_ID].val &&
	    read_fd_id(r, &p[RP_SELF], &p[RP_SELF_ID], false, &info->self_fd))
		return -EINVAL;
	if (p[RP_RFC].val && get_u32(r, 0, &p[RP_RFC], &info->rfc_state))
		return -EINVAL;
	if (p[RP_CONNS].val && p[RP_CONNS].len > 0) {
		info->conns = malloc((size_t)p[RP_CONNS].len);
		if (!info->conns)
			return -ENOMEM;
		memcpy(info->conns, p[RP_CONNS].val, (size_t)p[RP_CONNS].len);
		info->conns_len = (size_t)p[RP_CONNS].len;
	}
	ret = read_sessions(r);
	return ret ?: read_all_flbs(r);
}

/* Forget what a failed read installed, without touching the inherited fds. */
static void read_rollback_list(struct luo_core *core, struct list_head *list)
{
	struct luo_session *s, *sn;
	struct luo_file *f, *fn;

	list_for_each_entry_safe(s, sn, list, list) {
		list_for_each_entry_safe(f, fn, &s->files, list) {
			f->fd = -1;
			f->retrieved_fd = -1;
			luo_file_unlink(core, f);
		}
		luo_session_destroy(core, s);
	}
}

static void read_rollback(struct luo_core *core)
{
	read_rollback_list(core, &core->incoming);
	read_rollback_list(core, &core->outgoing);
	free(core->flbs_in);
	core->flbs_in = NULL;
	core->nr_flbs_in = 0;
}

/**
 * luo_handover_info_release() - free what the reader allocated in @info
 * @info: as luo_handover_read_mode() filled it; no fd is closed
 */
void luo_handover_info_release(struct luo_handover_info *info)
{
	for (uint32_t i = 0; i < info->nr_dropped; i++)
		free(info->dropped[i]);
	free(info->dropped);
	info->dropped = NULL;
	info->nr_dropped = 0;
	info->dropped_files = 0;
	free(info->conns);
	free(info->sessions);
	free(info->discard);
	info->conns = NULL;
	info->conns_len = 0;
	info->sessions = NULL;
	info->nr_sessions = 0;
	info->discard = NULL;
	info->nr_discard = 0;
}

/**
 * luo_handover_discard() - close the files a take-over discards
 * @core: the core (its host closes clients' files off the loop)
 * @info: as luo_handover_read_mode() filled it
 *
 * Each was checked to be the file written down.  Called once the image
 * keeps the handover: until then a rollback still needs them.
 */
void luo_handover_discard(struct luo_core *core,
			  struct luo_handover_info *info)
{
	for (uint32_t i = 0; i < info->nr_discard; i++)
		luo_core_close_fd(core, info->discard[i]);
	info->nr_discard = 0;
}

/* luo_handover_read_mode() and luo_handover_read_kexec(). */
static int read_handover(struct reader *r, const void *blob, size_t len)
{
	struct luo_core *core = r->core;
	struct luo_handover_info *info = r->info;
	int ret;

	memset(info, 0, sizeof(*info));
	snprintf(r->why, r->why_len, "out of memory");
	if (!list_empty(&core->incoming) || !list_empty(&core->outgoing) ||
	    core->nr_flbs_in)
		return fail(r, "the core already has sessions");
	ret = check_blob(r, blob, len);
	if (ret)
		return ret;
	r->fd_max = (int)sysconf(_SC_OPEN_MAX);
	r->fd_seen = calloc((size_t)r->fd_max + 1, 1);
	if (!r->fd_seen)
		return -ENOMEM;
	ret = read_root(r, info);
	free(r->fd_seen);
	if (ret) {
		read_rollback(core);
		luo_handover_info_release(info);
		return ret;
	}
	core->update_number = info->update_number;
	/* Nothing was frozen: an UPGRADE keeps the RFC's PREPARED too. */
	if (info->upgrade && info->rfc_state == LIVEUPDATE_STATE_PREPARED)
		core->rfc_prepared = true;
	return 0;
}


/**
 * luo_handover_read_mode() - take over or restore what an image handed over
 * @core:    a core with its handlers (and FLBs) registered and no session
 * @blob:    the handover
 * @len:     its length
 * @mode:    take over (a REBOOT's new image), restore (a rolled-back one)
 *           or recover (a new engine after a crash)
 * @info:    out: the rest of what the previous image said; release it
 *           with luo_handover_info_release()
 * @why:     out: on failure, what was wrong, for the log
 * @why_len: size of @why
 *
 * Everything is checked before anything is believed: checksum, tree
 * structure, format, every property, every inherited fd (open, used once,
 * the same file as written), a handler for every file, unique names and
 * tokens, the limits.  On success the update number is the one written;
 * TAKEOVER makes every outgoing session incoming and lists the fds of the
 * rest in @info->discard; RESTORE makes every session what it was, its
 * outgoing files still frozen.  RECOVER restores as RESTORE does, but a
 * file or listening socket whose fd is not open or is not the file written
 * down is left out and listed in @info->dropped (its fd left alone); only
 * what is malformed fails.  An UPGRADE's handover (@info->upgrade) is
 * restored in any mode, nothing frozen, the RFC state as it was
 * written.  Inherited fds keep close-on-exec off.  On
 * failure nothing is installed and no fd is closed.
 *
 * Return: 0, -EINVAL (see @why) or -ENOMEM.
 */
int luo_handover_read_mode(struct luo_core *core, const void *blob,
			   size_t len, enum luo_handover_mode mode,
			   struct luo_handover_info *info, char *why,
			   size_t why_len)
{
	struct reader r = {
		.core = core, .mode = mode, .why = why, .why_len = why_len,
		.info = info,
	};

	return read_handover(&r, blob, len);
}

/**
 * luo_handover_read_kexec() - take over what the image before a kexec wrote
 * @core:    a core with its handlers registered and no session
 * @blob:    the handover, read from the pool
 * @len:     its length
 * @map:     opens the file each record names (no fd crossed the kexec)
 * @info:    out: as luo_handover_read_mode(); @info->listen_fd,
 *           @info->reply_fd and @info->self_fd are -1 and nothing is
 *           left to discard.  Release it with luo_handover_info_release()
 * @why:     out: on failure, what was wrong, for the log
 * @why_len: size of @why
 *
 * LUO_HANDOVER_TAKEOVER over files that @map opens: every outgoing session
 * of the previous kernel's daemon becomes incoming; its incoming sessions,
 * never retrieved before the kexec, are gone as after any reboot.  The
 * listening socket, connections and image written down are ignored.
 *
 * Return: 0, -EINVAL (see @why) or -ENOMEM.
 */
int luo_handover_read_kexec(struct luo_core *core, const void *blob,
			    size_t len, const struct luo_handover_fdmap *map,
			    struct luo_handover_info *info, char *why,
			    size_t why_len)
{
	struct reader r = {
		.core = core, .mode = LUO_HANDOVER_TAKEOVER, .why = why,
		.why_len = why_len, .info = info, .map = map,
	};

	return read_handover(&r, blob, len);
}

/**
 * luo_handover_read() - take over what the previous image handed over
 * @core:    a core with its handlers registered and no session
 * @blob:    the handover
 * @len:     its length
 * @info:    out: the rest of what the previous image said
 * @why:     out: on failure, what was wrong, for the log
 * @why_len: size of @why
 *
 * luo_handover_read_mode() with LUO_HANDOVER_TAKEOVER; the files it
 * discards are closed at once, and nothing is left to release in @info.
 *
 * Return: 0, -EINVAL (see @why) or -ENOMEM.
 */
int luo_handover_read(struct luo_core *core, const void *blob, size_t len,
		      struct luo_handover_info *info, char *why, size_t why_len)
{
	int ret = luo_handover_read_mode(core, blob, len,
					 LUO_HANDOVER_TAKEOVER, info, why,
					 why_len);

	if (!ret) {
		luo_handover_discard(core, info);
		luo_handover_info_release(info);
	}
	return ret;
}
