// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Writes the seed corpus of fuzz-handover: real handovers written by
 * luo_handover_write() over sessions whose files are the pool fds of
 * handover-edit.h, each prefixed with the fuzzer's flag byte asking for
 * every fix-up (the inode numbers of the pool differ in the fuzzer).
 *
 * Usage: gen-handover-seeds DIR
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fake-handler.h"
#include "fuzz.h"
#include "handlers.h"
#include "handover-edit.h"
#include "luo_core.h"

/* The fuzzer's flags: size, identities and CRC fixed up. */
#define ALL_FIXUPS	0x07

struct seed_file {
	int pool;		/* index in the pool */
	uint64_t token;
};

struct seed_session {
	const char *name;
	struct seed_file files[3];
	int nfiles;
};

struct seed {
	const char *file;
	int reply_fd;		/* pool index or -1 */
	int self_fd;
	struct seed_session sessions[3];
	int nsessions;
};

static const struct seed seeds[] = {
	{ "empty", -1, -1, { { 0 } }, 0 },
	{ "one-memfd", -1, -1, { { "a", { { 0, 1 } }, 1 } }, 1 },
	{ "three-sessions", 5, 6, {
		{ "a", { { 0, 1 }, { 1, 2 }, { 2, 0xffffffffffffffffull } }, 3 },
		{ "b", { { 4, 7 } }, 1 },
		{ "c", { { 0 } }, 0 },
	}, 3 },
	{ "pipe-and-memfd", -1, 6, {
		{ "session-with-a-rather-long-name-of-63-characters-xxxxxxxxxxxxxxx",
		  { { 4, 0 }, { 3, 1 } }, 2 },
	}, 1 },
};

/* Make the record name the pool fd of the same inode, not the core's dup. */
static void to_pool(uint8_t *rec, void *ctx)
{
	struct stat want, st;
	uint32_t fd;

	memcpy(&fd, rec + HO_REC_FD, sizeof(fd));
	FZ_CHECK(!fstat((int)be32toh(fd), &want), "record fd");
	for (int i = 0; i < HO_POOL_N; i++) {
		if (!fstat(HO_POOL_BASE + i, &st) && st.st_ino == want.st_ino &&
		    st.st_dev == want.st_dev) {
			fd = htobe32((uint32_t)(HO_POOL_BASE + i));
			memcpy(rec + HO_REC_FD, &fd, sizeof(fd));
			return;
		}
	}
	FZ_CHECK(0, "fd %u is no pool fd", be32toh(fd));
}

static struct luo_session *create(struct luo_core *core, const char *name)
{
	struct liveupdate_ioctl_create_session c = { .size = sizeof(c) };
	struct luo_call call;

	snprintf((char *)c.name, sizeof(c.name), "%s", name);
	luo_call_init(&call, LIVEUPDATE_IOCTL_CREATE_SESSION, &c, sizeof(c), -1);
	FZ_CHECK(!luo_core_device_ioctl(core, &call), "create %s", name);
	return call.out_session;
}

static void preserve(struct luo_core *core, struct luo_session *s,
		     const struct seed_file *f)
{
	struct liveupdate_session_preserve_fd p = {
		.size = sizeof(p), .token = f->token,
	};
	struct luo_call call;

	luo_call_init(&call, LIVEUPDATE_SESSION_PRESERVE_FD, &p, sizeof(p),
		      HO_POOL_BASE + f->pool);
	FZ_CHECK(!luo_core_session_ioctl(core, s, &call), "preserve");
}

static void save(const char *dir, const char *file, const uint8_t *blob,
		 size_t len)
{
	uint8_t flags = ALL_FIXUPS;
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "wbe");
	FZ_CHECK(f && fwrite(&flags, 1, 1, f) == 1 &&
		 fwrite(blob, 1, len, f) == len && !fclose(f), "%s", path);
}

static void write_seed(const char *dir, const struct seed *sd)
{
	struct luo_handover_info info = {
		.update_number = 2,
		.listen_fd = HO_LISTEN_FD,
		.reply_fd = sd->reply_fd < 0 ? -1 : HO_POOL_BASE + sd->reply_fd,
		.reply_size = 16,
		.self_fd = sd->self_fd < 0 ? -1 : HO_POOL_BASE + sd->self_fd,
		.reboot_start_ns = 123456789,
	};
	struct luo_file_handler memfd;
	struct luo_core *core = luo_core_new(NULL);
	struct fz_fake fake;
	void *blob;
	size_t len;

	luo_memfd_handler_init(&memfd);
	fz_fake_init(&fake);
	FZ_CHECK(core && !luo_register_file_handler(core, &memfd) &&
		 !luo_register_file_handler(core, &fake.h), "core");
	for (int i = 0; i < sd->nsessions; i++) {
		struct luo_session *s = create(core, sd->sessions[i].name);

		for (int j = 0; j < sd->sessions[i].nfiles; j++)
			preserve(core, s, &sd->sessions[i].files[j]);
	}
	FZ_CHECK(!luo_core_freeze(core), "freeze");
	FZ_CHECK(!luo_handover_write(core, &info, &blob, &len), "write");
	FZ_CHECK(!ho_for_each_record(blob, len, to_pool, NULL), "records");
	ho_set_crc(blob, len);
	save(dir, sd->file, blob, len);
	free(blob);
	luo_core_free(core);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 1;
	}
	ho_pool_init();
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
		write_seed(argv[1], &seeds[i]);
	return 0;
}
