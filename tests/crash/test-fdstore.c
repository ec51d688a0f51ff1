// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The vault's copies in a service manager's fd store (liveupdated(8),
 * "SYSTEMD", "The vault and the fd store"), against a small stand-in for
 * systemd: the test is the notify socket (FDSTORE=1 kept by open file
 * description as systemd does, a second store of one ignored,
 * FDSTOREREMOVE=1 by name) and the socket unit (the listening socket,
 * passed as LISTEN_FDS with the name "liveupdated.socket").
 *
 * liveupdated --vault runs with NOTIFY_SOCKET and FDSTORE; a client keeps
 * two sessions with a memfd each, and its device connection.  When its
 * calls return, the store holds every description the client gave (each
 * reply waits for the manager, test-fdstore-sync tries the window); vault
 * and engine are killed together (SIGKILL to their process group), and a
 * new vault is started as systemd restarts a unit: the listening socket
 * first, then every stored fd with its name, and one stale entry no map
 * names.  It must say READY=1, remove the stale entry, leave the socket's
 * entry alone, and serve the same client connection with both sessions;
 * after a REBOOT the files come back byte for byte.
 *
 * The stand-in (fdstore-standin.c) reads its notify socket all the time
 * on a thread of its own, as systemd does: the vault waits for the
 * manager to take each message.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <luo/libluo.h>
#include <luo/luo-ext.h>

#include "daemon-harness.h"
#include "fdstore-standin.h"

int main(void)
{
	const char *bin = dh_binary();
	static char names[MAX_STORED + 2][256];
	int fds[MAX_STORED + 2], want[8], dev, s[2], m[2], lsock, stale, r;
	struct luo_status st = { .size = sizeof(st) };
	struct standin_unit u;
	const char *notify = u.notify, *path = u.path;
	uint64_t update;
	pid_t vault;
	int nr;

	/* systemd's notify socket and liveupdated.socket. */
	standin_unit_make(&u, "fdstore", true);
	lsock = u.lsock;

	/* 1. The first start: the socket alone. */
	fds[0] = lsock;
	snprintf(names[0], sizeof(names[0]), "liveupdated.socket");
	vault = group = start_vault(bin, notify, path, fds, names, 1);
	notify_until(is_ready, NULL, "READY=1 at the first start");
	pthread_mutex_lock(&lock);
	dh_check(stored_as("luovault-records") && stored_as("luovault-map"));
	pthread_mutex_unlock(&lock);

	/* 2. A client: its connection, two sessions with a memfd each. */
	dev = luo_open_at(path, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	s[0] = luo_create_session(dev, "fdstore-a");
	s[1] = luo_create_session(dev, "fdstore-b");
	dh_check(s[0] >= 0 && s[1] >= 0);
	m[0] = memfd_with("the first file");
	m[1] = memfd_with("the second file");
	dh_check_eq(luo_session_preserve_fd(s[0], m[0], 1), 0);
	dh_check_eq(luo_session_preserve_fd(s[1], m[1], 2), 0);
	dh_check_eq(luo_status(dev, &st), 0);
	want[0] = m[0];
	want[1] = m[1];
	want[2] = lsock;
	want[3] = -1;
	/* Every reply waited for the manager to take what it acknowledges. */
	pthread_mutex_lock(&lock);
	dh_check(all_stored(want));
	pthread_mutex_unlock(&lock);

	/* 3. Every luo process dies at once. */
	kill_all(vault, (pid_t)st.pid, vault);

	/* 4. systemd restarts the unit with its store, and a stale entry. */
	pthread_mutex_lock(&lock);
	nr = store_passed(lsock, fds, names);
	stale = eventfd(0, EFD_CLOEXEC);
	fds[nr] = stale;
	snprintf(names[nr++], sizeof(names[0]), "luovault-999999");
	store_add(stale, "luovault-999999");
	ready = false;
	vault = group = start_vault(bin, notify, path, fds, names, nr);
	pthread_mutex_unlock(&lock);
	notify_until(is_ready, NULL, "READY=1 after the restart");
	pthread_mutex_lock(&lock);
	dh_check(strstr(removed, "luovault-999999 "));
	dh_check(!strstr(removed, "liveupdated.socket"));
	dh_check(!strstr(removed, "luovault-records "));
	dh_check(!strstr(removed, "luovault-map "));
	pthread_mutex_unlock(&lock);

	/* 5. The same connection, both sessions, the same files. */
	dh_check_eq(luo_status(dev, &st), 0);
	dh_check_eq(st.nr_outgoing, 2);
	dh_check_eq(st.nr_files, 2);
	r = luo_reboot(dev, -1, &update);
	dh_check_eq(r, 0);
	luo_close(s[0]);
	luo_close(s[1]);
	luo_close(dev);
	dev = luo_open_at(path, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	s[0] = luo_retrieve_session(dev, "fdstore-a");
	s[1] = luo_retrieve_session(dev, "fdstore-b");
	dh_check(s[0] >= 0 && s[1] >= 0);
	r = luo_session_retrieve_fd(s[0], 1);
	dh_check(r >= 0);
	check_text(r, "the first file");
	close(r);
	r = luo_session_retrieve_fd(s[1], 2);
	dh_check(r >= 0);
	check_text(r, "the second file");
	close(r);
	dh_check_eq(luo_session_finish(s[0]), 0);
	dh_check_eq(luo_session_finish(s[1]), 0);
	luo_close(s[0]);
	luo_close(s[1]);
	luo_close(dev);

	/* 6. A clean stop. */
	dh_check(kill(vault, SIGTERM) == 0);
	dh_check(waitpid(vault, &r, 0) == vault);
	group = 0;
	dh_check(WIFEXITED(r) && WEXITSTATUS(r) == 0);
	standin_unit_remove(&u);
	printf("test-fdstore: PASS\n");
	return DH_PASS;
}
