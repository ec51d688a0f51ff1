// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Test users and groups (testusers.h).  groupadd and useradd take a lock
 * on /etc/passwd and /etc/group; tests run in parallel, so a busy lock is
 * retried for a while.  Everything made is recorded and removed at exit
 * if the test did not remove it itself.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testusers.h"

#define TU_MAX		64
#define TU_TRIES	100

static char tu_users[TU_MAX][32];
static char tu_groups[TU_MAX][32];
static bool tu_hooked;

/* Runs argv[0] (an absolute path) with stdout and stderr to /dev/null. */
static int tu_exec(char *const argv[])
{
	int status, tries;
	pid_t pid;

	for (tries = 0; tries < TU_TRIES; tries++) {
		fflush(NULL);
		pid = fork();
		if (pid < 0)
			return -errno;
		if (pid == 0) {
			if (!freopen("/dev/null", "w", stdout) ||
			    !freopen("/dev/null", "w", stderr))
				_exit(126);
			execv(argv[0], argv);
			_exit(127);
		}
		while (waitpid(pid, &status, 0) < 0)
			if (errno != EINTR)
				return -errno;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			return 0;
		/* 10: cannot lock /etc/group or /etc/passwd; 1: same, useradd */
		if (!WIFEXITED(status) || (WEXITSTATUS(status) != 10 &&
					   WEXITSTATUS(status) != 1))
			return -EIO;
		nanosleep(&(struct timespec){ .tv_nsec = 20 * 1000 * 1000 },
			  NULL);
	}
	return -EBUSY;
}

static void tu_forget(char list[TU_MAX][32], const char *name)
{
	for (int i = 0; i < TU_MAX; i++)
		if (!strcmp(list[i], name))
			list[i][0] = '\0';
}

/* A free place in @list, or -1: nothing is made that cannot be removed. */
static int tu_room(char list[TU_MAX][32])
{
	for (int i = 0; i < TU_MAX; i++)
		if (!list[i][0])
			return i;
	return -1;
}

static void tu_cleanup(void)
{
	for (int i = 0; i < TU_MAX; i++)
		if (tu_users[i][0]) {
			struct tu_user u = { .uid = 0 };

			memcpy(u.name, tu_users[i], sizeof(u.name));
			tu_user_remove(&u);
		}
	for (int i = 0; i < TU_MAX; i++)
		if (tu_groups[i][0]) {
			struct tu_group g = { .gid = 0 };

			memcpy(g.name, tu_groups[i], sizeof(g.name));
			tu_group_remove(&g);
		}
}

/* A test ended by a signal (meson's timeout, alarm(), ^C) cleans up too. */
/* The handlers found when ours went in: chained after our cleanup. */
static void (*tu_prev[NSIG])(int);

static void tu_on_signal(int sig)
{
	tu_cleanup();
	if (tu_prev[sig] != SIG_DFL && tu_prev[sig] != SIG_IGN &&
	    tu_prev[sig] != NULL) {
		tu_prev[sig](sig);
		return;
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void tu_hook(void)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGALRM };
	struct sigaction sa;

	if (tu_hooked)
		return;
	tu_hooked = true;
	atexit(tu_cleanup);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (!sigaction(sigs[i], NULL, &sa) && sa.sa_handler != SIG_IGN)
			tu_prev[sigs[i]] = signal(sigs[i], tu_on_signal);
}

/**
 * tu_available() - can this process make users (root, with useradd)?
 *
 * Return: true if so.
 */
bool tu_available(void)
{
	return geteuid() == 0 && !access("/usr/sbin/useradd", X_OK) &&
	       !access("/usr/sbin/groupadd", X_OK);
}

/**
 * tu_group_create() - make a group luo-t-TAG-PID
 * @g:   out: the group
 * @tag: a few letters naming the test
 *
 * Return: 0 or -errno.
 */
int tu_group_create(struct tu_group *g, const char *tag)
{
	struct group *gr;
	int r, slot;

	snprintf(g->name, sizeof(g->name), "luo-t-%.8s-%d", tag, (int)getpid());
	tu_hook();
	slot = tu_room(tu_groups);
	if (slot < 0)
		return -ENOSPC;
	r = tu_exec((char *const[]){ "/usr/sbin/groupadd", "-r", g->name,
				     NULL });
	if (r)
		return r;
	memcpy(tu_groups[slot], g->name, sizeof(tu_groups[slot]));
	gr = getgrnam(g->name);
	if (!gr)
		return -ENOENT;
	g->gid = gr->gr_gid;
	return 0;
}

/**
 * tu_user_create() - make a user luo-t-TAG-PID with a group of its name
 * @u:         out: the user
 * @tag:       a few letters naming the test (unique within the test)
 * @member_of: a group it is also a member of, or NULL
 *
 * Return: 0 or -errno.
 */
int tu_user_create(struct tu_user *u, const char *tag,
		   const struct tu_group *member_of)
{
	struct passwd *pw;
	int r, slot;

	snprintf(u->name, sizeof(u->name), "luo-t-%.8s-%d", tag, (int)getpid());
	tu_hook();
	slot = tu_room(tu_users);
	if (slot < 0)
		return -ENOSPC;
	if (member_of)
		r = tu_exec((char *const[]){ "/usr/sbin/useradd", "-r", "-M",
			"-U", "-s", "/usr/sbin/nologin", "-G",
			(char *)member_of->name, u->name, NULL });
	else
		r = tu_exec((char *const[]){ "/usr/sbin/useradd", "-r", "-M",
			"-U", "-s", "/usr/sbin/nologin", u->name, NULL });
	if (r)
		return r;
	memcpy(tu_users[slot], u->name, sizeof(tu_users[slot]));
	pw = getpwnam(u->name);
	if (!pw)
		return -ENOENT;
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	return 0;
}

/**
 * tu_user_remove() - remove a user made by tu_user_create(), and its group
 * @u: the user
 */
void tu_user_remove(struct tu_user *u)
{
	if (!u->name[0])
		return;
	/* -f: a process of the user still running must not keep it. */
	tu_exec((char *const[]){ "/usr/sbin/userdel", "-f", u->name, NULL });
	/* userdel removes the user's own group (USERGROUPS_ENAB) */
	if (getgrnam(u->name))
		tu_exec((char *const[]){ "/usr/sbin/groupdel", u->name, NULL });
	tu_forget(tu_users, u->name);
	u->name[0] = '\0';
}

/**
 * tu_group_remove() - remove a group made by tu_group_create()
 * @g: the group
 */
void tu_group_remove(struct tu_group *g)
{
	if (!g->name[0])
		return;
	tu_exec((char *const[]){ "/usr/sbin/groupdel", g->name, NULL });
	tu_forget(tu_groups, g->name);
	g->name[0] = '\0';
}

/* In the child: become @u with the groups the group database gives it. */
static void tu_become(const struct tu_user *u)
{
	if (initgroups(u->name, u->gid) < 0 || setgid(u->gid) < 0 ||
	    setuid(u->uid) < 0)
		_exit(120);
}

/**
 * tu_spawn_as() - run @fn as @u in a child, without waiting
 * @u:   the user
 * @fn:  returns the child's exit code
 * @ctx: its argument
 *
 * Return: the child's pid, or -errno.
 */
pid_t tu_spawn_as(const struct tu_user *u, int (*fn)(void *ctx), void *ctx)
{
	pid_t pid;
	int r;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		tu_become(u);
		r = fn(ctx);
		fflush(NULL);
		_exit(r);
	}
	return pid;
}

/**
 * tu_run_as() - run @fn as @u in a child and wait for it
 * @u:   the user
 * @fn:  returns the child's exit code
 * @ctx: its argument
 *
 * Return: @fn's exit code, 128 + a signal, or -errno.
 */
int tu_run_as(const struct tu_user *u, int (*fn)(void *ctx), void *ctx)
{
	pid_t pid = tu_spawn_as(u, fn, ctx);
	int status;

	if (pid < 0)
		return pid;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
