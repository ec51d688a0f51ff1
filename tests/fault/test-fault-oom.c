// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The daemon out of memory: its RLIMIT_AS is lowered (prlimit) to what it
 * maps now plus a little, then sessions with the longest names are created
 * until CREATE_SESSION fails.  The errno is ENOMEM; the daemon does not
 * crash, LIST and STATUS still answer, and once the sessions are closed it
 * serves as before, with the fds it started with.
 *
 * Skipped (77) when the daemon runs under AddressSanitizer or valgrind,
 * whose shadow memory RLIMIT_AS cannot take.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "ft.h"

#define MAX_SESSIONS	8000
#define HEADROOM	(512u << 10)

/* 1 if @pid maps a file whose path contains one of the tools' names. */
static int instrumented(pid_t pid)
{
	char path[64], line[512];
	FILE *f;
	int hit = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	dh_check(f != NULL);
	while (!hit && fgets(line, sizeof(line), f))
		hit = strstr(line, "libasan") || strstr(line, "libtsan") ||
		      strstr(line, "vgpreload");
	fclose(f);
	return hit;
}

/* VmSize of @pid in bytes. */
static unsigned long vm_size(pid_t pid)
{
	char path[64], line[256];
	unsigned long kb = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	dh_check(f != NULL);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmSize: %lu kB", &kb) == 1)
			break;
	fclose(f);
	dh_check(kb > 0);
	return kb * 1024;
}

static int count_records(const struct luo_list_record *r, void *ctx)
{
	(*(int *)ctx)++;
	return 0;
}

int main(void)
{
	static int sfd[MAX_SESSIONS];
	struct luo_status st;
	struct dh_daemon d;
	struct rlimit rl;
	int base, dev, ctl, n = 0, err = 0, records = 0, m;
	char name[LIVEUPDATE_SESSION_NAME_LENGTH];

	/*
	 * Under the vault, the default: the engine's address space is the
	 * one limited, and each commit writes only what changed.
	 */
	ft_start(&d, NULL);
	if (instrumented(dh_engine_pid(&d)))
		dh_skip("the daemon is sanitized or under valgrind");
	base = e2e_daemon_fds(&d);
	/* The control connection of LIST and STATUS, opened before. */
	ctl = luo_open_at(d.socket, LUO_OPEN_CONTROL);
	dh_check(ctl >= 0);
	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	dh_check_eq(prlimit(dh_engine_pid(&d), RLIMIT_AS, NULL, &rl), 0);
	rl.rlim_cur = (rlim_t)(vm_size(dh_engine_pid(&d)) + HEADROOM);
	dh_check_eq(prlimit(dh_engine_pid(&d), RLIMIT_AS, &rl, NULL), 0);

	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	while (n < MAX_SESSIONS) {
		snprintf(name, sizeof(name), "%06d", n);
		name[6] = 'x';
		err = luo_create_session(dev, name);
		if (err < 0)
			break;
		sfd[n++] = err;
	}
	if (err >= 0)
		dh_skip("the daemon did not run out of memory");
	dh_check_eq(err, -ENOMEM);
	dh_check_eq(luo_create_session(dev, "one-more"), -ENOMEM);

	/* Still answering; what it can, it does. */
	err = luo_status(ctl, &st);
	dh_check(err == 0 || err == -ENOMEM);
	err = luo_list(ctl, count_records, &records);
	dh_check(err == 0 || err == -ENOMEM);
	fprintf(stderr, "%d sessions, then ENOMEM\n", n);

	while (n)
		dh_check_eq(luo_close(sfd[--n]), 0);
	dh_check_eq(luo_status(ctl, &st), 0);
	dh_check_eq(st.nr_outgoing, 0);
	sfd[0] = luo_create_session(dev, "after");
	dh_check(sfd[0] >= 0);
	m = ft_memfd("luo-fault:", 3);
	dh_check_eq(luo_session_preserve_fd(sfd[0], m, 1), 0);
	close(m);
	dh_check_eq(luo_close(sfd[0]), 0);
	dh_check_eq(luo_close(dev), 0);
	dh_check_eq(luo_close(ctl), 0);
	dh_check_eq(e2e_daemon_fds(&d), base);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	return DH_PASS;
}
