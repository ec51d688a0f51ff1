#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The RFC examples compile unmodified against the *installed* headers and
# library, and pass: install the build into a temporary DESTDIR, compile
# examples/rfc-*.c with -I and -L pointing only into it, and run them
# through test-rfc-examples.
#
# Usage: rfc-install.sh MESON BUILD_ROOT CC SANITIZE EXAMPLES_DIR DRIVER
# (CC is the compiler command, split on spaces: "ccache gcc" works)
set -eu
# Under valgrind (--trace-children) the system's own tools would be checked
# too; the examples themselves run under it in the rfc-examples test.
case "${LD_PRELOAD:-}" in
*vgpreload*) echo "skipped under valgrind"; exit 77 ;;
esac
meson=$1 build=$2 cc=$3 sanitize=$4 examples=$5 driver=$6

tmp=$(mktemp -d "${TMPDIR:-/tmp}/luo-rfc-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

"$meson" install -C "$build" --no-rebuild --quiet --destdir "$tmp/root" >/dev/null
hdr=$(find "$tmp/root" -path '*/luo/liveupdate-rfc.h' | head -n 1)
lib=$(find "$tmp/root" -name 'libluo.so' | head -n 1)
[ -n "$hdr" ] || { echo "liveupdate-rfc.h was not installed"; exit 1; }
[ -n "$lib" ] || { echo "libluo.so was not installed"; exit 1; }
inc=${hdr%/luo/liveupdate-rfc.h}
libdir=${lib%/libluo.so}

san=
[ "$sanitize" = none ] || san="-fsanitize=$sanitize"
for e in rfc-preserve rfc-prepare; do
	# shellcheck disable=SC2086
	$cc -std=c11 -Wall -Wextra -Werror $san -I"$inc" \
		"$examples/$e.c" -L"$libdir" -lluo -o "$tmp/$e"
done

rc=0
LD_LIBRARY_PATH="$libdir" "$driver" "$tmp/rfc-preserve" "$tmp/rfc-prepare" || rc=$?
exit "$rc"
