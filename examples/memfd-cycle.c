// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * memfd-cycle: one whole live-update cycle against liveupdated.
 *
 * Stage 1 creates a session, fills a memfd with SIZE MiB of data, moves its
 * file position, preserves it and keeps the session fd open (as an agent
 * does until the kexec).  Then it asks the daemon to reboot, which re-executes
 * the daemon; every session comes back incoming.  Stage 2 retrieves the
 * session and the memfd, checks every byte and the position, and finishes.
 *
 * Usage: memfd-cycle [SIZE_MIB]   (LUO_SOCKET names the daemon's socket)
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <luo/libluo.h>

#define SESSION	"memfd-cycle"
#define TOKEN	0x1234abcdULL

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int die(const char *what, int err)
{
	fprintf(stderr, "memfd-cycle: %s: %s\n", what, strerror(-err));
	return 1;
}

/* Fill (or check) the mapping with a reproducible xorshift stream. */
static uint64_t stream(uint64_t *map, size_t words, bool check)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL, bad = 0;

	for (size_t i = 0; i < words; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (!check)
			map[i] = x;
		else if (map[i] != x)
			bad++;
	}
	return bad;
}

static int fill(int fd, size_t size)
{
	void *map;

	if (ftruncate(fd, (off_t)size))
		return -errno;
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return -errno;
	stream(map, size / 8, false);
	munmap(map, size);
	return 0;
}

static int verify(int fd, size_t size, uint64_t *bad)
{
	void *map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);

	if (map == MAP_FAILED)
		return -errno;
	*bad = stream(map, size / 8, true);
	munmap(map, size);
	return 0;
}

static int stage1(size_t size, off_t pos, int *sfd)
{
	int dev, mfd, ret;

	dev = luo_open();
	if (dev < 0)
		return die("open the orchestrator (is liveupdated running?)", dev);
	*sfd = luo_create_session(dev, SESSION);
	luo_close(dev);
	if (*sfd < 0)
		return die("create session", *sfd);
	mfd = memfd_create("memfd-cycle", MFD_CLOEXEC);
	if (mfd < 0)
		return die("memfd_create", -errno);
	ret = fill(mfd, size);
	if (!ret && lseek(mfd, pos, SEEK_SET) != pos)
		ret = -errno;
	if (!ret)
		ret = luo_session_preserve_fd(*sfd, mfd, TOKEN);
	close(mfd);	/* the orchestrator holds it now */
	return ret ? die("fill and preserve the memfd", ret) : 0;
}

static int stage2(size_t size, off_t pos, double *retrieve_ms)
{
	double t0 = now_ms();
	int dev, sfd, mfd, ret;
	uint64_t bad = 0;
	off_t got;

	dev = luo_open();
	if (dev < 0)
		return die("reopen the orchestrator", dev);
	sfd = luo_retrieve_session(dev, SESSION);
	luo_close(dev);
	if (sfd < 0)
		return die("retrieve session", sfd);
	mfd = luo_session_retrieve_fd(sfd, TOKEN);
	if (mfd < 0)
		return die("retrieve the memfd", mfd);
	*retrieve_ms = now_ms() - t0;
	got = lseek(mfd, 0, SEEK_CUR);
	ret = verify(mfd, size, &bad);
	if (ret)
		return die("map the retrieved memfd", ret);
	printf("verified:        %zu MiB, %" PRIu64 " bad words, position %lld (expected %lld)\n",
	       size >> 20, bad, (long long)got, (long long)pos);
	ret = luo_session_finish(sfd);
	if (ret)
		return die("finish", ret);
	close(mfd);
	luo_close(sfd);
	return bad || got != pos;
}

int main(int argc, char **argv)
{
	size_t size = (size_t)(argc > 1 ? strtoul(argv[1], NULL, 0) : 1024) << 20;
	off_t pos = (off_t)(size / 3) + 7;
	double t0, t_pres, t_boot, t_ret = 0;
	struct luo_status st = { 0 };
	uint64_t update = 0;
	int sfd = -1, ctl, ret;

	t0 = now_ms();
	if (stage1(size, pos, &sfd))
		return 1;
	t_pres = now_ms() - t0;
	ctl = luo_open_at(NULL, LUO_OPEN_CONTROL);
	if (ctl < 0)
		return die("control open", ctl);
	t0 = now_ms();
	ret = luo_reboot(ctl, -1, &update);
	t_boot = now_ms() - t0;
	luo_close(ctl);
	luo_close(sfd);		/* its daemon end went with the old image */
	if (ret)
		return die("reboot", ret);
	ret = stage2(size, pos, &t_ret);
	ctl = luo_open_at(NULL, LUO_OPEN_CONTROL);
	if (ctl >= 0) {
		luo_status(ctl, &st);
		luo_close(ctl);
	}
	printf("state preserved: %zu MiB in one memfd\n", size >> 20);
	printf("fill + preserve: %.3f ms\n", t_pres);
	printf("reboot:          %.3f ms as the client saw it, %.3f ms in the daemon (update %" PRIu64 ")\n",
	       t_boot, st.last_reboot_ns / 1e6, update);
	printf("retrieve:        %.3f ms\n", t_ret);
	printf("%s\n", ret ? "FAILED" : "OK: every byte and the position survived");
	return ret;
}
