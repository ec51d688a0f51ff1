// SPDX-License-Identifier: LGPL-2.1-or-later
/* Handover blob edits and the fd pool they name (handover-edit.h). */
#include <endian.h>
#include <fcntl.h>
#include <libfdt.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "fuzz.h"
#include "handover-edit.h"

static void pool_put(int fd, int at)
{
	FZ_CHECK(fd >= 0 && dup2(fd, at) == at, "pool fd %d", at);
	close(fd);
}

/**
 * ho_pool_init() - open the fds handovers name, at fixed numbers
 *
 * HO_POOL_BASE + 0..3: memfds; + 4, 5: the ends of a pipe; + 6: /dev/null;
 * HO_LISTEN_FD: another /dev/null, the listening socket's stand-in.  All
 * close-on-exec; their identities (inode numbers) differ from process to
 * process, which is what ho_fix_identity() is for.
 */
void ho_pool_init(void)
{
	int p[2];

	for (int i = 0; i < 4; i++)
		pool_put(memfd_create("fuzz-handover", MFD_CLOEXEC),
			 HO_POOL_BASE + i);
	FZ_CHECK(!pipe2(p, O_CLOEXEC), "pipe");
	pool_put(p[0], HO_POOL_BASE + 4);
	pool_put(p[1], HO_POOL_BASE + 5);
	pool_put(open("/dev/null", O_RDWR | O_CLOEXEC), HO_POOL_BASE + 6);
	pool_put(open("/dev/null", O_RDWR | O_CLOEXEC), HO_LISTEN_FD);
	for (int i = 0; i < HO_POOL_N; i++)
		FZ_CHECK(fcntl(HO_POOL_BASE + i, F_SETFD, FD_CLOEXEC) == 0,
			 "cloexec");
}

/**
 * ho_set_size() - make the header's size word the length of the rest
 * @blob: the handover, at least HO_HDR_SIZE bytes
 * @len:  its length
 */
void ho_set_size(uint8_t *blob, size_t len)
{
	uint32_t size = (uint32_t)(len - HO_HDR_SIZE);

	memcpy(blob + 12, &size, sizeof(size));
}

/**
 * ho_set_crc() - make the header's CRC match the tree it announces
 * @blob: the handover, at least HO_HDR_SIZE bytes
 * @len:  its length; a size word past it is left alone
 */
void ho_set_crc(uint8_t *blob, size_t len)
{
	uint32_t size, crc;

	memcpy(&size, blob + 12, sizeof(size));
	if (size > len - HO_HDR_SIZE)
		return;
	crc = (uint32_t)crc32(0, blob + HO_HDR_SIZE, size);
	memcpy(blob + 8, &crc, sizeof(crc));
}

/**
 * ho_for_each_record() - visit every file record of a well-formed tree
 * @blob: the handover
 * @len:  its length
 * @fn:   called with each record, which it may change in place
 * @ctx:  passed to @fn
 *
 * Return: 0, or -1 if the tree is not one libfdt fully accepts.
 */
int ho_for_each_record(uint8_t *blob, size_t len,
		       void (*fn)(uint8_t *rec, void *ctx), void *ctx)
{
	uint8_t *tree = blob + HO_HDR_SIZE;
	int node, child, plen;
	uint32_t size;
	uint8_t *recs;

	if (len < HO_HDR_SIZE)
		return -1;
	memcpy(&size, blob + 12, sizeof(size));
	/* As the reader: libfdt 1.6.1 crashes on trees older than 16. */
	if (size > len - HO_HDR_SIZE || size < sizeof(struct fdt_header) ||
	    fdt_version(tree) < 16 || fdt_check_full(tree, size))
		return -1;
	node = fdt_subnode_offset(tree, 0, "sessions");
	if (node < 0)
		return 0;
	fdt_for_each_subnode(child, tree, node) {
		recs = fdt_getprop_w(tree, child, "files", &plen);
		if (!recs || plen % HO_REC_SIZE)
			continue;
		for (int i = 0; i < plen / HO_REC_SIZE; i++)
			fn(recs + (size_t)i * HO_REC_SIZE, ctx);
	}
	return 0;
}

/**
 * ho_fix_identity() - make a record naming a pool fd match that fd
 * @rec: the record
 * @ctx: unused
 *
 * The reader checks type, device and inode of every fd named; a pool fd's
 * differ in every process, so a seed written in another one needs this.
 * Records naming other fds are left alone.
 */
void ho_fix_identity(uint8_t *rec, void *ctx)
{
	uint32_t fd, type;
	uint64_t dev, ino;
	struct stat st;

	memcpy(&fd, rec + HO_REC_FD, sizeof(fd));
	fd = be32toh(fd);
	if (fd < HO_POOL_BASE || fd >= HO_POOL_BASE + HO_POOL_N ||
	    fstat((int)fd, &st))
		return;
	type = htobe32(st.st_mode & S_IFMT);
	dev = htobe64(st.st_dev);
	ino = htobe64(st.st_ino);
	memcpy(rec + HO_REC_TYPE, &type, sizeof(type));
	memcpy(rec + HO_REC_DEV, &dev, sizeof(dev));
	memcpy(rec + HO_REC_INO, &ino, sizeof(ino));
}
