#!/bin/sh
# The whole test suite, as CI runs it: install what it needs, build under
# AddressSanitizer and UndefinedBehaviorSanitizer and run every test, then
# run the library, daemon, e2e, rfc and hostile suites again under valgrind,
# then run each fuzz
# target briefly in a clang build.  The kexec suite (tests/kexec) runs in
# the ASan build like every suite: one QEMU guest at a time, the sanitized
# daemon and tools installed into its initramfs.  Ends with the line
# "N passed, M failed" and a non-zero exit if anything failed.
set -u
cd "$(dirname "$0")/.."
sh scripts/deps.sh || exit 1

san=build-asan
vg=build-valgrind
ok=0

if [ ! -d "$san" ]; then
	meson setup "$san" -Db_sanitize=address,undefined -Db_lundef=false \
		>/dev/null || exit 1
fi
if [ ! -d "$vg" ]; then
	meson setup "$vg" >/dev/null || exit 1
fi
ninja -C "$san" || exit 1
ninja -C "$vg" || exit 1
# The main job (scripts/demo.sh) runs a release build (-O3), whose
# optimiser sees more than the debug builds' (maybe-uninitialized): it
# must build too.
rel=build-release
if [ ! -d "$rel" ]; then
	meson setup "$rel" --buildtype=release >/dev/null || exit 1
fi
ninja -C "$rel" || exit 1

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
meson test -C "$san" --print-errorlogs --num-processes 2 || ok=1
# Under valgrind: the library and the daemon, alone and in whole cycles.
# The fault suite stays with ASan: its keeper tests wait on pidfds, which
# valgrind 3.19 does not support, and its 200 corrupted handovers would
# take minutes.
meson test -C "$vg" --setup valgrind --suite lib --suite daemon --suite e2e \
	--suite rfc --suite hostile --print-errorlogs --num-processes 2 || ok=1

# ---- fuzzing (fuzz/README.md) ---------------------------------------------
# A clang build of the fuzz targets alone (scripts/fuzz.sh sets it up):
# each target runs briefly from its seed corpus (fuzz/meson.build says how
# long), as a test of suite 'fuzz', so that it counts below.  The gcc build
# above replays the same corpora once.
fz=build-fuzz
LUO_FUZZ_BUILD=$fz sh scripts/fuzz.sh || exit 1
meson test -C "$fz" --no-rebuild --suite fuzz --print-errorlogs \
	--num-processes 2 || ok=1

python3 scripts/summarize-tests.py \
	"$san/meson-logs/testlog.json" \
	"$vg/meson-logs/testlog-valgrind.json" \
	"$fz/meson-logs/testlog.json" || ok=1
exit $ok
