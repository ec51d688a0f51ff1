// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Handler and FLB callbacks that fail (fault-v1, SPEC.md 3.4-3.6, 4.1,
 * 4.2, 5): retrieve at every position of a session, can_finish, the FLB's
 * preserve and retrieve.  Each phase ends with the daemon's fds counted.
 *
 *  - retrieve: RETRIEVE_FD returns the handler's errno, the same again on
 *    every later call (sticky), LIST shows it; the other files come back
 *    whole and FINISH succeeds;
 *  - can_finish: FINISH is EBUSY and finishes nothing (a retrieved file can
 *    still be fetched again); the close's implicit FINISH fails too, so the
 *    session stays, retrieved and without fd (LIST; RETRIEVE_SESSION:
 *    EINVAL), until the next reboot, which does not carry it forward;
 *  - FLB preserve: PRESERVE_FD of the FLB's first user fails with the FLB's
 *    errno and leaves the FLB unused (the same file fails again, which it
 *    would not if the FLB had stayed counted); with the FLB in use by
 *    another file it is not called, and the file is preserved;
 *  - FLB retrieve: RETRIEVE_FD of its file fails with the FLB's errno,
 *    sticky; the other files come back; a session whose FLB is never
 *    retrieved still finishes.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ft.h"

static const int retrieve_errs[] = { ENOMEM, EIO, EACCES };
static const char *const retrieve_names[] = {
	"luo-fault:retrieve=ENOMEM", "luo-fault:retrieve=EIO",
	"luo-fault:retrieve=13",
};

static int device(const struct dh_daemon *d)
{
	int dev = luo_open_at(d->socket, LUO_OPEN_DEVICE);

	dh_check(dev >= 0);
	return dev;
}

static void reboot_ok(const struct dh_daemon *d, int dev, int *sfds, int n)
{
	uint64_t upd;

	dh_check_eq(e2e_reboot(d->socket, &upd), 0);
	for (int i = 0; i < n; i++)
		luo_close(sfds[i]);
	luo_close(dev);
}

/* A session @name with one file per name, tokens 1.., seeds @seed0 + i. */
static int session(int dev, const char *name, const char *const *files,
		   int n, uint64_t seed0)
{
	int sfd = luo_create_session(dev, name);

	dh_check(sfd >= 0);
	for (int i = 0; i < n; i++) {
		int m = ft_memfd(files[i], seed0 + (uint64_t)i);

		dh_check_eq(luo_session_preserve_fd(sfd, m, (uint64_t)i + 1),
			    0);
		close(m);
	}
	return sfd;
}

static int32_t file_status(const struct ft_list *l, const char *session,
			   uint64_t tok)
{
	const struct luo_list_record *r = ft_session(l, session);

	dh_check(r != NULL);
	for (r++; r < l->rec + l->n && r->type == LUO_LIST_FILE; r++)
		if (r->token == tok)
			return r->retrieve_status;
	dh_fail(__FILE__, __LINE__, "token not listed");
}

static void test_retrieve(const struct dh_daemon *d)
{
	const char *files[3];
	struct ft_list l;
	char name[16];
	int dev = device(d), sfd[3];

	for (int s = 0; s < 3; s++) {
		for (int i = 0; i < 3; i++)
			files[i] = i == s ? retrieve_names[s] :
				   i % 2 ? "plain" : "luo-fault:";
		snprintf(name, sizeof(name), "retrieve-%d", s);
		sfd[s] = session(dev, name, files, 3, (uint64_t)s * 10);
	}
	reboot_ok(d, dev, sfd, 3);

	dev = device(d);
	for (int s = 0; s < 3; s++) {
		snprintf(name, sizeof(name), "retrieve-%d", s);
		sfd[s] = luo_retrieve_session(dev, name);
		dh_check(sfd[s] >= 0);
		for (int i = 0; i < 3; i++) {
			int fd = luo_session_retrieve_fd(sfd[s], (uint64_t)i + 1);

			if (i != s) {
				dh_check(fd >= 0);
				dh_check(ft_memfd_ok(fd, (uint64_t)s * 10 + (uint64_t)i));
				close(fd);
				continue;
			}
			dh_check_eq(fd, -retrieve_errs[s]);
			dh_check_eq(luo_session_retrieve_fd(sfd[s], (uint64_t)i + 1),
				    -retrieve_errs[s]);
		}
		ft_list(d->socket, &l);
		dh_check_eq(file_status(&l, name, (uint64_t)s + 1),
			    -retrieve_errs[s]);
		dh_check_eq(file_status(&l, name, (uint64_t)(s + 1) % 3 + 1), 1);
		dh_check_eq(luo_session_finish(sfd[s]), 0);
		dh_check_eq(luo_close(sfd[s]), 0);
	}
	luo_close(dev);
}

static void test_can_finish(const struct dh_daemon *d, int base)
{
	static const char *const files[] = {
		"plain", "luo-fault:can_finish", "luo-fault:",
	};
	const struct luo_list_record *r;
	struct ft_list l;
	int dev = device(d), sfd[2], a, b, a2;

	sfd[0] = session(dev, "stuck", files, 3, 50);
	sfd[1] = session(dev, "fine", files, 1, 60);
	reboot_ok(d, dev, sfd, 2);

	dev = device(d);
	sfd[0] = luo_retrieve_session(dev, "stuck");
	dh_check(sfd[0] >= 0);
	a = luo_session_retrieve_fd(sfd[0], 1);
	b = luo_session_retrieve_fd(sfd[0], 2);
	dh_check(a >= 0 && b >= 0);
	dh_check_eq(luo_session_finish(sfd[0]), -EBUSY);
	dh_check_eq(luo_session_finish(sfd[0]), -EBUSY);
	/* Nothing finished: the file is still retrieved, the third still
	 * retrievable. */
	a2 = luo_session_retrieve_fd(sfd[0], 1);
	dh_check(a2 >= 0);
	dh_check(ft_memfd_ok(a2, 50));
	close(a2);
	a2 = luo_session_retrieve_fd(sfd[0], 3);
	dh_check(a2 >= 0);
	close(a2);
	/* Other sessions are not held up. */
	sfd[1] = luo_retrieve_session(dev, "fine");
	dh_check(sfd[1] >= 0);
	dh_check_eq(luo_session_finish(sfd[1]), 0);
	dh_check_eq(luo_close(sfd[1]), 0);

	/* The implicit FINISH of the close fails: retrieved, without fd. */
	dh_check_eq(luo_close(sfd[0]), 0);
	ft_list(d->socket, &l);
	dh_check_eq(l.n, 4);
	r = ft_session(&l, "stuck");
	dh_check(r && r->direction == LUO_INCOMING);
	dh_check_eq(r->state, LUO_SESSION_RETRIEVED);
	dh_check_eq(r->nr_files, 3);
	dh_check_eq(luo_retrieve_session(dev, "stuck"), -EINVAL);
	dh_check(ft_memfd_ok(a, 50));
	close(a);
	close(b);

	/* Not carried forward: the next reboot drops it and all it held. */
	reboot_ok(d, dev, NULL, 0);
	ft_list(d->socket, &l);
	dh_check_eq(l.n, 0);
	dh_check_eq(e2e_daemon_fds(d), base);
}

static void test_flb_preserve(const struct dh_daemon *d, int base)
{
	int dev = device(d), sfd, bad, good, fds;
	struct ft_list l;

	bad = ft_memfd("luo-fault:flb-preserve=ENOSPC", 70);
	good = ft_memfd("luo-fault:", 71);
	sfd = luo_create_session(dev, "flb");
	dh_check(sfd >= 0);
	fds = e2e_daemon_fds(d);
	dh_check_eq(luo_session_preserve_fd(sfd, bad, 1), -ENOSPC);
	/* Rolled back: still the first user, still failing. */
	dh_check_eq(luo_session_preserve_fd(sfd, bad, 1), -ENOSPC);
	dh_check_eq(e2e_daemon_fds(d), fds);
	ft_list(d->socket, &l);
	dh_check_eq(l.n, 1);
	dh_check_eq(l.rec[0].nr_files, 0);
	/* Token 1 is free: the failed preserve left nothing. */
	dh_check_eq(luo_session_preserve_fd(sfd, good, 1), 0);
	/* The FLB is in use now: its preserve is not called again. */
	dh_check_eq(luo_session_preserve_fd(sfd, bad, 2), 0);
	dh_check_eq(luo_close(sfd), 0);
	/* Both unpreserved: the FLB is unused again. */
	sfd = luo_create_session(dev, "flb");
	dh_check(sfd >= 0);
	dh_check_eq(luo_session_preserve_fd(sfd, bad, 1), -ENOSPC);
	dh_check_eq(luo_close(sfd), 0);
	dh_check_eq(luo_close(dev), 0);
	close(bad);
	close(good);
	dh_check_eq(e2e_daemon_fds(d), base);
}

static void test_flb_retrieve(const struct dh_daemon *d, int base)
{
	static const char *const files[] = {
		"luo-fault:flb-retrieve=EIO", "luo-fault:", "plain",
	};
	int dev = device(d), sfd[2], fd;

	sfd[0] = session(dev, "flb-a", files, 3, 80);
	reboot_ok(d, dev, sfd, 1);
	dev = device(d);
	sfd[0] = luo_retrieve_session(dev, "flb-a");
	dh_check(sfd[0] >= 0);
	dh_check_eq(luo_session_retrieve_fd(sfd[0], 1), -EIO);
	dh_check_eq(luo_session_retrieve_fd(sfd[0], 1), -EIO);
	for (uint64_t t = 2; t <= 3; t++) {
		fd = luo_session_retrieve_fd(sfd[0], t);
		dh_check(fd >= 0);
		dh_check(ft_memfd_ok(fd, 80 + t - 1));
		close(fd);
	}
	/* Sticky even now that the FLB has been retrieved for another. */
	dh_check_eq(luo_session_retrieve_fd(sfd[0], 1), -EIO);
	dh_check_eq(luo_session_finish(sfd[0]), 0);
	dh_check_eq(luo_close(sfd[0]), 0);

	/* Only files whose FLB cannot be retrieved, never retrieved: the
	 * last finish cannot retrieve the FLB, skips its finish, and the
	 * session still finishes. */
	sfd[0] = session(dev, "flb-b", files, 1, 90);
	sfd[1] = session(dev, "flb-c", files, 1, 91);
	reboot_ok(d, dev, sfd, 2);
	dev = device(d);
	for (int s = 0; s < 2; s++) {
		sfd[s] = luo_retrieve_session(dev, s ? "flb-c" : "flb-b");
		dh_check(sfd[s] >= 0);
		dh_check_eq(luo_session_finish(sfd[s]), 0);
		dh_check_eq(luo_close(sfd[s]), 0);
	}
	dh_check_eq(luo_close(dev), 0);
	dh_check_eq(e2e_daemon_fds(d), base);
}

int main(void)
{
	struct dh_daemon d;
	int base;

	ft_start(&d, NULL);
	base = e2e_daemon_fds(&d);
	test_retrieve(&d);
	dh_check_eq(e2e_daemon_fds(&d), base);
	test_can_finish(&d, base);
	test_flb_preserve(&d, base);
	test_flb_retrieve(&d, base);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	return DH_PASS;
}
