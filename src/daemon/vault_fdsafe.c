// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Which of a client's files the service manager may hold in its fd store
 * (liveupdated(8), "The vault and the fd store").
 *
 * What goes to the store is closed, in the end, by PID 1 itself, on its
 * one thread: systemd 252 closes a stored fd in place when the unit stops
 * or the entry is removed.  A close that turns out to be the last one can
 * block: a TCP socket with SO_LINGER and unsent data waits for up to its
 * linger time (measured: PID 1 answered nothing for 20 s), a FUSE file
 * waits for its server's answer to FLUSH on every close, an NFS file for
 * its server, a tty for its output to drain.  A client chooses its files,
 * so only those whose close cannot block by their nature go to the store:
 * memfds and other shmem files, anonymous inodes (eventfd, timerfd, ...),
 * pipes and FIFOs, AF_UNIX and AF_NETLINK sockets, datagram and raw inet
 * sockets, regular files on local disk filesystems, and listening TCP
 * sockets: a listener's close has nothing to send and never waits, and
 * Linux refuses to connect a socket that listened (EINVAL, even after
 * shutdown() or an AF_UNSPEC connect), so a client cannot turn a stored
 * listener into a lingering connection (test-fdstore-safe checks that).
 * The rest stays with the vault alone: it survives a crash of the engine
 * or of the vault, not the loss of every luo process at once.
 *
 * Nothing here calls into a filesystem: statx(AT_STATX_DONT_SYNC) answers
 * from the inode's cached attributes on FUSE and NFS, and the filesystem
 * type comes from our mount table, by the superblock's device number, not
 * from statfs().  By device, not by mount id: the daemon runs in a mount
 * namespace of its own (PrivateTmp=, ProtectHome=), whose mounts have ids
 * of their own, while a client's file carries its superblock's device
 * wherever it was opened.  A file on a filesystem our table does not show
 * (a FUSE mount in a client's namespace) stays out of the store.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/netlink.h>

#include "vault_fdsafe.h"

#ifndef F_GET_SEALS
#define F_GET_SEALS	1034
#endif

/* Filesystems whose files close without waiting for anyone. */
static const char *const local_fs[] = {
	"ext2", "ext3", "ext4", "xfs", "btrfs", "f2fs", "tmpfs", "ramfs",
	"hugetlbfs", "vfat", "exfat", "overlay",
};

/* The type of a mount of superblock @maj:@min in our table; false if none. */
static bool mount_type(unsigned int maj, unsigned int min, char type[64])
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	unsigned int ma, mi;
	char *line = NULL, *sep;
	size_t cap = 0;
	bool found = false;

	if (!f)
		return false;
	while (!found && getline(&line, &cap, f) > 0) {
		if (sscanf(line, "%*u %*u %u:%u ", &ma, &mi) != 2 ||
		    ma != maj || mi != min)
			continue;
		sep = strstr(line, " - ");
		if (sep && sscanf(sep + 3, "%63s", type) == 1)
			found = true;
	}
	free(line);
	fclose(f);
	return found;
}

static bool local_file(unsigned int maj, unsigned int min)
{
	char type[64];

	if (!mount_type(maj, min, type))
		return false;
	for (size_t i = 0; i < sizeof(local_fs) / sizeof(local_fs[0]); i++)
		if (!strcmp(type, local_fs[i]))
			return true;
	return false;
}

static int sock_opt(int fd, int opt)
{
	socklen_t len = sizeof(int);
	int v = -1;

	if (getsockopt(fd, SOL_SOCKET, opt, &v, &len) < 0)
		return -1;
	return v;
}

static bool sock_safe(int fd)
{
	int domain = sock_opt(fd, SO_DOMAIN), type = sock_opt(fd, SO_TYPE);

	if (domain == AF_UNIX || domain == AF_NETLINK)
		return true;
	if (domain != AF_INET && domain != AF_INET6)
		return false;
	if (type == SOCK_DGRAM || type == SOCK_RAW)
		return true;
	return sock_opt(fd, SO_ACCEPTCONN) == 1;
}

/**
 * vault_fdsafe() - may the service manager close @fd
 * @fd: a file a client gave
 *
 * Return: true if no close of it can block; false otherwise, or when that
 * cannot be told without asking the file's filesystem.
 */
bool vault_fdsafe(int fd)
{
	struct statx stx;
	mode_t type;

	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE,
		  &stx) < 0)
		return false;
	type = stx.stx_mode & S_IFMT;
	if (!type || S_ISFIFO(type))
		return true;	/* anonymous inodes, pipes */
	if (S_ISSOCK(type))
		return sock_safe(fd);
	if (!S_ISREG(type))
		return false;	/* devices: their drivers' */
	/* Only shmem and hugetlbfs files have seals to tell. */
	if (fcntl(fd, F_GET_SEALS) >= 0)
		return true;
	return local_file(stx.stx_dev_major, stx.stx_dev_minor);
}
