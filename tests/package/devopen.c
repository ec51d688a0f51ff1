// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A program written for the kernel's /dev/liveupdate: open it and create a
 * session.  It passes only when luo-run's preload library serves it (this
 * machine's kernel has no /dev/liveupdate, or luo-run's daemon is not the
 * kernel's).  Prints "served" so that the caller knows it ran.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <luo/linux-liveupdate.h>

int main(void)
{
	struct liveupdate_ioctl_create_session arg = { .size = sizeof(arg) };
	int fd = open("/dev/liveupdate", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		perror("open /dev/liveupdate");
		return 1;
	}
	memcpy(arg.name, "devopen", sizeof("devopen"));
	if (ioctl(fd, LIVEUPDATE_IOCTL_CREATE_SESSION, &arg) < 0) {
		perror("LIVEUPDATE_IOCTL_CREATE_SESSION");
		return 1;
	}
	close(arg.fd);
	close(fd);
	printf("served\n");
	return 0;
}
