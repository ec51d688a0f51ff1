#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The installed headers live under <luo/> only, and a program built against
# them compiles, links and runs whether or not the system has the kernel's
# <linux/liveupdate.h>: install the build into a temporary DESTDIR and
# build uapi-user.c against it
#  - without a kernel header (luo's copy is used),
#  - with a fake Linux 6.19 header on the include path, included before and
#    after libluo's (the kernel's is used, GET_NAME comes from luo),
#  - with a fake pre-6.19 draft: a clear error, unless LUO_OWN_UAPI.
#
# Usage: headers-install.sh MESON BUILD_ROOT CC SANITIZE TEST_DIR
# (CC is the compiler command, split on spaces: "ccache gcc" works)
set -eu
case "${LD_PRELOAD:-}" in
*vgpreload*) echo "skipped under valgrind"; exit 77 ;;
esac
meson=$1 build=$2 cc=$3 sanitize=$4 dir=$5

tmp=$(mktemp -d "${TMPDIR:-/tmp}/luo-headers.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

"$meson" install -C "$build" --no-rebuild --quiet --destdir "$tmp/root" >/dev/null
lib=$(find "$tmp/root" -name 'libluo.so' | head -n 1)
[ -n "$lib" ] || { echo "libluo.so was not installed"; exit 1; }
libdir=${lib%/libluo.so}
inc=$(find "$tmp/root" -type d -name include | head -n 1)
[ -n "$inc" ] || { echo "no include directory was installed"; exit 1; }

# Nothing outside <luo/>: no uapi/ or linux/ of ours to clash with
# linux-libc-dev.
other=$(find "$inc" -name '*.h' ! -path "$inc/luo/*")
[ -z "$other" ] || { echo "headers installed outside luo/: $other"; exit 1; }
for h in libluo.h liveupdate.h linux-liveupdate.h luo-ext.h liveupdate-rfc.h; do
	[ -f "$inc/luo/$h" ] || { echo "luo/$h was not installed"; exit 1; }
done

san=
[ "$sanitize" = none ] || san="-fsanitize=$sanitize"
fail=0

# build NAME EXPECT_KERNEL KERNEL_FIRST [CFLAGS...]: compile, link, run.
build() {
	name=$1 expect=$2 first=$3
	shift 3
	# shellcheck disable=SC2086
	if ! $cc -std=gnu11 -Wall -Wextra -Werror $san "$@" -I"$inc" \
		-DEXPECT_KERNEL="$expect" -DKERNEL_FIRST="$first" \
		"$dir/uapi-user.c" -L"$libdir" -lluo -o "$tmp/$name" \
		2>"$tmp/$name.err"; then
		echo "FAIL $name: does not compile:"
		head -n 5 "$tmp/$name.err"
		fail=1
		return
	fi
	if ! LD_LIBRARY_PATH="$libdir" "$tmp/$name"; then
		echo "FAIL $name: the program failed"
		fail=1
		return
	fi
	echo "PASS $name"
}

build own 0 0
build own-luo-first 0 0 -DLUO_OWN_UAPI
build kernel-after 1 0 -I"$dir/fake-6.19"
build kernel-first 1 1 -I"$dir/fake-6.19"

# A draft kernel header cannot be unincluded: a clear error, not a clash.
# shellcheck disable=SC2086
if $cc -std=gnu11 -I"$dir/fake-draft" -I"$inc" -DEXPECT_KERNEL=0 \
	-DKERNEL_FIRST=0 -fsyntax-only "$dir/uapi-user.c" 2>"$tmp/draft.err"; then
	echo "FAIL draft: a pre-6.19 <linux/liveupdate.h> was accepted"
	fail=1
elif ! grep -q "predates Linux 6.19" "$tmp/draft.err"; then
	echo "FAIL draft: not the expected error:"
	head -n 5 "$tmp/draft.err"
	fail=1
else
	echo "PASS draft"
fi
exit "$fail"
