#!/bin/sh
# Build the fuzz targets with clang and libFuzzer, and run one.
#
#   sh scripts/fuzz.sh                       build only
#   sh scripts/fuzz.sh TARGET [SECONDS] [LIBFUZZER-ARGS...]
#
# TARGET is fuzz-core, fuzz-handover, fuzz-wire or fuzz-libluo-reply
# (fuzz/README.md).  The run starts from fuzz/corpus/TARGET, which it only
# reads, and keeps what it finds in BUILD/fuzz/corpus/TARGET; crashes are
# written as BUILD/fuzz/TARGET-crash-*.  SECONDS defaults to 60.  The build
# directory is build-fuzz, or $LUO_FUZZ_BUILD.
#
# The build is clang with ASan and UBSan, and -fsanitize=fuzzer-no-link for
# all of the code so that libFuzzer sees the coverage of the code under
# test.  Warnings are errors here too: the tree builds clean with clang.
set -eu
cd "$(dirname "$0")/.."
build=${LUO_FUZZ_BUILD:-build-fuzz}
targets="fuzz-core fuzz-handover fuzz-wire fuzz-libluo-reply"

if [ ! -d "$build" ]; then
	CC=clang meson setup "$build" \
		-Dc_args=-fsanitize=fuzzer-no-link \
		-Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
# shellcheck disable=SC2046
ninja -C "$build" $(for t in $targets; do echo "fuzz/$t"; done)
[ $# -eq 0 ] && exit 0

target=$1
seconds=${2:-60}
shift
[ $# -gt 0 ] && shift
case " $targets " in
*" $target "*) ;;
*) echo "fuzz.sh: no target $target (one of: $targets)" >&2; exit 2 ;;
esac
mkdir -p "$build/fuzz/corpus/$target"
exec "$build/fuzz/$target" -max_total_time="$seconds" -timeout=10 \
	-rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="$build/fuzz/$target-" "$@" \
	"$build/fuzz/corpus/$target" "fuzz/corpus/$target"
