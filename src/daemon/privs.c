// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Capabilities.  Once the socket is bound (and chowned for --group), the
 * daemon needs two: CAP_DAC_OVERRIDE, so that a preserved memfd is
 * reopened through /proc/self/fd whatever its mode says, as the kernel
 * keeps a file reference whatever the mode (luo-memfd(7)); and
 * CAP_SYS_RESOURCE, so that a reply carrying a client's fd is never
 * refused with ETOOMANYREFS: the kernel counts the fds in flight in
 * SCM_RIGHTS per user, for every root process on the machine, against
 * the sender's RLIMIT_NOFILE, and a client that leaves replies unread
 * keeps the fds they carry in flight (charged to root), so without it a
 * few hostile users, or a busy machine, could make every other client's
 * CREATE_SESSION or RETRIEVE_FD fail.  CAP_SYS_BOOT stays with a pool
 * (REBOOT --kexec).  With --max-pool-per-user, CAP_CHOWN, CAP_FOWNER and
 * CAP_SYS_ADMIN stay permitted but not effective, raised (privs_raise())
 * only around the quotactl(2), fchown(2) and linkat(2) calls on users'
 * files of pool_quota.c and pool_kexec.c.  Everything else goes, from the
 * effective, permitted, inheritable and ambient sets and from the bounding
 * set, so the image a REBOOT executes starts with those at most too.
 *
 * PR_SET_NO_NEW_PRIVS is set as well: it forbids gaining privileges at
 * exec (setuid bits, file capabilities), not the exec itself, so the
 * re-execution of a REBOOT works, with the same single capability.
 *
 * Raw syscalls (capset, prctl); no libcap for a dozen lines.
 */
#include <errno.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "privs.h"

/* What the daemon keeps (all below 32: the first word of the sets). */
#define PRIVS_KEEP	((1u << CAP_DAC_OVERRIDE) | (1u << CAP_SYS_RESOURCE))

static int privs_last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int last = CAP_LAST_CAP;

	if (f) {
		if (fscanf(f, "%d", &last) != 1)
			last = CAP_LAST_CAP;
		fclose(f);
	}
	return last;
}

static int privs_get(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};

	return syscall(SYS_capget, &hdr, data) < 0 ? -errno : 0;
}

static int privs_set(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};

	return syscall(SYS_capset, &hdr, data) < 0 ? -errno : 0;
}

/* What the pool's quota needs, permitted only (pool_quota.c). */
#define PRIVS_QUOTA	((1u << CAP_CHOWN) | (1u << CAP_FOWNER) | \
			 (1u << CAP_SYS_ADMIN))

/* The bounding set: needs CAP_SETPCAP, which only a privileged daemon has. */
static int privs_drop_bounding(bool can, uint32_t keep)
{
	int cap, last = privs_last_cap();

	if (!can)
		return 0;
	for (cap = 0; cap <= last; cap++) {
		if (cap < 32 && (keep & (1u << cap)))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return -errno;
	}
	return 0;
}

/**
 * privs_drop() - keep CAP_DAC_OVERRIDE and CAP_SYS_RESOURCE (those we
 * had), drop the rest
 * @boot:  keep CAP_SYS_BOOT too (if we had it): a daemon with a pool
 *         loads a kernel and kexecs it (REBOOT --kexec)
 * @quota: keep CAP_CHOWN, CAP_FOWNER and CAP_SYS_ADMIN permitted, not
 *         effective (if we had them): --max-pool-per-user charges pool
 *         files to their users, links them at a kexec whatever their mode
 *         and sets their quota
 *
 * Return: 0 or -errno (logged); the daemon refuses to run on failure.
 */
int privs_drop(bool boot, bool quota)
{
	struct __user_cap_data_struct data[2];
	uint32_t keep_mask, permit_mask;
	bool setpcap, keep;
	int r;

	r = privs_get(data);
	if (r)
		goto fail;
	setpcap = data[0].effective & (1u << CAP_SETPCAP);
	keep = data[0].permitted & (1u << CAP_DAC_OVERRIDE);
	keep_mask = data[0].permitted & (PRIVS_KEEP |
					 (boot ? 1u << CAP_SYS_BOOT : 0));
	permit_mask = data[0].permitted & (quota ? PRIVS_QUOTA : 0);
	r = privs_drop_bounding(setpcap, PRIVS_KEEP |
				(boot ? 1u << CAP_SYS_BOOT : 0) |
				(quota ? PRIVS_QUOTA : 0));
	if (!r && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
	    errno != EINVAL)
		r = -errno;
	if (r)
		goto fail;
	data[0].effective = keep_mask;
	data[0].permitted = keep_mask | permit_mask;
	data[0].inheritable = 0;
	data[1].effective = data[1].permitted = data[1].inheritable = 0;
	r = privs_set(data);
	if (!r && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		r = -errno;
	if (r)
		goto fail;
	log_info("capabilities dropped%s%s%s%s; no_new_privs set",
		 keep ? " but cap_dac_override" : "",
		 keep_mask & (1u << CAP_SYS_RESOURCE) ? ", cap_sys_resource" : "",
		 keep_mask & (1u << CAP_SYS_BOOT) ? ", cap_sys_boot" : "",
		 permit_mask ? " (cap_chown, cap_fowner, cap_sys_admin permitted only)" :
		 "");
	return 0;
fail:
	log_err("cannot drop capabilities: %s", strerror(-r));
	return r;
}

/* Changes @mask in the effective set; returns the bits that changed. */
static uint32_t privs_change(uint32_t mask, bool on)
{
	struct __user_cap_data_struct data[2];
	uint32_t changed;

	if (privs_get(data))
		return 0;
	changed = on ? mask & data[0].permitted & ~data[0].effective :
		  mask & data[0].effective;
	if (!changed)
		return 0;
	if (on)
		data[0].effective |= changed;
	else
		data[0].effective &= ~changed;
	return privs_set(data) ? 0 : changed;
}

/**
 * privs_raise() - raise permitted capabilities of the calling thread
 * @mask: capabilities (below 32: 1 << CAP_*)
 *
 * For a moment's use, around a call that needs them; privs_lower() with
 * the result puts the set back as it was.
 *
 * Return: the capabilities it raised (those permitted and not effective).
 */
uint32_t privs_raise(uint32_t mask)
{
	return privs_change(mask, true);
}

/**
 * privs_lower() - lower effective capabilities of the calling thread
 * @mask: capabilities (below 32: 1 << CAP_*)
 *
 * As privs_raise() the other way: CAP_SYS_RESOURCE is lowered while the
 * daemon writes into a user's pool file, so that the user's quota holds.
 *
 * Return: the capabilities it lowered (those that were effective).
 */
uint32_t privs_lower(uint32_t mask)
{
	return privs_change(mask, false);
}
