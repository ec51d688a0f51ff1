// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * luo-soak: the luo processes of one daemon, found by their executable.
 *
 * With the vault (liveupdated(8), "Crash recovery") a daemon is two
 * processes whose pids change as they are killed and recovered: the vault
 * (started by us, or started anew by an engine whose vault died: it runs
 * with --vault-adopt) and the engine (--vault-fd, no --vault-adopt).  Both
 * run the daemon's image, so /proc/PID/exe names it.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "soak.h"

static bool cmdline_has(pid_t pid, const char *word)
{
	char path[64], buf[4096];
	size_t len = strlen(word);
	ssize_t n, i;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	n = (ssize_t)fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n > 0 ? n : 0] = '\0';
	for (i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1)
		if (!strncmp(buf + i, word, len))
			return true;
	return false;
}

/**
 * soak_procs() - the daemon's processes, by their executable
 * @exe:   the daemon's executable, as /proc/PID/exe names it
 * @procs: filled with up to @max processes
 * @max:   room in @procs
 *
 * Return: the number found, or -errno.
 */
int soak_procs(const char *exe, struct soak_proc *procs, int max)
{
	char path[64], target[PATH_MAX];
	struct dirent *e;
	int n = 0;
	ssize_t len;
	DIR *dir;
	pid_t pid;

	dir = opendir("/proc");
	if (!dir)
		return -errno;
	while ((e = readdir(dir)) && n < max) {
		pid = (pid_t)atoi(e->d_name);
		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
		len = readlink(path, target, sizeof(target) - 1);
		if (len < 0)
			continue;
		target[len] = '\0';
		if (strcmp(target, exe))
			continue;
		procs[n].pid = pid;
		procs[n].vault = cmdline_has(pid, "--vault-adopt") ||
				 !cmdline_has(pid, "--vault-fd");
		n++;
	}
	closedir(dir);
	return n;
}
