// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A truncated or corrupted handover: the real liveupdated, started on it
 * with --handover-fd, refuses it (exit status 1, "refusing to start:
 * handover invalid: " and why) without crashing and without touching the
 * listening socket it inherited, which still listens afterwards.
 *
 * The handover is a real one: a core built in-process with the memfd and
 * fault-v1 handlers, two sessions, files of both handlers and the fault
 * FLB, frozen and written by luo_handover_write(); its preserved fds and
 * listening socket are inherited by the daemon under the numbers written
 * down, as across a reboot's exec.  200 variants from a fixed seed:
 * truncations, with and without the header fixed up (size and CRC), and
 * byte flips, with and without the CRC fixed up.  Truncations and flips
 * the CRC does not cover must be refused; a flip under a fixed-up CRC may
 * also be a handover that still validates (a changed token, say): then
 * the daemon must take over and serve.  The unmodified handover is taken
 * over, as a check of the test itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "daemon-harness.h"
#include "handlers.h"
#include "luo_core.h"
#include "tc.h"

#define NR_VARIANTS	200
#define HDR_SIZE	16	/* magic[8], crc, size: host order */

enum outcome { REFUSED, TOOK_OVER };

struct world {
	struct sockaddr_un sa;
	socklen_t sa_len;
	int listen_fd;
	int fds[16];
	size_t nr_fds;
};

static int collect(void *ctx, int fd)
{
	struct world *w = ctx;

	dh_check(w->nr_fds < 16);
	w->fds[w->nr_fds++] = fd;
	return 0;
}

static void listen_abstract(struct world *w)
{
	w->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	dh_check(w->listen_fd >= 0);
	memset(&w->sa, 0, sizeof(w->sa));
	w->sa.sun_family = AF_UNIX;
	snprintf(w->sa.sun_path + 1, sizeof(w->sa.sun_path) - 1,
		 "luo-fault-handover-%d", (int)getpid());
	w->sa_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
				strlen(w->sa.sun_path + 1));
	dh_check_eq(bind(w->listen_fd, (struct sockaddr *)&w->sa, w->sa_len), 0);
	dh_check_eq(listen(w->listen_fd, 16), 0);
}

static void add_file(struct luo_core *core, struct luo_session *s,
		     const char *name, uint64_t token)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	dh_check(fd >= 0);
	dh_check_eq(ftruncate(fd, 4096), 0);
	dh_check_eq(tc_preserve(core, s, fd, token), 0);
	close(fd);
}

/* A real handover of two sessions; the core stays alive to hold the fds. */
static struct luo_core *build(struct world *w, void **blob, size_t *len,
			      struct luo_fault **fault)
{
	struct luo_handover_info info = {
		.update_number = 7, .reply_fd = -1, .self_fd = -1,
	};
	struct luo_core *core = tc_core(0, 0);
	struct luo_session *a, *b;

	dh_check(core != NULL);
	dh_check_eq(luo_register_fault_handler(core, fault), 0);
	dh_check_eq(luo_register_builtin_handlers(core), 0);
	dh_check_eq(tc_create(core, "alpha", &a), 0);
	dh_check_eq(tc_create(core, "beta", &b), 0);
	add_file(core, a, "plain", 1);
	add_file(core, a, "luo-fault:", 2);
	add_file(core, b, "luo-fault:retrieve=EIO", 3);
	add_file(core, b, "plain", 4);
	listen_abstract(w);
	info.listen_fd = w->listen_fd;
	dh_check_eq(luo_core_freeze(core), 0);
	dh_check_eq(luo_handover_write(core, &info, blob, len), 0);
	dh_check_eq(luo_core_for_each_outgoing_fd(core, collect, w), 0);
	return core;
}

static uint32_t rnd(uint64_t *state)
{
	*state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(*state >> 33);
}

static void fix_header(unsigned char *b, size_t len)
{
	uint32_t size = (uint32_t)(len - HDR_SIZE), crc;

	memcpy(b + 12, &size, 4);
	crc = (uint32_t)crc32(0, b + HDR_SIZE, size);
	memcpy(b + 8, &crc, 4);
}

/* Variant @v of @blob into @out; *@must_refuse: no valid handover can be
 * made this way. */
static size_t corrupt(const unsigned char *blob, size_t len, int v,
		      uint64_t *rs, unsigned char *out, bool *must_refuse)
{
	size_t n = len;
	int flips;

	memcpy(out, blob, len);
	*must_refuse = true;
	if (v < 80) {
		n = rnd(rs) % len;
		if (v >= 40 && n >= HDR_SIZE)
			fix_header(out, n);
		return n;
	}
	flips = 1 + (int)(rnd(rs) % 4);
	for (int i = 0; i < flips; i++)
		out[rnd(rs) % len] ^= (unsigned char)(1 + rnd(rs) % 255);
	if (v >= 140) {
		fix_header(out, len);
		*must_refuse = false;
	}
	if (!memcmp(out, blob, len))
		out[len - 1] ^= 0xff;	/* the flips undid each other */
	return n;
}

static void child(const struct world *w, const unsigned char *b, size_t len,
		  int err_fd)
{
	char arg[32];
	int m = memfd_create("luo-handover", 0);

	if (m < 0 || write(m, b, len) != (ssize_t)len)
		_exit(126);
	for (size_t i = 0; i < w->nr_fds; i++)
		fcntl(w->fds[i], F_SETFD, 0);
	fcntl(w->listen_fd, F_SETFD, 0);
	dup2(err_fd, 2);
	snprintf(arg, sizeof(arg), "--handover-fd=%d", m);
	execl(dh_binary(), dh_binary(), "--fault-injection", arg,
	      "--log-level", "notice", (char *)NULL);
	_exit(127);
}

/* Reads the daemon's log until it exits or says it took over. */
static enum outcome watch(int fd, char *log, size_t size)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t got = 0;
	ssize_t n;

	for (;;) {
		dh_check_eq(poll(&p, 1, 60000), 1);
		n = read(fd, log + got, size - 1 - got);
		if (n <= 0)
			return REFUSED;
		got += (size_t)n;
		log[got] = '\0';
		if (strstr(log, "took over update"))
			return TOOK_OVER;
		dh_check(got < size - 1);
	}
}

/* The inherited socket still listens, and is still ours to accept on. */
static void check_listening(const struct world *w)
{
	int on = 0, c, a;
	socklen_t l = sizeof(on);

	dh_check_eq(getsockopt(w->listen_fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &l), 0);
	dh_check_eq(on, 1);
	c = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	dh_check(c >= 0);
	dh_check_eq(connect(c, (const struct sockaddr *)&w->sa, w->sa_len), 0);
	a = accept4(w->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	dh_check(a >= 0);
	close(a);
	close(c);
}

static enum outcome run(const struct world *w, const unsigned char *b,
			size_t len)
{
	static char log[65536];
	enum outcome o;
	int p[2], code;
	pid_t pid;

	dh_check_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	dh_check(pid >= 0);
	if (pid == 0)
		child(w, b, len, p[1]);
	close(p[1]);
	log[0] = '\0';
	o = watch(p[0], log, sizeof(log));
	if (o == TOOK_OVER)
		kill(pid, SIGTERM);
	close(p[0]);
	dh_check_eq(waitpid(pid, &code, 0), pid);
	code = dh_exit_code(code);
	if (o == TOOK_OVER) {
		dh_check_eq(code, 0);
	} else {
		if (code != 1 || !strstr(log, "refusing to start: handover invalid: "))
			fprintf(stderr, "exit %d, log:\n%s\n", code, log);
		dh_check_eq(code, 1);
		dh_check(strstr(log, "refusing to start: handover invalid: "));
	}
	check_listening(w);
	return o;
}

int main(void)
{
	struct world w = { 0 };
	struct luo_fault *fault = NULL;
	struct luo_core *core;
	unsigned char *out;
	uint64_t rs = 0x5eed;
	void *blob;
	size_t len;
	int fds0 = test_count_fds(), took = 0;

	dh_binary();
	core = build(&w, &blob, &len, &fault);
	out = malloc(len);
	dh_check(out != NULL);
	dh_check_eq(run(&w, blob, len), TOOK_OVER);
	for (int v = 0; v < NR_VARIANTS; v++) {
		bool must_refuse;
		size_t n = corrupt(blob, len, v, &rs, out, &must_refuse);

		if (run(&w, out, n) == TOOK_OVER) {
			dh_check(!must_refuse);
			took++;
		}
	}
	fprintf(stderr, "%d variants: %d refused, %d still valid\n",
		NR_VARIANTS, NR_VARIANTS - took, took);
	free(out);
	free(blob);
	close(w.listen_fd);
	luo_core_free(core);
	luo_fault_free(fault);
	dh_check_eq(test_count_fds(), fds0);
	return DH_PASS;
}
