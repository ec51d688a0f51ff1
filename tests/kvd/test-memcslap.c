// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * memcslap's set, get and mget tests (libmemcached-tools) against kvd, with
 * memcslap's defaults (10,000 keys of up to 4 KiB, one thread): every key
 * set must be got back.  mget asks for all 10,000 keys on one get line of
 * some 400 KB, which kvd refused when it wanted the whole line in 2,048
 * bytes ("Time to mget 0 keys").  Skipped without memcslap.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon-harness.h"
#include "kvd-test.h"

#define MEMCSLAP	"/usr/bin/memcslap"
#define KEYS		10000	/* memcslap's default count */

/* Run memcslap --test=@test; its output (malloc'd) and exit code. */
static char *memcslap(const struct kt_kvd *k, const char *test, int *code)
{
	char servers[64], arg[32], *out = NULL;
	size_t len = 0, cap = 0;
	int p[2], status;
	pid_t pid;

	snprintf(servers, sizeof(servers), "--servers=127.0.0.1:%d", k->port);
	snprintf(arg, sizeof(arg), "--test=%s", test);
	dh_check_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	dh_check(pid >= 0);
	if (!pid) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		execl(MEMCSLAP, "memcslap", servers, arg, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		ssize_t n;

		if (len + 4096 > cap) {
			cap = cap ? 2 * cap : 16384;
			out = realloc(out, cap);
			dh_check(out != NULL);
		}
		n = read(p[0], out + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	out[len] = '\0';
	close(p[0]);
	dh_check_eq(waitpid(pid, &status, 0), pid);
	*code = dh_exit_code(status);
	return out;
}

/* N of "Time to @what N keys@how" in @out, or -1. */
static long count_of(const char *out, const char *what, const char *how)
{
	char head[64];
	const char *s;
	char *end;
	long n;

	snprintf(head, sizeof(head), "Time to %s ", what);
	for (s = strstr(out, head); s; s = strstr(s + 1, head)) {
		n = strtol(s + strlen(head), &end, 10);
		if (!strncmp(end, " keys", 5) &&
		    !strncmp(end + 5 + strspn(end + 5, " "), how, strlen(how)))
			return n;
	}
	return -1;
}

/* memcslap --test=@test: every key set, and every key got. */
static void run(const struct kt_kvd *k, const char *test, bool load)
{
	int code;
	char *out = memcslap(k, test, &code);
	long loaded = load ? count_of(out, "set", ":") : KEYS;
	long done = count_of(out, test, "by");

	fprintf(stderr, "--- memcslap --test=%s\n%s", test, out);
	dh_check_eq(code, 0);
	dh_check(!strstr(out, "Fatal error"));
	dh_check(!strstr(out, "Failed"));
	dh_check_eq(loaded, KEYS);
	dh_check_eq(done, KEYS);
	free(out);
}

int main(void)
{
	/* Three rounds of fresh random keys: kvd does not evict. */
	const struct kt_args a = { .handoff = "unix", .memory_mib = 256 };
	struct kt_kvd k;

	if (access(MEMCSLAP, X_OK))
		dh_skip("memcslap is not installed (apt-get install libmemcached-tools)");
	kt_start_with(&k, &a);
	run(&k, "set", false);
	run(&k, "get", true);
	run(&k, "mget", true);
	dh_check_eq(kt_stop(&k), 0);
	return DH_PASS;
}
