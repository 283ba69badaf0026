#!/bin/sh
# conformance_case.sh: one `ndisemu --conformance` run and its verdict.
#   conformance_case.sh WANT_EXIT LIMIT_S NDISEMU [ndisemu args] -- [pass:PHASE|fail:PHASE ...]
# Checks the exit status and, in the JSON report, that each named phase
# passed or failed. WANT_EXIT 0 also needs the overall "pass":true.
set -u
want=$1 limit=$2
shift 2
emu_flags=--conformance
. "$(dirname "$0")/case_run.sh"
fail() {
    echo "FAIL: $*"
    echo "--- ndisemu stdout"; cat "$out"
    echo "--- ndisemu stderr"; tail -n 40 "$out.err"
    exit 1
}
[ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && fail "ndisemu still running after ${limit}s"
[ "$rc" -eq "$want" ] || fail "ndisemu exited $rc, want $want"
if [ "$want" -eq 0 ]; then
    grep -q '"phases":\[.*\],"pass":true' "$out" || fail "the report does not say pass"
    [ "$(grep -o '"pass":true,"seconds"' "$out" | wc -l)" -eq 12 ] || fail "not every phase passed"
fi
for check in "$@"; do
    phase=${check#*:}
    case $check in
    pass:*) grep -q "{\"name\":\"$phase\",\"pass\":true" "$out" || fail "phase $phase did not pass" ;;
    fail:*) grep -q "{\"name\":\"$phase\",\"pass\":false" "$out" || fail "phase $phase did not fail" ;;
    *) fail "bad check '$check'" ;;
    esac
done
cat "$out.err" >&2
