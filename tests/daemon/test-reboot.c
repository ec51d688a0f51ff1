// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * REBOOT: the daemon re-executes itself (same pid), the update number goes
 * up by one, every outgoing session comes back incoming with its memfd's
 * bytes and position, and the caller's connection gets the answer from
 * the new image.  A named executable works too; one that cannot be
 * executed fails with its errno and changes nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "daemon-harness.h"
#include "wire-client.h"

static const char data[] = "the state that must survive";

static void status(int fd, struct luo_status *st)
{
	dh_check_eq(luo_status(fd, st), 0);
}

/* A session "vm" holding one memfd of data, position 5, token 42. */
static int preserve(int dev)
{
	int sfd = luo_create_session(dev, "vm"), m;

	dh_check(sfd >= 0);
	m = memfd_create("guest-ram", MFD_CLOEXEC);
	dh_check(m >= 0);
	dh_check_eq(write(m, data, sizeof(data)), sizeof(data));
	dh_check_eq(lseek(m, 5, SEEK_SET), 5);
	dh_check_eq(luo_session_preserve_fd(sfd, m, 42), 0);
	close(m);
	return sfd;
}

static void retrieve(const char *path)
{
	char buf[sizeof(data)];
	int dev, sfd, m;

	dev = luo_open_at(path, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	sfd = luo_retrieve_session(dev, "vm");
	dh_check(sfd >= 0);
	m = luo_session_retrieve_fd(sfd, 42);
	dh_check(m >= 0);
	dh_check_eq(lseek(m, 0, SEEK_CUR), 5);
	dh_check_eq(pread(m, buf, sizeof(buf), 0), sizeof(buf));
	dh_check(!memcmp(buf, data, sizeof(data)));
	dh_check_eq(luo_session_finish(sfd), 0);
	close(m);
	close(sfd);
	luo_close(dev);
}

/* Reboot from a device open with our own image. */
static void test_same_image(const char *path, pid_t pid)
{
	char name[LIVEUPDATE_SESSION_NAME_LENGTH];
	struct luo_status st;
	uint64_t upd = 0;
	int dev, sfd;

	dev = luo_open_at(path, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	sfd = preserve(dev);
	status(dev, &st);
	dh_check_eq(st.update_number, 1);
	dh_check_eq(luo_reboot(dev, -1, &upd), 0);
	dh_check_eq(upd, 2);
	/* The caller's connection is served by the new image. */
	status(dev, &st);
	dh_check_eq(st.pid, pid);
	dh_check_eq(st.update_number, 2);
	dh_check_eq(st.nr_outgoing, 0);
	dh_check_eq(st.nr_incoming, 1);
	dh_check(st.last_reboot_ns > 0);
	dh_check(!(st.flags & LUO_STATUS_DEVICE_OPEN));
	/* The old session fd died with the old image, as at a kexec. */
	dh_check(luo_session_get_name(sfd, name, sizeof(name)) < 0);
	close(sfd);
	luo_close(dev);
	retrieve(path);
}

/* Reboot from a control open into a named executable. */
static void test_exec_fd(const char *path)
{
	struct luo_status st;
	uint64_t upd = 0;
	int ctl, dev, sfd, exe;

	dev = luo_open_at(path, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	sfd = preserve(dev);
	ctl = luo_open_at(path, LUO_OPEN_CONTROL);
	dh_check(ctl >= 0);
	exe = open(dh_binary(), O_RDONLY | O_CLOEXEC);
	dh_check(exe >= 0);
	dh_check_eq(luo_reboot(ctl, exe, &upd), 0);
	dh_check_eq(upd, 3);
	close(exe);
	close(sfd);
	luo_close(dev);
	status(ctl, &st);
	dh_check_eq(st.update_number, 3);
	dh_check_eq(st.nr_incoming, 1);
	luo_close(ctl);
	retrieve(path);
}

/* An executable that cannot run: ENOEXEC, and nothing changed. */
static void test_bad_exec(const char *path)
{
	char name[LIVEUPDATE_SESSION_NAME_LENGTH];
	struct luo_status st;
	uint64_t upd = 0;
	int ctl, dev, sfd, exe, r;

	dev = luo_open_at(path, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	sfd = preserve(dev);
	ctl = luo_open_at(path, LUO_OPEN_CONTROL);
	dh_check(ctl >= 0);
	exe = memfd_create("not-elf", MFD_CLOEXEC);
	dh_check_eq(write(exe, "garbage!", 8), 8);
	dh_check(fchmod(exe, 0700) == 0);
	r = luo_reboot(ctl, exe, &upd);
	/* valgrind --trace-children emulates execveat and says ENOENT */
	dh_check(r == -ENOEXEC || r == -ENOENT);
	close(exe);
	status(ctl, &st);
	dh_check_eq(st.update_number, 3);
	dh_check_eq(st.nr_outgoing, 1);
	dh_check_eq(st.nr_files, 1);
	dh_check_eq(luo_session_get_name(sfd, name, sizeof(name)), 0);
	dh_check_eq(luo_create_session(dev, "vm"), -EEXIST);
	close(sfd);
	luo_close(dev);
	luo_close(ctl);
}

/* A client connecting while the exec runs waits, and is served. */
static void test_backlog(const char *path)
{
	struct luo_reboot rb = { .size = sizeof(rb) };
	struct luo_wire_rep rep;
	struct luo_status st;
	int ctl, other;

	ctl = wc_open(path, LUO_WIRE_MODE_CONTROL);
	dh_check(ctl >= 0);
	dh_check_eq(wc_send(ctl, LUO_IOCTL_REBOOT, &rb, sizeof(rb), NULL, 0), 0);
	other = luo_open_at(path, LUO_OPEN_CONTROL);
	dh_check(other >= 0);
	status(other, &st);
	dh_check_eq(st.update_number, 4);
	dh_check_eq(wc_recv(ctl, &rep, &rb, sizeof(rb), NULL), 0);
	dh_check_eq(rep.result, 0);
	dh_check_eq(rep.len, sizeof(rb));
	dh_check_eq(rb.update_number, 4);
	close(ctl);
	luo_close(other);
}

/* The daemon's fds, once everything before is seen (test-fds.c). */
static int count_fds(const char *path, pid_t pid)
{
	struct luo_status st;
	int ctl = luo_open_at(path, LUO_OPEN_CONTROL), n;

	dh_check(ctl >= 0);
	status(ctl, &st);
	status(ctl, &st);
	n = dh_count_fds(pid);
	luo_close(ctl);
	return n;
}

int main(void)
{
	struct dh_daemon d;
	pid_t engine;
	int base;

	dh_check_eq(dh_start(&d, NULL), 0);
	/* A REBOOT executes the engine anew under the same pid. */
	engine = dh_engine_pid(&d);
	base = count_fds(d.socket, engine);
	test_same_image(d.socket, engine);
	dh_check_eq(count_fds(d.socket, engine), base);
	test_exec_fd(d.socket);
	test_bad_exec(d.socket);
	test_backlog(d.socket);
	dh_check_eq(count_fds(d.socket, engine), base);
	dh_check_eq(dh_stop(&d), 0);
	dh_check(access(d.socket, F_OK) < 0);
	dh_cleanup(&d);
	return DH_PASS;
}
