#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The bash completions of liveupdatectl, liveupdated and luo-run, driven
# as bash drives them: COMP_WORDS in, COMPREPLY out.
# $1: the completions' directory; $2, $3, $4: liveupdatectl, liveupdated,
# luo-run.
set -u
dir=$1 ctl=$2 daemon=$3 run=$4
fail=0

if [ ! -r /usr/share/bash-completion/bash_completion ]; then
	echo "bash-completion is not installed: sh scripts/deps.sh"
	exit 1
fi
# shellcheck disable=SC1091
. /usr/share/bash-completion/bash_completion
for f in liveupdatectl liveupdated luo-run; do
	# shellcheck disable=SC1090
	. "$dir/$f"
done

# complete FUNCTION WORD... : COMPREPLY for the last word
complete_words()
{
	local fn=$1
	shift
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE="${COMP_WORDS[*]}"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	"$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
}

# expect WHAT WANTED... : every wanted word is offered
expect()
{
	local what=$1 w
	shift
	for w in "$@"; do
		if ! printf '%s\n' "${COMPREPLY[@]}" | grep -qx -- "$w"; then
			echo "$what: '$w' not offered (got: ${COMPREPLY[*]})"
			fail=1
		fi
	done
}

complete_words _liveupdatectl "$ctl" ""
expect "commands" status list show drop check reboot help
complete_words _liveupdatectl "$ctl" sh
expect "show" show
complete_words _liveupdatectl "$ctl" --js
expect "options" --json
complete_words _liveupdatectl "$ctl" reboot --e
expect "reboot options" --exec
complete_words _liveupdatectl "$ctl" --owner ""
expect "owner" 0
complete_words _liveupdatectl "$ctl" check fd:
expect "check" fd:3

# Session names come from the daemon's listing.
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
mkfifo "$tmp/ready"
"$daemon" --socket "$tmp/s" --ready-fd 8 --log-level err 8>"$tmp/ready" &
pid=$!
read -r line <"$tmp/ready"
[ "$line" = "READY=1" ] || { echo "daemon not ready"; exit 1; }
# A session to list, held open by a helper until its stdin closes
# (liveupdatectl check makes one only while it runs): python3's stdlib
# speaking luo-wire(7).
helper_py='
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
def call(cmd, arg):
    s.sendmsg([struct.pack("II", cmd, len(arg)) + arg])
    return s.recvmsg(65536, 64)
call(0x4c554f00, struct.pack("IIII", 16, 1, 1, 0))
call(0xBA00, struct.pack("Ii64s", 72, -1, b"vm-completion"))
print("created", flush=True)
sys.stdin.read()
'
coproc HELPER { python3 -c "$helper_py" "$tmp/s"; }
read -r line <&"${HELPER[0]}"
[ "$line" = "created" ] || { echo "no session made"; fail=1; }
complete_words _liveupdatectl "$ctl" -s "$tmp/s" show ""
expect "session names" vm-completion
complete_words _liveupdatectl "$ctl" --socket "$tmp/s" drop vm-
expect "session names" vm-completion
helper=$HELPER_PID
exec {HELPER[1]}>&-
wait "$helper"

complete_words _liveupdated "$daemon" --log
expect "daemon options" --log-level
complete_words _liveupdated "$daemon" --log-level ""
expect "log levels" err warning notice info debug
complete_words _liveupdated "$daemon" --handlers ""
expect "handlers" luo kernel

complete_words _luo_run "$run" --pri
expect "luo-run options" --private
# compopt complains outside a real completion; the words are what count.
complete_words _luo_run "$run" --private tru 2>/dev/null
expect "the program" true

kill "$pid"
wait "$pid"
[ $fail = 0 ] && echo "completion: ok"
exit $fail
