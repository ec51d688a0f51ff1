// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A "new image" for test-handlers that lacks luo's handlers, as a build or
 * release of liveupdated whose set is the kernel's would.  REBOOT into it
 * runs the liveupdated of its command line (argv[0], the old image's own
 * path) with --handlers=kernel added.  A handover holding a pipe must be
 * refused then, and the old image run again.
 *
 * The new image rolls back by executing --rollback-fd with its own
 * arguments, which now say --handlers=kernel; the old image would refuse
 * the handover too.  So --rollback-fd is pointed at this program, which,
 * run with --rolled-back, takes the --handlers=kernel it added away again
 * and executes argv[0]: the old image, with its own arguments, as a real
 * new image that lacks a handler would have it.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KERNEL_SET	"--handlers=kernel"

static char **copy_args(int argc, char **argv)
{
	char **av = calloc((size_t)argc + 2, sizeof(*av));

	if (!av) {
		perror("kernel-image");
		exit(127);
	}
	memcpy(av, argv, (size_t)argc * sizeof(*av));
	return av;
}

/* The new image: liveupdated, kernel set, rolling back through us. */
static void run_new(int argc, char **argv)
{
	char **av = copy_args(argc, argv), fdarg[32];
	int i, self = open("/proc/self/exe", O_PATH);

	if (self < 0) {
		perror("kernel-image: /proc/self/exe");
		exit(127);
	}
	snprintf(fdarg, sizeof(fdarg), "--rollback-fd=%d", self);
	for (i = 1; i < argc; i++)
		if (!strncmp(av[i], "--rollback-fd=", 14))
			av[i] = fdarg;
	av[argc] = KERNEL_SET;
	execv(argv[0], av);
}

/* The rollback: the old image with its own arguments. */
static void run_old(int argc, char **argv)
{
	char **av = copy_args(argc, argv);
	int i, j = 0;

	for (i = 0; i < argc; i++)
		if (strcmp(argv[i], KERNEL_SET))
			av[j++] = argv[i];
	av[j] = NULL;
	execv(argv[0], av);
}

int main(int argc, char **argv)
{
	bool rolled_back = false;
	int i;

	if (argc < 1 || argv[0][0] != '/') {
		fprintf(stderr, "kernel-image: no liveupdated in argv[0]\n");
		return 127;
	}
	for (i = 1; i < argc; i++)
		rolled_back |= !strncmp(argv[i], "--rolled-back=", 14);
	if (rolled_back)
		run_old(argc, argv);
	else
		run_new(argc, argv);
	perror("kernel-image: execv");
	return 127;
}
