// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * kexec-client: the libluo client of the kexec scenarios (README here).
 *
 *   kexec-client create [--dax] [KILLS] [-- CMD ARG...]
 *   kexec-client carry  [--dax] [-- CMD ARG...]
 *   kexec-client check  [--dax]
 *   kexec-client gone   NAME...
 *
 * create: sessions holding pool files (luo_pool_memfd: one of 72 MiB
 * written through a shared mapping that stays mapped, five small ones
 * written with write()), two ordinary memfds (one sealed) and a manifest
 * memfd (the run's nonce, every file's size and SHA-256).  check: retrieve
 * every session and file, verify each byte against the pattern and each
 * digest against the manifest, finish.  carry: check, then preserve the
 * retrieved files again in new sessions of the same names (the next
 * attempt after a failed one).  gone: no session NAME can be retrieved
 * (ENOENT): a handover is read once.  --dax: pool files must be DAX
 * (STATX_ATTR_DAX).
 *
 * With CMD (liveupdatectl reboot --kexec ...), create and carry run it
 * while holding every fd: the machine should vanish into the new kernel,
 * so CMD returning at all is a failure.
 *
 * KILLS are --pool-dir DIR (the pool's mount point), --pool DEV and one
 * or more --kill-at NAME: CMD runs once per NAME, and as soon as NAME
 * appears in DIR (created or renamed there: "handover.new" once REBOOT
 * --kexec has frozen the sessions and writes the handover, "handover" once
 * it is complete, while the kernel is being loaded) every liveupdated
 * process is killed with SIGKILL, and the client waits until they are
 * gone and CMD has ended (its status tells nothing: liveupdatectl takes a
 * connection that ends unanswered for the kexec under way).  Between two
 * kills it starts liveupdated --pool DEV again, checks that no session
 * came back (ENOENT) and preserves the files it still holds again; after
 * the last kill it exits 0 without another request.
 *
 * Exit 0 on success, 1 with a message on stderr otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "dataset.h"
#include "kexec-run.h"
#include "sha256.h"

#ifndef STATX_ATTR_DAX
#define STATX_ATTR_DAX 0x00200000
#endif

#define MIB		(1024ull * 1024)
#define CHUNK		(1u << 20)
#define MANIFEST	"manifest"
#define MANIFEST_TOKEN	99
#define MEMFD_SEALS	(F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

enum kind { POOL_MMAP, POOL_WRITE, MEMFD, MEMFD_SEALED };

struct item {
	const char *session;
	uint64_t token;
	enum kind kind;
	uint64_t size;
	int fd;
	char sha[SHA256_HEX_SIZE];
};

static struct item items[] = {
	{ "pool-big", 1, POOL_MMAP, 72 * MIB, -1, "" },
	{ "pool-small", 10, POOL_WRITE, 1, -1, "" },
	{ "pool-small", 11, POOL_WRITE, 4095, -1, "" },
	{ "pool-small", 12, POOL_WRITE, 4096, -1, "" },
	{ "pool-small", 13, POOL_WRITE, 65537, -1, "" },
	{ "pool-small", 14, POOL_WRITE, MIB + 3, -1, "" },
	{ "memfd", 20, MEMFD, 16 * MIB, -1, "" },
	{ "memfd", 21, MEMFD_SEALED, 12345, -1, "" },
};
#define NITEMS (sizeof(items) / sizeof(items[0]))

/* Session names, the manifest's last. */
static const char *const sessions[] = { "pool-big", "pool-small", "memfd",
					MANIFEST };
#define NSESSIONS (sizeof(sessions) / sizeof(sessions[0]))

static uint64_t nonce;
static bool want_dax;
static void *big_map;	/* pool-big's mapping: stays mapped across a kexec */

static bool is_pool(enum kind k)
{
	return k == POOL_MMAP || k == POOL_WRITE;
}

static void write_all(int fd, const void *buf, size_t len, off_t off)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = pwrite(fd, p, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("pwrite: %s", n ? strerror(errno) : "wrote nothing");
		p += n;
		len -= (size_t)n;
		off += n;
	}
}

static void check_dax(const struct item *it, int fd)
{
	struct statx stx;

	if (!want_dax || !is_pool(it->kind))
		return;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx))
		die("statx %s/%" PRIu64 ": %s", it->session, it->token,
		    strerror(errno));
	if (!(stx.stx_attributes_mask & STATX_ATTR_DAX) ||
	    !(stx.stx_attributes & STATX_ATTR_DAX))
		die("%s/%" PRIu64 ": the pool file is not DAX", it->session,
		    it->token);
}

/* Fill a new file with its pattern and record its digest. */
static void fill(struct item *it, int devfd)
{
	uint64_t seed = pattern_seed(nonce, it->token);
	static char buf[CHUNK];
	struct sha256 s;
	uint8_t d[SHA256_DIGEST_SIZE];
	char label[64];
	int fd;

	snprintf(label, sizeof(label), "%s-%" PRIu64, it->session, it->token);
	if (is_pool(it->kind)) {
		fd = luo_pool_memfd(devfd, label, MFD_CLOEXEC);
		if (fd < 0)
			die("luo_pool_memfd %s: %s", label, strerror(-fd));
	} else {
		fd = memfd_create(label, MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (fd < 0)
			die("memfd_create: %s", strerror(errno));
	}
	if (ftruncate(fd, (off_t)it->size))
		die("ftruncate %s: %s", label, strerror(errno));
	check_dax(it, fd);
	sha256_init(&s);
	if (it->kind == POOL_MMAP) {
		/* Through the mapping, with no msync: making it durable is
		 * the daemon's job at REBOOT --kexec. */
		big_map = mmap(NULL, it->size, PROT_READ | PROT_WRITE,
			       MAP_SHARED, fd, 0);
		if (big_map == MAP_FAILED)
			die("mmap %s: %s", label, strerror(errno));
		pattern_fill(seed, 0, big_map, it->size);
		sha256_update(&s, big_map, it->size);
	} else {
		for (uint64_t off = 0; off < it->size; off += CHUNK) {
			size_t n = it->size - off < CHUNK ? it->size - off
							  : CHUNK;

			pattern_fill(seed, off, buf, n);
			sha256_update(&s, buf, n);
			write_all(fd, buf, n, (off_t)off);
		}
	}
	if (it->kind == MEMFD_SEALED && fcntl(fd, F_ADD_SEALS, MEMFD_SEALS))
		die("F_ADD_SEALS: %s", strerror(errno));
	sha256_final(&s, d);
	sha256_hex(d, it->sha);
	it->fd = fd;
}

/* Compare a retrieved file with its pattern and its recorded digest. */
static void verify(const struct item *it, int fd)
{
	uint64_t seed = pattern_seed(nonce, it->token);
	static char want[CHUNK], got[CHUNK];
	uint8_t d[SHA256_DIGEST_SIZE];
	char hex[SHA256_HEX_SIZE];
	struct sha256 s;
	const char *map = NULL;
	struct stat st;
	ssize_t r;
	int seals;

	if (fstat(fd, &st))
		die("fstat: %s", strerror(errno));
	if ((uint64_t)st.st_size != it->size)
		die("%s/%" PRIu64 ": size %lld, not %" PRIu64, it->session,
		    it->token, (long long)st.st_size, it->size);
	check_dax(it, fd);
	if (it->kind == POOL_MMAP) {
		map = mmap(NULL, it->size, PROT_READ, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED)
			die("mmap: %s", strerror(errno));
	}
	sha256_init(&s);
	for (uint64_t off = 0; off < it->size; off += CHUNK) {
		size_t n = it->size - off < CHUNK ? it->size - off : CHUNK;
		const char *p = got;

		pattern_fill(seed, off, want, n);
		if (map) {
			p = map + off;
		} else {
			r = pread(fd, got, n, (off_t)off);
			if (r != (ssize_t)n)
				die("pread %s/%" PRIu64 ": %s", it->session,
				    it->token, r < 0 ? strerror(errno)
						     : "short read");
		}
		if (memcmp(p, want, n)) {
			size_t i = 0;

			while (p[i] == want[i])
				i++;
			die("%s/%" PRIu64 ": byte %" PRIu64 " differs",
			    it->session, it->token, off + i);
		}
		sha256_update(&s, p, n);
	}
	if (map)
		munmap((void *)map, it->size);
	sha256_final(&s, d);
	sha256_hex(d, hex);
	if (strcmp(hex, it->sha))
		die("%s/%" PRIu64 ": SHA-256 %s, the manifest says %s",
		    it->session, it->token, hex, it->sha);
	if (it->kind == MEMFD_SEALED) {
		seals = fcntl(fd, F_GET_SEALS);
		if (seals < 0 || (seals & MEMFD_SEALS) != MEMFD_SEALS)
			die("%s/%" PRIu64 ": seals %#x, not %#x", it->session,
			    it->token, seals, MEMFD_SEALS);
	}
	printf("verified %s/%" PRIu64 " %" PRIu64 " bytes sha256 %s\n",
	       it->session, it->token, it->size, hex);
}

static int make_manifest(void)
{
	char line[256];
	size_t i;
	int fd, n;
	off_t off;

	fd = memfd_create(MANIFEST, MFD_CLOEXEC);
	if (fd < 0)
		die("memfd_create: %s", strerror(errno));
	n = snprintf(line, sizeof(line), "nonce %016" PRIx64 "\n", nonce);
	write_all(fd, line, (size_t)n, 0);
	off = n;
	for (i = 0; i < NITEMS; i++) {
		n = snprintf(line, sizeof(line), "%s %" PRIu64 " %" PRIu64
			     " %s\n", items[i].session, items[i].token,
			     items[i].size, items[i].sha);
		write_all(fd, line, (size_t)n, off);
		off += n;
	}
	return fd;
}

static void read_manifest(int fd)
{
	char text[4096], session[64], sha[SHA256_HEX_SIZE + 1];
	uint64_t token, size;
	ssize_t len;
	char *p, *nl;
	size_t i;

	len = pread(fd, text, sizeof(text) - 1, 0);
	if (len <= 0)
		die("manifest: %s", len ? strerror(errno) : "empty");
	text[len] = 0;
	if (sscanf(text, "nonce %" SCNx64, &nonce) != 1)
		die("manifest: no nonce");
	p = strchr(text, '\n');
	for (i = 0; i < NITEMS; i++) {
		if (!p || sscanf(p + 1, "%63s %" SCNu64 " %" SCNu64 " %65s",
				 session, &token, &size, sha) != 4)
			die("manifest: line %zu missing", i + 2);
		nl = strchr(p + 1, '\n');
		if (strcmp(session, items[i].session) ||
		    token != items[i].token || size != items[i].size ||
		    strlen(sha) != SHA256_HEX_SIZE - 1)
			die("manifest: line %zu does not match", i + 2);
		memcpy(items[i].sha, sha, SHA256_HEX_SIZE);
		p = nl;
	}
}

static void preserve_all(int devfd, int manifest, int sfds[NSESSIONS])
{
	size_t i, j;
	int ret;

	for (j = 0; j < NSESSIONS; j++) {
		sfds[j] = luo_create_session(devfd, sessions[j]);
		if (sfds[j] < 0)
			die("create session %s: %s", sessions[j],
			    strerror(-sfds[j]));
	}
	for (i = 0; i < NITEMS; i++) {
		for (j = 0; strcmp(sessions[j], items[i].session); j++)
			;
		ret = luo_session_preserve_fd(sfds[j], items[i].fd,
					      items[i].token);
		if (ret)
			die("preserve %s/%" PRIu64 ": %s", items[i].session,
			    items[i].token, strerror(-ret));
	}
	ret = luo_session_preserve_fd(sfds[NSESSIONS - 1], manifest,
				      MANIFEST_TOKEN);
	if (ret)
		die("preserve the manifest: %s", strerror(-ret));
	printf("preserved %zu files in %zu sessions, nonce %016" PRIx64 "\n",
	       NITEMS + 1, NSESSIONS, nonce);
}

/* Retrieve, verify and finish everything; the files stay open in items. */
static int retrieve_all(int devfd)
{
	int sfds[NSESSIONS], manifest, ret;
	size_t i, j;

	for (j = 0; j < NSESSIONS; j++) {
		sfds[j] = luo_retrieve_session(devfd, sessions[j]);
		if (sfds[j] < 0)
			die("retrieve session %s: %s", sessions[j],
			    strerror(-sfds[j]));
	}
	manifest = luo_session_retrieve_fd(sfds[NSESSIONS - 1],
					   MANIFEST_TOKEN);
	if (manifest < 0)
		die("retrieve the manifest: %s", strerror(-manifest));
	read_manifest(manifest);
	for (i = 0; i < NITEMS; i++) {
		for (j = 0; strcmp(sessions[j], items[i].session); j++)
			;
		items[i].fd = luo_session_retrieve_fd(sfds[j], items[i].token);
		if (items[i].fd < 0)
			die("retrieve %s/%" PRIu64 ": %s", items[i].session,
			    items[i].token, strerror(-items[i].fd));
		verify(&items[i], items[i].fd);
	}
	for (j = 0; j < NSESSIONS; j++) {
		ret = luo_session_finish(sfds[j]);
		if (ret)
			die("finish %s: %s", sessions[j], strerror(-ret));
		close(sfds[j]);
	}
	printf("retrieved, verified and finished %zu files in %zu sessions\n",
	       NITEMS + 1, NSESSIONS);
	return manifest;
}

/* After a kill: no session of ours is incoming in the new daemon. */
static void check_gone(int devfd)
{
	size_t j;
	int sfd;

	for (j = 0; j < NSESSIONS; j++) {
		sfd = luo_retrieve_session(devfd, sessions[j]);
		if (sfd != -ENOENT)
			die("retrieve session %s: %s, not ENOENT", sessions[j],
			    sfd < 0 ? strerror(-sfd) : "retrieved");
	}
}

#define MAX_KILLS 4

int main(int argc, char **argv)
{
	const char *mode, *dir = NULL, *pool = NULL, *kill_at[MAX_KILLS];
	char **cmd = NULL;
	int devfd, manifest, sfds[NSESSIONS], i;
	size_t k, nkill = 0;

	if (argc < 2)
		die("usage: kexec-client create|carry|check [--dax] "
		    "[--pool DEV --pool-dir DIR --kill-at NAME...] "
		    "[-- CMD...] | gone NAME...");
	mode = argv[1];
	for (i = 2; i < argc && strcmp(mode, "gone"); i++) {
		if (!strcmp(argv[i], "--dax")) {
			want_dax = true;
		} else if (!strcmp(argv[i], "--pool") && i + 1 < argc) {
			pool = argv[++i];
		} else if (!strcmp(argv[i], "--pool-dir") && i + 1 < argc) {
			dir = argv[++i];
		} else if (!strcmp(argv[i], "--kill-at") && i + 1 < argc &&
			   nkill < MAX_KILLS) {
			kill_at[nkill++] = argv[++i];
		} else if (!strcmp(argv[i], "--") && i + 1 < argc) {
			cmd = argv + i + 1;
			break;
		} else {
			die("unknown argument %s", argv[i]);
		}
	}
	if (nkill && (!cmd || !dir || (nkill > 1 && !pool)))
		die("--kill-at needs a command and --pool-dir (and --pool to "
		    "start the daemon again between kills)");
	setvbuf(stdout, NULL, _IOLBF, 0);
	devfd = luo_open();
	if (devfd < 0)
		die("luo_open: %s", strerror(-devfd));
	if (!strcmp(mode, "gone")) {
		for (i = 2; i < argc; i++) {
			int sfd = luo_retrieve_session(devfd, argv[i]);

			if (sfd != -ENOENT)
				die("retrieve session %s: %s, not ENOENT",
				    argv[i], sfd < 0 ? strerror(-sfd)
						     : "retrieved");
		}
		printf("no session of %d can be retrieved\n", argc - 2);
		return 0;
	}
	if (!strcmp(mode, "create")) {
		if (getrandom(&nonce, sizeof(nonce), 0) != sizeof(nonce))
			die("getrandom: %s", strerror(errno));
		for (k = 0; k < NITEMS; k++)
			fill(&items[k], devfd);
		manifest = make_manifest();
		preserve_all(devfd, manifest, sfds);
	} else if (!strcmp(mode, "carry") || !strcmp(mode, "check")) {
		manifest = retrieve_all(devfd);
		if (!strcmp(mode, "check"))
			return 0;
		preserve_all(devfd, manifest, sfds);
	} else {
		die("unknown mode %s", mode);
	}
	if (!cmd)
		return 0;
	if (!nkill)
		run_reboot(cmd, NULL, NULL);
	for (k = 0; k < nkill; k++) {
		run_reboot(cmd, dir, kill_at[k]);
		if (k + 1 == nkill)
			break;
		/* The next attempt, with the files this process still holds. */
		luo_close(devfd);
		for (i = 0; i < (int)NSESSIONS; i++)
			close(sfds[i]);
		start_daemon(pool);
		devfd = luo_open();
		if (devfd < 0)
			die("luo_open: %s", strerror(-devfd));
		check_gone(devfd);
		printf("no session came back from the attempt killed at %s; "
		       "preserving again\n", kill_at[k]);
		preserve_all(devfd, manifest, sfds);
	}
	return 0;
}
