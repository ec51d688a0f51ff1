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
 *       sessions { session@N { name = ".."; files = [struct handover_file...]; }; };
 *       flbs { flb@N { compatible = ".."; data = <u64>; count = <u64>; }; };
 *   };
 *
 * Sessions are in creation order and files in preservation order.  Every
 * preserved fd crosses the exec under the number recorded here; the reader
 * checks that each one is still the file that was written down.  Integers
 * are big-endian, as FDT cells are.
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
		.fd = cpu_to_fdt32((uint32_t)f->fd),
		.type = cpu_to_fdt32(f->type),
		.dev = cpu_to_fdt64(f->dev),
		.ino = cpu_to_fdt64(f->ino),
		.data_len = cpu_to_fdt32(f->data_len),
	};

	memcpy(rec.compatible, f->handler->compatible, sizeof(rec.compatible));
	memcpy(rec.data, f->data, f->data_len);
	memcpy(out, &rec, sizeof(rec));
}

static int write_session(void *fdt, const struct luo_session *s, uint32_t idx)
{
	const struct luo_file *f;
	uint8_t *files;
	char node[32];
	int err;

	snprintf(node, sizeof(node), "session@%u", idx);
	err = fdt_begin_node(fdt, node);
	err = err ?: fdt_property_string(fdt, "name", s->name);
	err = err ?: fdt_property_placeholder(fdt, "files",
					      (int)(s->nr_files *
						    sizeof(struct handover_file)),
					      (void **)&files);
	if (err)
		return err;
	list_for_each_entry(f, &s->files, list) {
		write_file(files, f);
		files += sizeof(struct handover_file);
	}
	return fdt_end_node(fdt);
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

static int write_root(struct luo_core *core, void *fdt,
		      const struct luo_handover_info *info)
{
	struct flb_writer fw = { .fdt = fdt };
	const struct luo_session *s;
	uint32_t i = 0;
	int err;

	err = fdt_begin_node(fdt, "");
	err = err ?: fdt_property_string(fdt, "compatible", HANDOVER_COMPATIBLE);
	err = err ?: put_u64(fdt, "update-number", info->update_number);
	err = err ?: put_u32(fdt, "listen-fd", (uint32_t)info->listen_fd);
	err = err ?: put_u64(fdt, "reboot-start-ns", info->reboot_start_ns);
	if (!err && info->reply_fd >= 0) {
		err = put_u32(fdt, "reply-fd", (uint32_t)info->reply_fd);
		err = err ?: put_u32(fdt, "reply-size", info->reply_size);
	}
	if (!err && info->self_fd >= 0)
		err = put_u32(fdt, "self-fd", (uint32_t)info->self_fd);
	err = err ?: fdt_begin_node(fdt, "sessions");
	if (err)
		return err;
	list_for_each_entry(s, &core->outgoing, list) {
		err = write_session(fdt, s, i++);
		if (err)
			return err;
	}
	err = fdt_end_node(fdt);
	err = err ?: fdt_begin_node(fdt, "flbs");
	err = err ?: luo_flb_for_each_outgoing(core, write_flb, &fw);
	err = err ?: fdt_end_node(fdt);
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
 * luo_handover_write() - describe every outgoing session for the next image
 * @core: the core, frozen
 * @info: the rest of what the next image needs
 * @blob: out: the handover, to free()
 * @len:  out: its length
 *
 * No system call: it costs memory and CPU in proportion to the number of
 * files, nothing per byte they hold.
 *
 * Return: 0, -ENOMEM, -EOVERFLOW if it would not fit 2 GiB, -EINVAL if
 * libfdt refused (logged).
 */
int luo_handover_write(struct luo_core *core,
		       const struct luo_handover_info *info,
		       void **blob, size_t *len)
{
	size_t size = 4096 + core->nr_outgoing * 160 +
		      core->nr_files * sizeof(struct handover_file);
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

/* ---- reading ---------------------------------------------------------- */

struct reader {
	struct luo_core *core;
	const void *fdt;
	char *why;
	size_t why_len;
	uint8_t *fd_seen;	/* one byte per fd number, for duplicates */
	int fd_max;
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

/* An inherited fd: open and used once.  @st receives its fstat(). */
static int check_fd(struct reader *r, int node, uint32_t fd, struct stat *st)
{
	if (fd > INT32_MAX || fstat((int)fd, st))
		return fail(r, "%s: fd %u is not open",
			    node ? fdt_get_name(r->fdt, node, NULL) : "/", fd);
	if ((int)fd <= r->fd_max) {
		if (r->fd_seen[fd])
			return fail(r, "%s: fd %u used twice",
				    fdt_get_name(r->fdt, node, NULL), fd);
		r->fd_seen[fd] = 1;
	}
	return 0;
}

/*
 * One file record, checked against the fd it names: one fstat() per file,
 * so the reboot's cost grows with the number of files only.
 */
static int read_file(struct reader *r, struct luo_session *s, const void *rec)
{
	struct handover_file copy, *in = &copy;
	struct luo_file_handler *h;
	uint32_t fd, len;
	struct luo_file *f;
	uint64_t token;
	struct stat st;
	size_t clen;
	int ret;

	memcpy(&copy, rec, sizeof(copy));
	fd = fdt32_to_cpu(in->fd);
	len = fdt32_to_cpu(in->data_len);
	token = fdt64_to_cpu(in->token);
	clen = strnlen(in->compatible, sizeof(in->compatible));

	if (!clen || clen == sizeof(in->compatible) || len > sizeof(in->data) ||
	    in->reserved)
		return fail(r, "session '%s': malformed file record", s->name);
	if (check_fd(r, 0, fd, &st))
		return -EINVAL;
	if (st.st_dev != fdt64_to_cpu(in->dev) ||
	    st.st_ino != fdt64_to_cpu(in->ino) ||
	    (st.st_mode & S_IFMT) != fdt32_to_cpu(in->type))
		return fail(r, "session '%s': fd %u is not the file that was preserved",
			    s->name, fd);
	h = luo_find_file_handler(r->core, in->compatible);
	if (!h)
		return fail(r, "session '%s': no handler '%s' in this image",
			    s->name, in->compatible);
	if (luo_file_find(s, token))
		return fail(r, "session '%s': token %llu twice", s->name,
			    (unsigned long long)token);
	f = luo_file_alloc(s, h, token);
	if (!f)
		return -ENOMEM;
	memcpy(f->data, in->data, len);
	f->data_len = len;
	f->fd = (int)fd;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->type = st.st_mode & S_IFMT;
	/*
	 * The inherited fd is a live description that a client which
	 * outlived the re-exec may hold too: the file holds its identity
	 * (EBUSY) from now until it is finished, retrieved or not.
	 */
	ret = luo_file_key_of(h, f->fd, &f->key);
	if (!ret)
		ret = luo_file_link(r->core, f, true);
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

static int read_session(struct reader *r, int node)
{
	struct prop p[2] = { { .name = "name" }, { .name = "files" } };
	const uint8_t *files;
	struct luo_session *s;
	const char *name;
	size_t n;
	int ret;

	collect(r, node, p, 2);
	name = get_str(r, node, &p[0], LIVEUPDATE_SESSION_NAME_LENGTH);
	if (!name)
		return -EINVAL;
	if (!p[1].val || p[1].len % sizeof(struct handover_file))
		return malformed(r, node, &p[1]);
	files = p[1].val;
	n = (size_t)p[1].len / sizeof(struct handover_file);
	if (luo_session_find(r->core, name, true))
		return fail(r, "session '%s' twice", name);
	if (r->core->nr_incoming >= r->core->max_sessions)
		return fail(r, "more sessions than this image allows (%u)",
			    r->core->max_sessions);
	if (n > r->core->max_files)
		return fail(r, "session '%s': more files than this image allows (%u)",
			    name, r->core->max_files);
	s = luo_session_new(r->core, name, true);
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		ret = read_file(r, s, files + i * sizeof(struct handover_file));
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
       RP_SELF, RP_NR };

static int read_fd_prop(struct reader *r, const struct prop *p, int *fd)
{
	struct stat st;
	uint32_t v = 0;

	if (get_u32(r, 0, p, &v) || check_fd(r, 0, v, &st))
		return -EINVAL;
	*fd = (int)v;
	return 0;
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
	};
	const char *compat;
	int node, child, ret;

	collect(r, 0, p, RP_NR);
	compat = p[RP_COMPAT].val;
	if (!compat || p[RP_COMPAT].len != sizeof(HANDOVER_COMPATIBLE) ||
	    memcmp(compat, HANDOVER_COMPATIBLE, sizeof(HANDOVER_COMPATIBLE)))
		return fail(r, "unknown handover format '%.*s'",
			    compat ? (int)strnlen(compat, (size_t)p[RP_COMPAT].len) : 6,
			    compat ? compat : "(none)");
	info->reply_fd = -1;
	info->self_fd = -1;
	if (get_u64(r, 0, &p[RP_UPDATE], &info->update_number) ||
	    get_u64(r, 0, &p[RP_START], &info->reboot_start_ns) ||
	    read_fd_prop(r, &p[RP_LISTEN], &info->listen_fd))
		return -EINVAL;
	if (p[RP_REPLY].val &&
	    (read_fd_prop(r, &p[RP_REPLY], &info->reply_fd) ||
	     get_u32(r, 0, &p[RP_REPLY_SIZE], &info->reply_size)))
		return -EINVAL;
	if (p[RP_SELF].val && read_fd_prop(r, &p[RP_SELF], &info->self_fd))
		return -EINVAL;
	node = fdt_subnode_offset(r->fdt, 0, "sessions");
	if (node < 0)
		return fail(r, "no sessions node");
	fdt_for_each_subnode(child, r->fdt, node) {
		ret = read_session(r, child);
		if (ret)
			return ret;
	}
	node = fdt_subnode_offset(r->fdt, 0, "flbs");
	if (node < 0)
		return fail(r, "no flbs node");
	return read_flbs(r, node);
}

/* Forget what a failed read installed, without touching the inherited fds. */
static void read_rollback(struct luo_core *core)
{
	struct luo_session *s, *sn;
	struct luo_file *f, *fn;

	list_for_each_entry_safe(s, sn, &core->incoming, list) {
		list_for_each_entry_safe(f, fn, &s->files, list) {
			f->fd = -1;
			luo_file_unlink(core, f);
		}
		luo_session_destroy(core, s);
	}
	free(core->flbs_in);
	core->flbs_in = NULL;
	core->nr_flbs_in = 0;
}

/**
 * luo_handover_read() - take over what the previous image handed over
 * @core:    a core with its handlers registered and no incoming session
 * @blob:    the handover
 * @len:     its length
 * @info:    out: the rest of what the previous image said
 * @why:     out: on failure, what was wrong, for the log
 * @why_len: size of @why
 *
 * Everything is checked before anything is believed: checksum, tree
 * structure, format, every property, every inherited fd (open, used once,
 * the same inode as written), a handler for every file, unique names and
 * tokens, the limits.  On success every session is incoming and the update
 * number is the one written.  The inherited file fds keep close-on-exec
 * off until luo_core_prepare_exec().  On failure nothing is installed and no fd is closed.
 *
 * Return: 0, -EINVAL (see @why) or -ENOMEM.
 */
int luo_handover_read(struct luo_core *core, const void *blob, size_t len,
		      struct luo_handover_info *info, char *why, size_t why_len)
{
	struct reader r = { .core = core, .why = why, .why_len = why_len };
	int ret;

	snprintf(why, why_len, "out of memory");
	if (!list_empty(&core->incoming) || core->nr_flbs_in)
		return fail(&r, "the core already has incoming state");
	memset(info, 0, sizeof(*info));
	ret = check_blob(&r, blob, len);
	if (ret)
		return ret;
	r.fd_max = (int)sysconf(_SC_OPEN_MAX);
	r.fd_seen = calloc((size_t)r.fd_max + 1, 1);
	if (!r.fd_seen)
		return -ENOMEM;
	ret = read_root(&r, info);
	free(r.fd_seen);
	if (ret) {
		read_rollback(core);
		return ret;
	}
	core->update_number = info->update_number;
	return 0;
}
