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
 *       sessions { session@N { name = "..";
 *           file@M { compatible = ".."; token = <u64>; fd = <u32>;
 *                    data = [..]; dev = <u64>; ino = <u64>; mode = <u32>; };
 *       }; };
 *       flbs { flb@N { compatible = ".."; data = <u64>; count = <u64>; }; };
 *   };
 *
 * Sessions are in creation order and files in preservation order.  Every
 * preserved fd crosses the exec under the number recorded here; the reader
 * checks that each one is still the file that was written down.
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

/* ---- writing ---------------------------------------------------------- */

static int put_u32(void *fdt, const char *name, uint32_t v)
{
	return fdt_property_u32(fdt, name, v);
}

static int put_u64(void *fdt, const char *name, uint64_t v)
{
	return fdt_property_u64(fdt, name, v);
}

/* A system error met while writing, told apart from libfdt's errors. */
#define WRITE_SYS_ERROR	(-FDT_ERR_MAX - 1)

static int write_file(void *fdt, const struct luo_file *f, uint32_t idx,
		      int *sys_err)
{
	char node[32];
	struct stat st;
	int err;

	if (fstat(f->fd, &st)) {
		*sys_err = -errno;
		return WRITE_SYS_ERROR;
	}
	snprintf(node, sizeof(node), "file@%u", idx);
	err = fdt_begin_node(fdt, node);
	err = err ?: fdt_property_string(fdt, "compatible",
					 f->handler->compatible);
	err = err ?: put_u64(fdt, "token", f->token);
	err = err ?: put_u32(fdt, "fd", (uint32_t)f->fd);
	err = err ?: fdt_property(fdt, "data", f->data, (int)f->data_len);
	err = err ?: put_u64(fdt, "dev", st.st_dev);
	err = err ?: put_u64(fdt, "ino", st.st_ino);
	err = err ?: put_u32(fdt, "mode", st.st_mode);
	err = err ?: fdt_end_node(fdt);
	return err;
}

static int write_session(void *fdt, const struct luo_session *s, uint32_t idx,
			 int *sys_err)
{
	const struct luo_file *f;
	uint32_t i = 0;
	char node[32];
	int err;

	snprintf(node, sizeof(node), "session@%u", idx);
	err = fdt_begin_node(fdt, node);
	err = err ?: fdt_property_string(fdt, "name", s->name);
	if (err)
		return err;
	list_for_each_entry(f, &s->files, list) {
		err = write_file(fdt, f, i++, sys_err);
		if (err)
			return err;
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
		      const struct luo_handover_info *info, int *sys_err)
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
		err = write_session(fdt, s, i++, sys_err);
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
		      const struct luo_handover_info *info, int *sys_err)
{
	int err = fdt_create(fdt, (int)size);

	err = err ?: fdt_finish_reservemap(fdt);
	err = err ?: write_root(core, fdt, info, sys_err);
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
 * Return: 0, -ENOMEM, -EOVERFLOW if it would not fit 2 GiB, or the -errno
 * of an fstat() of a preserved fd.
 */
int luo_handover_write(struct luo_core *core,
		       const struct luo_handover_info *info,
		       void **blob, size_t *len)
{
	size_t size = 4096 + core->nr_outgoing * 128 + core->nr_files * 320;
	struct handover_header *hdr;
	int err, sys_err = 0;

	for (;;) {
		if (size > INT32_MAX)
			return -EOVERFLOW;
		hdr = calloc(1, sizeof(*hdr) + size);
		if (!hdr)
			return -ENOMEM;
		err = write_tree(core, hdr + 1, size, info, &sys_err);
		if (err != -FDT_ERR_NOSPACE)
			break;
		free(hdr);
		size *= 2;
	}
	if (err) {
		free(hdr);
		luo_core_log(core, LUO_LOG_ERR, "handover: %s",
			     err == WRITE_SYS_ERROR ? strerror(-sys_err) :
			     fdt_strerror(err));
		return err == WRITE_SYS_ERROR ? sys_err : -EINVAL;
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

static int get_u64(struct reader *r, int node, const char *name, uint64_t *v)
{
	int len;
	const fdt64_t *p = fdt_getprop(r->fdt, node, name, &len);

	if (!p || len != sizeof(*p))
		return fail(r, "%s: missing or malformed '%s'",
			    fdt_get_name(r->fdt, node, NULL), name);
	*v = fdt64_ld(p);
	return 0;
}

static int get_u32(struct reader *r, int node, const char *name, uint32_t *v)
{
	int len;
	const fdt32_t *p = fdt_getprop(r->fdt, node, name, &len);

	if (!p || len != sizeof(*p))
		return fail(r, "%s: missing or malformed '%s'",
			    fdt_get_name(r->fdt, node, NULL), name);
	*v = fdt32_ld(p);
	return 0;
}

/* A NUL-terminated string property of 1 to @max - 1 characters. */
static const char *get_str(struct reader *r, int node, const char *name,
			   size_t max)
{
	int len;
	const char *p = fdt_getprop(r->fdt, node, name, &len);

	if (!p || len < 2 || (size_t)len > max || p[len - 1] ||
	    strlen(p) != (size_t)len - 1) {
		fail(r, "%s: missing or malformed '%s'",
		     fdt_get_name(r->fdt, node, NULL), name);
		return NULL;
	}
	return p;
}

/* An inherited fd: open, used once, and still the file written down. */
static int check_fd(struct reader *r, int node, uint32_t fd, bool is_file)
{
	uint64_t dev = 0, ino = 0;
	uint32_t mode = 0;
	struct stat st;

	if (fd > INT32_MAX || fcntl((int)fd, F_GETFD) < 0)
		return fail(r, "%s: fd %u is not open",
			    fdt_get_name(r->fdt, node, NULL), fd);
	if ((int)fd <= r->fd_max) {
		if (r->fd_seen[fd])
			return fail(r, "%s: fd %u used twice",
				    fdt_get_name(r->fdt, node, NULL), fd);
		r->fd_seen[fd] = 1;
	}
	if (!is_file)
		return 0;
	if (get_u64(r, node, "dev", &dev) || get_u64(r, node, "ino", &ino) ||
	    get_u32(r, node, "mode", &mode))
		return -EINVAL;
	if (fstat((int)fd, &st) || st.st_dev != dev || st.st_ino != ino ||
	    st.st_mode != mode)
		return fail(r, "%s: fd %u is not the file that was preserved",
			    fdt_get_name(r->fdt, node, NULL), fd);
	return 0;
}

static int read_file(struct reader *r, struct luo_session *s, int node)
{
	struct luo_file_handler *h;
	const char *compat;
	const void *data;
	struct luo_file *f;
	uint64_t token = 0;
	uint32_t fd = 0;
	int len;

	compat = get_str(r, node, "compatible", LIVEUPDATE_HNDL_COMPAT_LENGTH);
	if (!compat || get_u64(r, node, "token", &token) ||
	    get_u32(r, node, "fd", &fd) || check_fd(r, node, fd, true))
		return -EINVAL;
	h = luo_find_file_handler(r->core, compat);
	if (!h)
		return fail(r, "session '%s': no handler '%s' in this image",
			    s->name, compat);
	data = fdt_getprop(r->fdt, node, "data", &len);
	if (!data || len < 0 || len > LUO_FILE_DATA_MAX)
		return fail(r, "session '%s': bad handler data", s->name);
	if (luo_file_find(s, token))
		return fail(r, "session '%s': token %llu twice", s->name,
			    (unsigned long long)token);
	f = luo_file_alloc(s, h, token);
	if (!f)
		return -ENOMEM;
	memcpy(f->data, data, (size_t)len);
	f->data_len = (uint32_t)len;
	f->fd = (int)fd;
	if (luo_file_key_of(h, f->fd, &f->key) || luo_file_link(r->core, f)) {
		free(f);
		return fail(r, "session '%s': out of memory", s->name);
	}
	return 0;
}

static int read_session(struct reader *r, int node)
{
	const char *name = get_str(r, node, "name", LIVEUPDATE_SESSION_NAME_LENGTH);
	struct luo_session *s;
	int child, ret;

	if (!name)
		return -EINVAL;
	if (luo_session_find(r->core, name, true))
		return fail(r, "session '%s' twice", name);
	if (r->core->nr_incoming >= r->core->max_sessions)
		return fail(r, "more sessions than this image allows (%u)",
			    r->core->max_sessions);
	s = luo_session_new(r->core, name, true);
	if (!s)
		return -ENOMEM;
	fdt_for_each_subnode(child, r->fdt, node) {
		if (s->nr_files >= r->core->max_files)
			return fail(r, "session '%s': more files than this image allows (%u)",
				    name, r->core->max_files);
		ret = read_file(r, s, child);
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
		const char *c = get_str(r, child, "compatible",
					LIVEUPDATE_FLB_COMPAT_LENGTH);

		if (!c || get_u64(r, child, "data", &in->data) ||
		    get_u64(r, child, "count", &in->count))
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
	err = fdt_check_full(r->fdt, hdr->size);
	if (err)
		return fail(r, "malformed tree: %s", fdt_strerror(err));
	return 0;
}

static int read_root(struct reader *r, struct luo_handover_info *info)
{
	const char *compat = fdt_getprop(r->fdt, 0, "compatible", NULL);
	uint32_t v = 0;
	int node, child, ret;

	if (!compat || strcmp(compat, HANDOVER_COMPATIBLE))
		return fail(r, "unknown handover format '%s'",
			    compat ? compat : "(none)");
	if (get_u64(r, 0, "update-number", &info->update_number) ||
	    get_u64(r, 0, "reboot-start-ns", &info->reboot_start_ns) ||
	    get_u32(r, 0, "listen-fd", &v) || check_fd(r, 0, v, false))
		return -EINVAL;
	info->listen_fd = (int)v;
	info->reply_fd = -1;
	info->self_fd = -1;
	if (fdt_getprop(r->fdt, 0, "reply-fd", NULL)) {
		if (get_u32(r, 0, "reply-fd", &v) || check_fd(r, 0, v, false) ||
		    get_u32(r, 0, "reply-size", &info->reply_size))
			return -EINVAL;
		info->reply_fd = (int)v;
	}
	if (fdt_getprop(r->fdt, 0, "self-fd", NULL)) {
		if (get_u32(r, 0, "self-fd", &v) || check_fd(r, 0, v, false))
			return -EINVAL;
		info->self_fd = (int)v;
	}
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

static int set_cloexec(void *ctx, int fd)
{
	return fcntl(fd, F_SETFD, FD_CLOEXEC) ? -errno : 0;
}

static void cloexec_incoming(struct luo_core *core)
{
	struct luo_session *s;
	struct luo_file *f;

	list_for_each_entry(s, &core->incoming, list)
		list_for_each_entry(f, &s->files, list)
			set_cloexec(NULL, f->fd);
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
 * number is the one written; the inherited file fds are close-on-exec
 * again.  On failure nothing is installed and no fd is closed.
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
	cloexec_incoming(core);
	return 0;
}
