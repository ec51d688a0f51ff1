// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz target: the handover parser, luo_handover_read(), on a fresh core
 * with the memfd handler and the fake pipe handler registered.
 *
 * Input: one byte of flags, then the blob.  Flags ask for fix-ups that a
 * mutation cannot make by chance, so that the fuzzer gets past them into
 * the tree: FIX_SIZE sets the header's size word to the blob's length,
 * FIX_IDENTITY makes every record that names a pool fd (handover-edit.h)
 * carry that fd's type, device and inode, FIX_CRC recomputes the checksum
 * (last).  The seeds are real handovers from luo_handover_write()
 * (gen-handover-seeds.c) naming pool fds.
 *
 * Checks: no crash or leak; on failure nothing installed (STATUS counts
 * zero, update number 1) and no fd closed or leaked; on success the
 * counters agree with LIST, the update number is the one written, and
 * every session can be retrieved, its files retrieved and finished.
 * With LUO_FUZZ_VERBOSE set in the environment, each input's verdict is
 * printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "fake-handler.h"
#include "fuzz.h"
#include "handlers.h"
#include "handover-edit.h"
#include "luo_core.h"

#define FIX_SIZE	(1u << 0)
#define FIX_IDENTITY	(1u << 1)
#define FIX_CRC		(1u << 2)

/* Fds below this are watched: the core may take any it finds valid. */
#define WATCH_FDS	512

struct run {
	struct luo_core *core;
	struct luo_file_handler memfd;
	struct fz_fake fake;
	bool open_before[WATCH_FDS];
	int backup[WATCH_FDS];
};

/**
 * LLVMFuzzerInitialize() - libFuzzer's set-up: open the pool fds at the numbers handovers name
 * @argc: unused
 * @argv: unused
 *
 * Return: 0.
 */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	ho_pool_init();
	return 0;
}

static void core_start(struct run *r)
{
	r->core = luo_core_new(NULL);
	FZ_CHECK(r->core, "luo_core_new");
	luo_memfd_handler_init(&r->memfd);
	fz_fake_init(&r->fake);
	FZ_CHECK(!luo_register_file_handler(r->core, &r->memfd) &&
		 !luo_register_file_handler(r->core, &r->fake.h),
		 "registering the handlers");
}

static void ioctl_ok(struct luo_core *core, struct luo_session *s,
		     uint32_t cmd, void *arg, uint32_t len,
		     struct luo_call *call)
{
	int ret;

	luo_call_init(call, cmd, arg, len, -1);
	ret = s ? luo_core_session_ioctl(core, s, call) :
		  luo_core_device_ioctl(core, call);
	FZ_CHECK(ret == 0, "cmd %#x: %d", cmd, ret);
}

static void status(struct luo_core *core, struct luo_status *st)
{
	struct luo_call call;

	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	ioctl_ok(core, NULL, LUO_IOCTL_STATUS, st, sizeof(*st), &call);
}

/* Retrieve every file of an incoming session, then finish and close it. */
static void drain_session(struct run *r, const char *name,
			  const uint64_t *tokens, uint32_t n)
{
	struct liveupdate_ioctl_retrieve_session rs = { .size = sizeof(rs) };
	struct liveupdate_session_finish fin = { .size = sizeof(fin) };
	struct luo_call call;
	struct luo_session *s;

	memcpy(rs.name, name, sizeof(rs.name));
	ioctl_ok(r->core, NULL, LIVEUPDATE_IOCTL_RETRIEVE_SESSION, &rs,
		 sizeof(rs), &call);
	s = call.out_session;
	for (uint32_t i = 0; i < n; i++) {
		struct liveupdate_session_retrieve_fd rf = {
			.size = sizeof(rf), .token = tokens[i],
		};
		int ret;

		luo_call_init(&call, LIVEUPDATE_SESSION_RETRIEVE_FD, &rf,
			      sizeof(rf), -1);
		ret = luo_core_session_ioctl(r->core, s, &call);
		FZ_CHECK(ret <= 0 && (ret == 0) == (call.out_fd >= 0),
			 "RETRIEVE_FD: %d, fd %d", ret, call.out_fd);
		if (call.out_fd >= 0)
			close(call.out_fd);
	}
	ioctl_ok(r->core, s, LIVEUPDATE_SESSION_FINISH, &fin, sizeof(fin),
		 &call);
	luo_core_session_release(r->core, s);
}

/* The first session LIST shows, with its file tokens; false if none. */
static bool first_session(struct run *r, char *name, uint64_t *tokens,
			  uint32_t *n)
{
	static struct luo_list_record recs[LUO_LIST_PAGE_RECORDS];
	struct luo_list l = { .size = sizeof(l) };
	struct luo_call call;

	luo_call_init(&call, LUO_IOCTL_LIST, &l, sizeof(l), -1);
	call.extra = recs;
	call.extra_cap = sizeof(recs);
	FZ_CHECK(luo_core_device_ioctl(r->core, &call) == 0, "LIST");
	if (!l.nr_records)
		return false;
	FZ_CHECK(recs[0].type == LUO_LIST_SESSION &&
		 recs[0].direction == LUO_INCOMING &&
		 recs[0].state == LUO_SESSION_OPEN, "LIST: not a new session");
	memcpy(name, recs[0].name, LIVEUPDATE_SESSION_NAME_LENGTH);
	*n = 0;
	for (uint32_t i = 1; i < l.nr_records &&
	     recs[i].type == LUO_LIST_FILE; i++)
		tokens[(*n)++] = recs[i].token;
	FZ_CHECK(*n <= recs[0].nr_files && (*n == recs[0].nr_files ||
					     *n == l.nr_records - 1),
		 "LIST: %u files of %u", *n, recs[0].nr_files);
	return true;
}

/*
 * An UPGRADE's handover (v2) restores every session as it was: outgoing
 * ones first in LIST, incoming ones in any state.  Walk the whole listing.
 */
static void list_all(struct run *r)
{
	static struct luo_list_record recs[LUO_LIST_PAGE_RECORDS];
	struct luo_list l = { .size = sizeof(l) };
	struct luo_call call;
	unsigned int pages = 0;

	do {
		luo_call_init(&call, LUO_IOCTL_LIST, &l, sizeof(l), -1);
		call.extra = recs;
		call.extra_cap = sizeof(recs);
		FZ_CHECK(luo_core_device_ioctl(r->core, &call) == 0, "LIST");
		FZ_CHECK(++pages < 100000, "LIST does not end");
	} while (!l.done);
}

/* The handover was taken: use all of it, then end the core. */
static void use_all(struct run *r, const struct luo_handover_info *info)
{
	static uint64_t tokens[LUO_LIST_PAGE_RECORDS];
	char name[LIVEUPDATE_SESSION_NAME_LENGTH];
	struct luo_status st;
	uint32_t n;

	status(r->core, &st);
	/* An UPGRADE's handover (v2) keeps outgoing sessions outgoing. */
	FZ_CHECK(st.update_number == info->update_number &&
		 (info->upgrade || !st.nr_outgoing), "STATUS after a handover");
	if (info->upgrade) {
		list_all(r);
		return;
	}
	for (uint32_t i = 0; first_session(r, name, tokens, &n); i++) {
		FZ_CHECK(i < st.nr_incoming, "a finished session stays");
		drain_session(r, name, tokens, n);
	}
	status(r->core, &st);
	FZ_CHECK(!st.nr_incoming && !st.nr_files,
		 "%u sessions and %llu files left after finishing them all",
		 st.nr_incoming, (unsigned long long)st.nr_files);
}

static void watch_fds(struct run *r)
{
	for (int fd = 0; fd < WATCH_FDS; fd++) {
		r->open_before[fd] = fz_fd_open(fd);
		r->backup[fd] = -1;
	}
}

/* Keep a copy of every watched fd: the core closes those it took. */
static void backup_fds(struct run *r)
{
	for (int fd = 0; fd < WATCH_FDS; fd++) {
		if (!r->open_before[fd])
			continue;
		r->backup[fd] = fcntl(fd, F_DUPFD_CLOEXEC, WATCH_FDS);
		FZ_CHECK(r->backup[fd] >= 0, "backup of fd %d", fd);
	}
}

static void restore_fds(struct run *r)
{
	for (int fd = 0; fd < WATCH_FDS; fd++) {
		if (r->backup[fd] < 0)
			continue;
		if (!fz_fd_open(fd))
			FZ_CHECK(dup3(r->backup[fd], fd, O_CLOEXEC) == fd,
				 "restore fd %d", fd);
		close(r->backup[fd]);
	}
}

/* A refused handover: nothing installed, no fd closed. */
static void check_refused(struct run *r)
{
	struct luo_status st;

	status(r->core, &st);
	FZ_CHECK(!st.nr_incoming && !st.nr_outgoing && !st.nr_files &&
		 st.update_number == 1, "a refused handover left %u sessions, %llu files, update %llu",
		 st.nr_incoming, (unsigned long long)st.nr_files,
		 (unsigned long long)st.update_number);
	for (int fd = 0; fd < WATCH_FDS; fd++)
		FZ_CHECK(!r->open_before[fd] || fz_fd_open(fd),
			 "a refused handover closed fd %d", fd);
}

static uint8_t *make_blob(const uint8_t *data, size_t size, size_t *len)
{
	uint8_t flags = size ? data[0] : 0;
	uint8_t *blob;

	*len = size ? size - 1 : 0;
	blob = malloc(*len ? *len : 1);
	FZ_CHECK(blob, "out of memory");
	memcpy(blob, data + 1, *len);
	if (*len < HO_HDR_SIZE)
		return blob;
	if (flags & FIX_SIZE)
		ho_set_size(blob, *len);
	if (flags & FIX_IDENTITY)
		ho_for_each_record(blob, *len, ho_fix_identity, NULL);
	if (flags & FIX_CRC)
		ho_set_crc(blob, *len);
	return blob;
}

/**
 * LLVMFuzzerTestOneInput() - libFuzzer's entry: read one handover into a fresh core
 * @data: the input
 * @size: its length
 *
 * Return: 0; a failed check aborts.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run r;
	struct luo_handover_info info;
	int fds = fz_count_fds(), ret;
	char why[256];
	uint8_t *blob;
	size_t len;

	blob = make_blob(data, size, &len);
	watch_fds(&r);
	core_start(&r);
	ret = luo_handover_read(r.core, blob, len, &info, why, sizeof(why));
	FZ_CHECK(ret == 0 || ret == -EINVAL || ret == -ENOMEM,
		 "luo_handover_read: %d", ret);
	FZ_CHECK(strnlen(why, sizeof(why)) < sizeof(why), "why unterminated");
	if (getenv("LUO_FUZZ_VERBOSE"))
		fprintf(stderr, "handover: %s\n", ret ? why : "taken");
	if (ret) {
		check_refused(&r);
		luo_core_free(r.core);
	} else {
		backup_fds(&r);
		use_all(&r, &info);
		luo_core_free(r.core);
		restore_fds(&r);
	}
	free(blob);
	FZ_CHECK(fz_count_fds() == fds, "%d fds open, %d before", fz_count_fds(),
		 fds);
	return 0;
}
