#!/bin/sh
# ndisemu --device-socket end to end: the socket appears mode 0600, answers
# a request (hotlwf's device when hotlwf.so is built, else "no device"),
# and SIGTERM gives a clean shutdown (exit 0, socket removed).
set -u
ndisemu="$1" client="$2" libdir="$3"
dir=$(mktemp -d)
sock="$dir/ctl.sock"
trap 'rm -rf "$dir"' EXIT
if [ -f "$libdir/hotlwf.so" ]; then
    set -- --driver "$libdir/hotlwf.so"
else
    set -- --stack ""
fi
"$ndisemu" "$@" --cpus 2 --rate 1000 --seconds 60 --quiet --device-socket "$sock" &
pid=$!
i=0
while [ ! -S "$sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
fail=0
[ -S "$sock" ] || { echo "FAIL: no socket" >&2; kill $pid; exit 1; }
mode=$(stat -c %a "$sock")
[ "$mode" = 600 ] || { echo "FAIL: socket mode $mode" >&2; fail=1; }
reply=$("$client" "$sock" 0x00120000 16) || { echo "FAIL: no reply" >&2; fail=1; }
if [ -f "$libdir/hotlwf.so" ]; then
    [ "${reply%% *}" != 0xc0000034 ] || { echo "FAIL: hotlwf registered no device" >&2; fail=1; }
else
    [ "${reply%% *}" = 0xc0000034 ] || { echo "FAIL: reply '$reply' without a device" >&2; fail=1; }
fi
kill -TERM $pid
wait $pid
rc=$?
[ $rc -eq 0 ] || { echo "FAIL: exit status $rc after SIGTERM" >&2; fail=1; }
[ ! -e "$sock" ] || { echo "FAIL: socket left behind" >&2; fail=1; }
[ $fail -eq 0 ] && echo "devsock_cli: ok ($reply)"
exit $fail
