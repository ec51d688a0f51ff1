#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# luo-run finds its parts by the install layout, and refuses to run without
# its preload library: install the build into a temporary DESTDIR (a tree
# at another place than the configured prefix, as a relocated install is)
# and, with neither $LIVEUPDATED nor $LUO_PRELOAD set,
#  - "luo-run --private devopen" must start the DESTDIR's liveupdated and
#    preload the DESTDIR's library (devopen opens /dev/liveupdate);
#  - with the library removed, luo-run must exit 127 with a message naming
#    it, and not run the program at all;
#  - $LUO_PRELOAD naming a missing file: the same.
#
# Usage: luo-run-install.sh MESON BUILD_ROOT DEVOPEN
set -eu
case "${LD_PRELOAD:-}" in
*vgpreload*) echo "skipped under valgrind"; exit 77 ;;
esac
meson=$1 build=$2 devopen=$3
unset LIVEUPDATED LUO_PRELOAD LUO_SOCKET

tmp=$(mktemp -d "${TMPDIR:-/tmp}/luo-run-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

"$meson" install -C "$build" --no-rebuild --quiet --destdir "$tmp/root" >/dev/null
run=$(find "$tmp/root" -type f -path "*/bin/luo-run" | head -n 1)
lib=$(find "$tmp/root" -name libluo-preload.so | head -n 1)
[ -n "$run" ] || { echo "luo-run was not installed"; exit 1; }
[ -n "$lib" ] || { echo "libluo-preload.so was not installed"; exit 1; }
# The DESTDIR's libluo, not a system one (and not none: ld.so does not
# look into a DESTDIR).
libluo=$(find "$tmp/root" -name libluo.so.0 | head -n 1)
LD_LIBRARY_PATH=${libluo%/libluo.so.0}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export LD_LIBRARY_PATH
fail=0

out=$("$run" --private "$devopen" 2>"$tmp/err") && rc=0 || rc=$?
if [ "$rc" -ne 0 ] || [ "$out" != served ]; then
	echo "FAIL installed: exit $rc, output '$out'"
	cat "$tmp/err"
	fail=1
else
	echo "PASS installed: the DESTDIR's daemon and library were used"
fi

# refuse NAME: luo-run must not run the program, exit 127, name the library.
refuse() {
	name=$1
	shift
	rc=0
	"$@" --private sh -c "touch '$tmp/ran'" 2>"$tmp/err" || rc=$?
	if [ "$rc" -ne 127 ]; then
		echo "FAIL $name: exit $rc, not 127"
		fail=1
	elif [ -e "$tmp/ran" ]; then
		echo "FAIL $name: the program ran without the library"
		fail=1
	elif ! grep -q "luo-run: preload library .*No such file" "$tmp/err"; then
		echo "FAIL $name: no message about the library:"
		cat "$tmp/err"
		fail=1
	else
		echo "PASS $name: $(cat "$tmp/err")"
	fi
	rm -f "$tmp/ran"
}

refuse env-missing env LUO_PRELOAD="$tmp/no-such-preload.so" "$run"
rm "$lib"
refuse installed-missing "$run"
exit "$fail"
