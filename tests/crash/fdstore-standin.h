/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A small stand-in for systemd, for the tests of the vault's copies in a
 * service manager's fd store (liveupdated(8), "SYSTEMD"): the test is the
 * notify socket (FDSTORE=1 kept by open file description as systemd does,
 * a second store of one ignored, FDSTOREREMOVE=1 by name, BARRIER=1's fd
 * closed once every earlier message is processed) and the socket unit
 * (the listening socket, passed as LISTEN_FDS with the name
 * "liveupdated.socket"); it restarts the unit as systemd does, with the
 * store under LISTEN_FDS and LISTEN_FDNAMES.
 *
 * The stand-in reads its notify socket all the time on a thread of its
 * own (reader()), as systemd does: the vault waits for the manager to
 * take each message.  Its state (below) is shared with the test under
 * @lock.
 */
#ifndef FDSTORE_STANDIN_H
#define FDSTORE_STANDIN_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#define MAX_STORED	64
#define STORE_MAX	"64"
#define DEADLINE_MS	20000

/**
 * struct entry - one fd in the store
 * @fd:   the stand-in's copy
 * @name: its FDNAME=
 */
struct entry {
	int fd;
	char name[256];
};

extern struct entry store[MAX_STORED];
extern int nr_store;
/* The notify socket the reader reads. */
extern int notify_fd;
/* READY=1 was said. */
extern bool ready;
/* The last MAINPID=, 0 if none. */
extern pid_t mainpid;
/* The names FDSTOREREMOVE=1 removed, each followed by a space. */
extern char removed[4096];
/* BARRIER=1 messages answered. */
extern unsigned int barriers;
/*
 * The store and the flags above, between the reader and the test.  A test
 * that holds it pauses the manager: the reader waits, and the test may
 * read the notify socket itself.
 */
extern pthread_mutex_t lock;
extern pthread_cond_t changed;
/* The vault's process group, while it runs: killed if the test fails. */
extern pid_t group;
/* FDSTORE= for the vaults started next (STORE_MAX; "0": the store off). */
extern const char *store_max;
/* --fdstore-timeout for the vaults started next, or NULL. */
extern const char *fdstore_timeout;

/**
 * struct standin_unit - where a test's unit lives
 * @dir:    its directory
 * @notify: the manager's notify socket (NOTIFY_SOCKET)
 * @path:   liveupdated's socket
 * @lsock:  the socket unit's listener on @path, or -1
 */
struct standin_unit {
	char dir[64];
	char notify[96];
	char path[96];
	int lsock;
};

void standin_unit_make(struct standin_unit *u, const char *tag, bool listener);
void standin_unit_remove(const struct standin_unit *u);
void store_add(int fd, const char *name);
int stored_index(int fd);
void store_lose(int i);
bool stored_as(const char *name);
void *reader(void *arg);
void notify_until(bool (*done)(void *), void *ctx, const char *what);
bool is_ready(void *ctx);
bool all_stored(void *ctx);
pid_t start_vault(const char *bin, const char *notify, const char *path,
		  const int *fds, char names[][256], int nr);
pid_t start_vault_logged(const char *bin, const char *notify,
			 const char *path, const int *fds, char names[][256],
			 int nr, int log_fd);
int memfd_with(const char *text);
void check_text(int fd, const char *text);
void kill_group(void);
void kill_all(pid_t vault, pid_t engine, pid_t child);
int store_passed(int lsock, int *fds, char names[][256]);

#endif /* FDSTORE_STANDIN_H */
