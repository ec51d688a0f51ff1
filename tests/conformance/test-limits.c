// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Thousands of sessions and of files (SPEC.md 3.3: G4 lifted the G1
 * limits of 819 sessions and 128 files; the kernel's selftests use 2000
 * sessions).  Each session fd is an fd here and in the daemon, so the
 * numbers stay well below the 20,000 open files a process may have.
 */
#include <stdio.h>
#include <unistd.h>

#include "kst.h"

#define NR_SESSIONS	2500
#define NR_FILES	2500

static int sessions[NR_SESSIONS];

static void test_sessions(void)
{
	char name[LIVEUPDATE_SESSION_NAME_LENGTH], got[sizeof(name)];
	int dev = kst_open_dev(), i;

	for (i = 0; i < NR_SESSIONS; i++) {
		snprintf(name, sizeof(name), "session-%d", i);
		sessions[i] = kst_create(dev, name);
		CHECK_OK(sessions[i]);
	}
	for (i = 0; i < NR_SESSIONS; i += 97) {
		snprintf(name, sizeof(name), "session-%d", i);
		CHECK_ERR(kst_create(dev, name), EEXIST);
		CHECK_OK(kst_get_name(sessions[i], got));
		CHECK(!strcmp(got, name));
	}
	for (i = 0; i < NR_SESSIONS; i++)
		CHECK_OK(close(sessions[i]));
	CHECK_OK(close(dev));
}

static void test_files(void)
{
	int dev = kst_open_dev(), sfd = kst_create(dev, "files"), i, mfd;

	CHECK_OK(sfd);
	for (i = 0; i < NR_FILES; i++) {
		mfd = kst_memfd(16, (uint32_t)i, 0);
		CHECK_OK(kst_preserve(sfd, mfd, (uint64_t)i * 3));
		CHECK_OK(close(mfd));
	}
	CHECK_ERR(kst_preserve(sfd, -1, 3), EEXIST);
	CHECK_OK(close(sfd));
	CHECK_OK(close(dev));
}

int main(void)
{
	KST_RUN(test_sessions);
	KST_RUN(test_files);
	return KST_PASS;
}
