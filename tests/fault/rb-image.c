// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A "new image" for the rollback and keeper tests, run by a REBOOT of
 * liveupdated.  What it does is $LUO_RB_IMAGE:
 *   refuse  execute $LIVEUPDATED with our arguments and --refuse-handover
 *   pass    execute $LIVEUPDATED with our arguments: it takes over
 *   kill    SIGKILL itself          segv   die of SIGSEGV
 *   abort   abort()                 exit   exit(0) at once
 *   hang    wait forever (the keeper's deadline kills it)
 * If $LUO_RB_NOTIFY names a FIFO, one byte is written to it first, so the
 * test knows the new image runs; then, if $LUO_RB_GO names a FIFO, one
 * byte is read from it, so the test decides when the image goes on.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void notify(void)
{
	const char *path = getenv("LUO_RB_NOTIFY");
	int fd;

	if (!path || !*path)
		return;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0 && write(fd, "R", 1) != 1)
		perror("rb-image: notify");
	if (fd >= 0)
		close(fd);
	path = getenv("LUO_RB_GO");
	if (!path || !*path)
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, &(char){ 0 }, 1) != 1)
		perror("rb-image: go");
	if (fd >= 0)
		close(fd);
}

static void run_daemon(int argc, char **argv, bool refuse)
{
	const char *bin = getenv("LIVEUPDATED");
	char **av = calloc((size_t)argc + 2, sizeof(*av));

	if (!bin || !av)
		exit(127);
	memcpy(av, argv, (size_t)argc * sizeof(*av));
	av[0] = (char *)bin;
	av[argc] = refuse ? "--refuse-handover" : NULL;
	execv(bin, av);
	perror(bin);
	exit(127);
}

int main(int argc, char **argv)
{
	const char *mode = getenv("LUO_RB_IMAGE");

	notify();
	if (!mode)
		return 2;
	if (!strcmp(mode, "refuse") || !strcmp(mode, "pass"))
		run_daemon(argc, argv, !strcmp(mode, "refuse"));
	if (!strcmp(mode, "kill"))
		raise(SIGKILL);
	if (!strcmp(mode, "segv")) {
		signal(SIGSEGV, SIG_DFL);
		raise(SIGSEGV);
	}
	if (!strcmp(mode, "abort")) {
		signal(SIGABRT, SIG_DFL);
		abort();
	}
	if (!strcmp(mode, "hang"))
		for (;;)
			pause();
	return !!strcmp(mode, "exit");
}
