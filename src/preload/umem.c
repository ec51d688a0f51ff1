// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The caller's memory, as copy_from_user/copy_to_user see it: a bad
 * pointer is an error (EFAULT), not a crash.  process_vm_readv() and
 * process_vm_writev() on our own pid do the copy in the kernel, which
 * stops at the first page it cannot touch.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "preload.h"

#define LP_CHUNK	4096

/**
 * lp_umem_read() - copy from the caller's memory
 * @dst: our buffer
 * @src: the caller's pointer, possibly bad
 * @len: bytes wanted
 *
 * Return: the bytes copied before the first fault (@len if none).
 */
size_t lp_umem_read(void *dst, const void *src, size_t len)
{
	size_t done = 0;

	while (done < len) {
		struct iovec l = { (char *)dst + done, len - done };
		struct iovec r = { (void *)((uintptr_t)src + done), len - done };
		ssize_t n = process_vm_readv(getpid(), &l, 1, &r, 1, 0);

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			break;
		}
		done += (size_t)n;
	}
	return done;
}

/**
 * lp_umem_write() - copy to the caller's memory
 * @dst: the caller's pointer, possibly bad
 * @src: our buffer
 * @len: bytes to write
 *
 * Return: 0, or -EFAULT if some byte could not be written (those before
 * it have been).
 */
int lp_umem_write(void *dst, const void *src, size_t len)
{
	size_t done = 0;

	while (done < len) {
		struct iovec l = { (char *)src + done, len - done };
		struct iovec r = { (void *)((uintptr_t)dst + done), len - done };
		ssize_t n = process_vm_writev(getpid(), &l, 1, &r, 1, 0);

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return -EFAULT;
		}
		done += (size_t)n;
	}
	return 0;
}

/**
 * lp_umem_zero_tail() - check_zeroed_user() over [@from, @to) of @src
 * @src:  the caller's struct
 * @from: first byte to check
 * @to:   end of the struct (its size word)
 *
 * Return: 0 if every byte is zero, -E2BIG at the first non-zero byte,
 * -EFAULT at the first fault, whichever comes first.
 */
int lp_umem_zero_tail(const void *src, size_t from, size_t to)
{
	static const unsigned char zero[LP_CHUNK];
	unsigned char buf[LP_CHUNK];

	while (from < to) {
		size_t want = to - from < LP_CHUNK ? to - from : LP_CHUNK;
		size_t got = lp_umem_read(buf, (const void *)((uintptr_t)src +
							     from), want);

		if (memcmp(buf, zero, got))
			return -E2BIG;
		if (got < want)
			return -EFAULT;
		from += got;
	}
	return 0;
}
