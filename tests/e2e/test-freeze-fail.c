// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A reboot whose freeze fails changes nothing: the caller gets the
 * handler's errno, the daemon keeps its image and update number, and every
 * session, token and byte is intact; once the cause is gone the reboot
 * succeeds and everything comes back.
 *
 * The failure is real: memfd's freeze refuses (EFBIG, as the kernel's
 * preserve does) a file that grew past UINT_MAX pages after it was
 * preserved.  The file is sparse, so this costs no memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "e2e.h"

#define HUGE_SIZE	((off_t)((1ull << 32) + 1) * 4096)	/* > UINT_MAX pages */

struct census {
	int sessions, files;
	uint64_t token_sum;
};

static int count(const struct luo_list_record *r, void *ctx)
{
	struct census *c = ctx;

	if (r->type == LUO_LIST_SESSION)
		c->sessions++;
	else {
		c->files++;
		c->token_sum += r->token;
	}
	return 0;
}

static struct census census(const char *sock)
{
	struct census c = { 0 };
	int ctl = luo_open_at(sock, LUO_OPEN_CONTROL);

	dh_check(ctl >= 0);
	dh_check_eq(luo_list(ctl, count, &c), 0);
	luo_close(ctl);
	return c;
}

int main(void)
{
	struct luo_status st;
	struct census before, after;
	struct dh_daemon d;
	uint64_t update = 0;
	int dev, a, b, ma, mb, grow, in;

	if (dh_start(&d, NULL))
		dh_skip("cannot start liveupdated");
	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	a = luo_create_session(dev, "first");
	b = luo_create_session(dev, "second");
	dh_check(a >= 0 && b >= 0);
	ma = e2e_memfd(1 << 20, 1, 100);
	mb = e2e_memfd(64 << 10, 2, 200);
	grow = e2e_memfd(4096, 3, 0);
	dh_check_eq(luo_session_preserve_fd(a, ma, 10), 0);
	dh_check_eq(luo_session_preserve_fd(b, mb, 20), 0);
	dh_check_eq(luo_session_preserve_fd(b, grow, 30), 0);
	before = census(d.socket);

	/* Grow one file past what memfd can hand over: freeze fails. */
	if (ftruncate(grow, HUGE_SIZE))
		dh_skip("this kernel cannot make a sparse 16 TiB memfd");
	dh_check_eq(e2e_reboot(d.socket, &update), -EFBIG);
	e2e_status(d.socket, &st);
	dh_check_eq(st.update_number, 1);
	dh_check_eq(st.nr_outgoing, 2);
	dh_check_eq(st.nr_files, 3);
	dh_check(!(st.flags & LUO_STATUS_REBOOTING));
	after = census(d.socket);
	dh_check(!memcmp(&before, &after, sizeof(before)));
	/* The sessions still work: the device and session fds are alive. */
	dh_check_eq(luo_session_preserve_fd(a, ma, 11), -EBUSY);
	dh_check_eq(luo_session_preserve_fd(a, grow, 10), -EEXIST);

	/* Remove the cause; now the reboot goes through with everything. */
	dh_check_eq(ftruncate(grow, 4096), 0);
	dh_check_eq(e2e_reboot(d.socket, &update), 0);
	dh_check_eq(update, 2);
	luo_close(dev);
	luo_close(a);
	luo_close(b);
	close(ma);
	close(mb);
	close(grow);

	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	in = luo_retrieve_session(dev, "first");
	dh_check(in >= 0);
	ma = luo_session_retrieve_fd(in, 10);
	dh_check(ma >= 0);
	dh_check_eq(lseek(ma, 0, SEEK_CUR), 100);
	dh_check(e2e_memfd_ok(ma, 1 << 20, 1));
	dh_check_eq(luo_session_finish(in), 0);
	luo_close(in);
	in = luo_retrieve_session(dev, "second");
	dh_check(in >= 0);
	mb = luo_session_retrieve_fd(in, 20);
	dh_check(mb >= 0);
	dh_check_eq(lseek(mb, 0, SEEK_CUR), 200);
	dh_check(e2e_memfd_ok(mb, 64 << 10, 2));
	grow = luo_session_retrieve_fd(in, 30);
	dh_check(grow >= 0);
	dh_check(e2e_memfd_ok(grow, 4096, 3));
	dh_check_eq(luo_session_finish(in), 0);
	luo_close(in);
	luo_close(dev);
	close(ma);
	close(mb);
	close(grow);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	return DH_PASS;
}
