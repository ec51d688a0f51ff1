// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A program built against the installed headers and libluo, as a user of
 * libluo-dev builds one.  headers-install.sh compiles it with and without
 * a fake Linux 6.19 <linux/liveupdate.h> on the include path, including
 * the kernel's header before libluo's (KERNEL_FIRST) or after it; either
 * way exactly one definition of the ABI must be in, GET_NAME included.
 *
 * EXPECT_KERNEL: 1 if <luo/liveupdate.h> must have picked the fake kernel
 * header (it defines FAKE_KERNEL_UAPI), 0 if it must have used luo's copy.
 */
#if KERNEL_FIRST
#include <linux/liveupdate.h>
#endif
#include <luo/libluo.h>
#include <luo/liveupdate-rfc.h>
#if defined(__has_include)
#if __has_include(<linux/liveupdate.h>)
#include <linux/liveupdate.h>
#endif
#endif

#include <errno.h>
#include <stdio.h>

#if EXPECT_KERNEL != defined(FAKE_KERNEL_UAPI)
#error "<luo/liveupdate.h> picked the wrong <linux/liveupdate.h>"
#endif

_Static_assert(LIVEUPDATE_IOCTL_CREATE_SESSION == 0xBA00, "CREATE_SESSION");
_Static_assert(LIVEUPDATE_SESSION_FINISH == 0xBA42, "FINISH");
_Static_assert(LIVEUPDATE_SESSION_GET_NAME == 0xBA43, "GET_NAME");
_Static_assert(sizeof(struct liveupdate_session_get_name) == 72, "get_name");
_Static_assert(LUO_IOCTL_STATUS == 0xBA80, "STATUS");

int main(void)
{
	struct liveupdate_session_get_name arg = { .size = sizeof(arg) };
	char name[LIVEUPDATE_SESSION_NAME_LENGTH];
	int ret;

	/* The library links and answers: not a session fd. */
	ret = luo_ioctl(-1, LIVEUPDATE_SESSION_GET_NAME, &arg);
	if (ret != -EBADF) {
		fprintf(stderr, "luo_ioctl(-1, GET_NAME): %d, not -EBADF\n", ret);
		return 1;
	}
	ret = luo_session_get_name(-1, name, sizeof(name));
	if (ret != -EBADF) {
		fprintf(stderr, "luo_session_get_name(-1): %d, not -EBADF\n", ret);
		return 1;
	}
	printf("ok: %s ABI header, %s\n", EXPECT_KERNEL ? "kernel's" : "luo's",
	       luo_state_to_string(LIVEUPDATE_STATE_NORMAL));
	return 0;
}
