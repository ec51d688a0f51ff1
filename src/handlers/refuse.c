// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What luo refuses to preserve, and the reason it logs (DESIGN.md section
 * 5).  PRESERVE_FD of these fails with ENOENT, as the kernel's does for a
 * file no handler takes; the reason only goes to the daemon's log.
 *
 * Per-process objects are meaningless in another process or image (epoll
 * watches fds of its owner's table, signalfd reads its reader's signals,
 * io_uring rings map its creator's memory, a pidfd names a process), and
 * the rest hold kernel state that no handler records (timers, watches,
 * perf counters, BPF objects).  Device nodes and directories are not files
 * with a position and data of their own; pseudo filesystems generate their
 * content.
 */
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <linux/magic.h>

#include "fdinfo.h"
#include "refuse.h"

#ifndef PIDFS_MAGIC
#define PIDFS_MAGIC	0x50494446
#endif
#ifndef TRACEFS_MAGIC
#define TRACEFS_MAGIC	0x74726163
#endif
#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC	0xcafe4a11
#endif
#ifndef NSFS_MAGIC
#define NSFS_MAGIC	0x6e736673
#endif

struct refusal {
	const char *link;	/* the start of the /proc/self/fd target */
	const char *why;
};

static const struct refusal anon_refusals[] = {
	{ "anon_inode:[signalfd]",
	  "signalfd: it reads the signals of whichever process reads it (per-process)" },
	{ "anon_inode:[eventpoll]",
	  "epoll: it watches fds of its owner's fd table (per-process)" },
	{ "anon_inode:[io_uring]",
	  "io_uring: its rings live in its creator's memory (per-process)" },
	{ "anon_inode:[pidfd]",
	  "pidfd: it names a process, which no handler can preserve" },
	{ "anon_inode:[timerfd]",
	  "timerfd: its clock and expiry are kernel state no handler records" },
	{ "anon_inode:inotify",
	  "inotify: its watches are kernel state no handler records" },
	{ "anon_inode:[fanotify]",
	  "fanotify: its marks are kernel state no handler records" },
	{ "anon_inode:[perf_event]",
	  "perf event: a counter bound to a task or CPU (per-process)" },
	{ "anon_inode:[userfaultfd]",
	  "userfaultfd: it serves faults of its creator's memory (per-process)" },
	{ "anon_inode:bpf",
	  "BPF object: programs, maps and links are kernel state no handler records" },
	{ "anon_inode:",
	  "anonymous inode of a kind no handler knows" },
};

#define NR_ANON_REFUSALS (sizeof(anon_refusals) / sizeof(anon_refusals[0]))

/**
 * luo_pseudo_fs() - whether a filesystem generates its files' content
 * @f_type: statfs f_type
 *
 * Return: true for procfs, sysfs, debugfs, tracefs, securityfs, cgroupfs,
 * configfs, bpffs, efivarfs, pstore, nsfs and pidfs.
 */
bool luo_pseudo_fs(uint64_t f_type)
{
	switch (f_type) {
	case PROC_SUPER_MAGIC:
	case SYSFS_MAGIC:
	case DEBUGFS_MAGIC:
	case TRACEFS_MAGIC:
	case SECURITYFS_MAGIC:
	case CGROUP_SUPER_MAGIC:
	case CGROUP2_SUPER_MAGIC:
	case BPF_FS_MAGIC:
	case EFIVARFS_MAGIC:
	case PSTOREFS_MAGIC:
	case NSFS_MAGIC:
	case PIDFS_MAGIC:
	case 0x62656570:	/* configfs */
		return true;
	default:
		return false;
	}
}

static const char *anon_reason(const char *link)
{
	size_t i;

	for (i = 0; i < NR_ANON_REFUSALS; i++)
		if (!strncmp(link, anon_refusals[i].link,
			     strlen(anon_refusals[i].link)))
			return anon_refusals[i].why;
	return NULL;
}

static const char *inode_reason(const struct stat *st, uint64_t f_type)
{
	switch (st->st_mode & S_IFMT) {
	case S_IFDIR:
		return "directory: no handler preserves directories";
	case S_IFCHR:
	case S_IFBLK:
		return "device node: devices are not preserved (they stay with the system)";
	case S_IFSOCK:
		return "socket of a kind the socket handler does not take";
	case S_IFREG:
		if (f_type == PIDFS_MAGIC)
			return "pidfd: it names a process, which no handler can preserve";
		if (luo_pseudo_fs(f_type))
			return "file of a pseudo filesystem (procfs, sysfs, ...): the kernel generates its content";
		return NULL;
	default:
		return NULL;
	}
}

/**
 * luo_refuse_reason() - why no built-in handler takes @fd
 * @fd: a file no handler took
 *
 * Return: a static string, or NULL if the kind of file is unknown here.
 */
const char *luo_refuse_reason(int fd)
{
	char link[64];
	struct statfs sfs;
	struct stat st;

	if (!luo_fd_link(fd, link, sizeof(link))) {
		const char *why = anon_reason(link);

		if (why)
			return why;
	}
	if (fstat(fd, &st) < 0 || fstatfs(fd, &sfs) < 0)
		return NULL;
	return inode_reason(&st, (uint64_t)sfs.f_type);
}
