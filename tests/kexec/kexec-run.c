// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * kexec-client's processes: the operator's REBOOT --kexec command it runs,
 * the liveupdated processes it kills before the kexec, and the daemon it
 * starts again between two kills (README here, scenario kill).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kexec-run.h"

/**
 * die() - print "kexec-client: " and a message on stderr, exit 1
 * @fmt: printf format of the message
 */
void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("kexec-client: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/**
 * now() - CLOCK_MONOTONIC in seconds
 *
 * Return: the time.
 */
double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The line run-guest.sh times a kexec from (README). */
static void mark_kexec(void)
{
	char up[64] = "?";
	FILE *f = fopen("/proc/uptime", "re");

	if (f) {
		if (fscanf(f, "%63s", up) != 1)
			strcpy(up, "?");
		fclose(f);
	}
	printf("LUO-KEXEC: mark kexec-exec %s\n", up);
}

static pid_t spawn(char **cmd)
{
	pid_t pid;

	mark_kexec();
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		execvp(cmd[0], cmd);
		fprintf(stderr, "kexec-client: %s: %s\n", cmd[0],
			strerror(errno));
		_exit(127);
	}
	return pid;
}

static int wait_child(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	return status;
}

/* Every process running liveupdated's image, by /proc/PID/exe. */
static size_t luo_pids(pid_t *pids, size_t max)
{
	char path[64], exe[PATH_MAX];
	struct dirent *de;
	size_t n = 0;
	ssize_t len;
	DIR *d;

	d = opendir("/proc");
	if (!d)
		die("/proc: %s", strerror(errno));
	while ((de = readdir(d)) && n < max) {
		pid_t pid = (pid_t)strtol(de->d_name, NULL, 10);
		const char *base;

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/exe", pid);
		len = readlink(path, exe, sizeof(exe) - 1);
		if (len <= 0)
			continue;
		exe[len] = 0;
		base = strrchr(exe, '/');
		base = base ? base + 1 : exe;
		if (!strcmp(base, "liveupdated") ||
		    !strcmp(base, "liveupdated (deleted)"))
			pids[n++] = pid;
	}
	closedir(d);
	return n;
}

/* SIGKILL every liveupdated process and wait until none is left. */
static size_t kill_luo(void)
{
	pid_t pids[64];
	size_t n, i, total = 0;
	struct pollfd p;

	while ((n = luo_pids(pids, 64))) {
		for (i = 0; i < n; i++) {
			p.fd = (int)syscall(SYS_pidfd_open, pids[i], 0);
			if (kill(pids[i], SIGKILL) && errno != ESRCH)
				die("kill %d: %s", pids[i], strerror(errno));
			if (p.fd < 0)
				continue;
			/* A zombie's exe link is gone: it counts as dead. */
			p.events = POLLIN;
			if (poll(&p, 1, 10000) != 1)
				die("liveupdated %d outlived SIGKILL by 10 s",
				    pids[i]);
			close(p.fd);
			printf("killed liveupdated pid %d\n", pids[i]);
			total++;
		}
	}
	return total;
}

/**
 * start_daemon() - start liveupdated --pool as a child, wait until it listens
 * @pool: the pool device or directory
 *
 * Dies if the daemon does not report READY=1 on its --ready-fd.
 */
void start_daemon(const char *pool)
{
	char buf[16] = "";
	int pfd[2];
	ssize_t n;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC))
		die("pipe2: %s", strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		/* dup2() onto itself would keep close-on-exec. */
		if (pfd[1] == 3 ? fcntl(3, F_SETFD, 0) : dup2(pfd[1], 3) != 3)
			_exit(127);
		execlp("liveupdated", "liveupdated", "--pool", pool,
		       "--ready-fd", "3", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	n = read(pfd[0], buf, sizeof(buf) - 1);
	close(pfd[0]);
	if (n <= 0 || strncmp(buf, "READY=1", 7))
		die("liveupdated --pool %s did not start", pool);
	printf("started liveupdated %d on %s\n", pid, pool);
}

/**
 * run_reboot() - run the REBOOT --kexec command, maybe kill the daemon under it
 * @cmd:       the command and its arguments (NULL-terminated)
 * @dir:       the pool's mount point (with @kill_name)
 * @kill_name: NULL: the machine must vanish, so CMD returning dies; else
 *             as soon as @kill_name appears in @dir (created or renamed
 *             there) while CMD runs, every liveupdated process is killed
 *             with SIGKILL, and run_reboot() returns once they are gone
 *             and CMD has ended
 */
void run_reboot(char **cmd, const char *dir, const char *kill_name)
{
	struct pollfd p[2];
	char ev[4096] __attribute__((aligned(8)));
	double t0 = now();
	size_t killed;
	pid_t pid;
	int status;
	ssize_t len;

	if (!kill_name) {
		pid = spawn(cmd);
		status = wait_child(pid);
		die("%s returned (status %#x) after %.3f s: no kexec", cmd[0],
		    status, now() - t0);
	}
	p[0].fd = inotify_init1(IN_CLOEXEC);
	if (p[0].fd < 0 || inotify_add_watch(p[0].fd, dir,
					     IN_MOVED_TO | IN_CREATE) < 0)
		die("inotify %s: %s", dir, strerror(errno));
	p[0].events = POLLIN;
	pid = spawn(cmd);
	p[1].fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (p[1].fd < 0)
		die("pidfd_open: %s", strerror(errno));
	p[1].events = POLLIN;
	for (;;) {
		if (poll(p, 2, 120000) <= 0)
			die("no %s in %s within 120 s", kill_name, dir);
		if (p[1].revents)
			die("%s returned (status %#x) before %s appeared",
			    cmd[0], wait_child(pid), kill_name);
		len = read(p[0].fd, ev, sizeof(ev));
		if (len <= 0)
			die("inotify read: %s", strerror(errno));
		for (char *q = ev; q < ev + len;) {
			struct inotify_event *e = (struct inotify_event *)q;

			if (e->len && !strcmp(e->name, kill_name))
				goto kill;
			q += sizeof(*e) + e->len;
		}
	}
kill:
	killed = kill_luo();
	status = wait_child(pid);
	printf("%s appeared %.3f s after %s; killed %zu liveupdated "
	       "processes before the kexec; %s ended with status %#x\n",
	       kill_name, now() - t0, cmd[0], killed, cmd[0], status);
	if (!killed)
		die("no liveupdated process to kill");
	close(p[0].fd);
	close(p[1].fd);
}
