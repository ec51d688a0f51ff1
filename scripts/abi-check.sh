#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Compare libluo's ABI at a previous release with HEAD's (abidiff, from
# Debian's abigail-tools).
#
#   sh scripts/abi-check.sh [REF [REPO]]
#
# REF defaults to the most recent tag v* reachable from HEAD; with none
# there is nothing to compare against, and the script says so and exits
# 77 (meson's "skipped").  Both trees come from git archive (committed
# work only; no network), each builds libluo alone (the product options
# when the tree has them) with debug information, and abidiff compares
# the two libraries' exported symbols and the types of <luo/*.h>.
#
# Exit status: 0 if compatible (symbols added count as compatible: the
# symbols file of debian/ must then list them under a new version node),
# 1 if HEAD breaks the ABI of REF (a symbol removed or a type changed
# incompatibly), 2 for a failure of the script, 77 if skipped.
set -eu
ref=${1:-}
repo=${2:-$(git rev-parse --show-toplevel 2>/dev/null || echo .)}

case "${LD_PRELOAD:-}" in
*vgpreload*) echo "abi-check: skipped under valgrind"; exit 77 ;;
esac
command -v abidiff >/dev/null ||
	{ echo "abi-check: abidiff not found (apt-get install abigail-tools)"; exit 77; }
git -C "$repo" rev-parse --git-dir >/dev/null 2>&1 ||
	{ echo "abi-check: $repo is no git repository"; exit 77; }
if [ -z "$ref" ]; then
	ref=$(git -C "$repo" describe --tags --abbrev=0 --match 'v*' HEAD \
		2>/dev/null) || ref=""
	if [ -z "$ref" ]; then
		echo "abi-check: skipped: no release tag v* yet, nothing to compare against"
		exit 77
	fi
fi
old=$(git -C "$repo" rev-parse --verify -q "$ref^{commit}") ||
	{ echo "abi-check: $ref is no commit"; exit 2; }
new=$(git -C "$repo" rev-parse HEAD)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/luo-abi-check.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# build NAME COMMIT: libluo of COMMIT, in $tmp/NAME; prints the library.
build() {
	mkdir "$tmp/$1"
	git -C "$repo" archive "$2" | tar -xf - -C "$tmp/$1"
	opts="-Dbuildtype=debug -Dwerror=false -Db_sanitize=none"
	if grep -qs "option('tests'" "$tmp/$1/meson_options.txt"; then
		opts="$opts -Dtests=false -Dfuzz=false -Dbench=false"
		opts="$opts -Dexamples=false -Dman=false"
	fi
	# shellcheck disable=SC2086
	meson setup "$tmp/$1/b" "$tmp/$1" $opts >"$tmp/$1.log" 2>&1 &&
		meson compile -C "$tmp/$1/b" luo >>"$tmp/$1.log" 2>&1 ||
		{ tail -n 20 "$tmp/$1.log" >&2; return 1; }
	find "$tmp/$1/b" -name 'libluo.so.*.*' -type f | head -n 1
}

echo "abi-check: libluo at $ref ($(echo "$old" | cut -c1-12)) against HEAD ($(echo "$new" | cut -c1-12))"
lib_old=$(build old "$old") || { echo "abi-check: $ref does not build"; exit 2; }
lib_new=$(build new "$new") || { echo "abi-check: HEAD does not build"; exit 2; }
hdr_old=$tmp/old/include/luo
[ -d "$hdr_old" ] || hdr_old=$tmp/old/include
rc=0
abidiff --headers-dir1 "$hdr_old" --headers-dir2 "$tmp/new/include/luo" \
	"$lib_old" "$lib_new" >"$tmp/abidiff.txt" 2>&1 || rc=$?
cat "$tmp/abidiff.txt"
# abidiff's status is a bit field: 1 error, 2 usage, 4 change, 8 break.
if [ $((rc & 3)) -ne 0 ]; then
	echo "abi-check: abidiff failed ($rc)"
	exit 2
elif [ $((rc & 8)) -ne 0 ]; then
	echo "abi-check: HEAD breaks the ABI of $ref"
	exit 1
elif [ $((rc & 4)) -ne 0 ]; then
	echo "abi-check: compatible changes since $ref"
else
	echo "abi-check: same ABI as $ref"
fi
exit 0
