// SPDX-License-Identifier: LGPL-2.1-or-later
/* memccapable's ASCII tests (libmemcached-tools) against kvd; 77 without it. */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon-harness.h"
#include "kvd-test.h"

int main(void)
{
	struct kt_kvd k;
	char port[16];
	int status;
	pid_t pid;

	if (access("/usr/bin/memccapable", X_OK))
		dh_skip("memccapable is not installed (apt-get install libmemcached-tools)");
	kt_start(&k, NULL);
	snprintf(port, sizeof(port), "%d", k.port);
	pid = fork();
	dh_check(pid >= 0);
	if (!pid) {
		execl("/usr/bin/memccapable", "memccapable", "-h", "127.0.0.1",
		      "-p", port, "-a", "-t", "10", (char *)NULL);
		_exit(127);
	}
	dh_check_eq(waitpid(pid, &status, 0), pid);
	dh_check_eq(dh_exit_code(status), 0);
	dh_check_eq(kt_stop(&k), 0);
	return DH_PASS;
}
