#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds the previous release's liveupdated for test-upgrade-release.c.
#
# Usage: build-previous.sh SOURCE_ROOT OUT_DIR
#
# The release is the tag v0.1.0 if the clone has it, else the commit
# recorded in previous-release beside this script (CI's clone may carry
# no tags).  Its tree is exported with git archive into OUT_DIR/src and
# only its daemon is built (plain meson, OUT_DIR/build); a build of the
# same commit is reused.  Prints the binary's path.  Exits 77 (skip) if
# git or that history is not available, 1 if the build fails.
set -eu
src=$1
out=$2
here=$(dirname "$0")

command -v git >/dev/null 2>&1 || { echo "no git" >&2; exit 77; }
git -C "$src" rev-parse --git-dir >/dev/null 2>&1 ||
	{ echo "$src is not a git clone" >&2; exit 77; }
commit=$(git -C "$src" rev-parse --verify -q 'v0.1.0^{commit}' 2>/dev/null ||
	 cat "$here/previous-release")
git -C "$src" cat-file -e "$commit^{commit}" 2>/dev/null ||
	{ echo "commit $commit is not in this clone's history" >&2; exit 77; }

bin=$out/build/src/daemon/liveupdated
if [ -x "$bin" ] && [ "$(cat "$out/commit" 2>/dev/null)" = "$commit" ]; then
	echo "$bin"
	exit 0
fi
rm -rf "$out"
mkdir -p "$out/src"
git -C "$src" archive "$commit" | tar -x -C "$out/src"
meson setup "$out/build" "$out/src" >"$out/setup.log" 2>&1 ||
	{ cat "$out/setup.log" >&2; exit 1; }
ninja -C "$out/build" src/daemon/liveupdated >"$out/build.log" 2>&1 ||
	{ tail -n 40 "$out/build.log" >&2; exit 1; }
echo "$commit" >"$out/commit"
echo "$bin"
