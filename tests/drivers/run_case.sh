#!/bin/sh
# run_case.sh: one driver test = one ndisemu run + one expect_json check.
#   run_case.sh EXPECT_JSON WANT_EXIT LIMIT_S NDISEMU [ndisemu args] -- [expect_json args]
# The run is killed after LIMIT_S seconds, so a hang that the watchdog
# missed fails the test instead of stalling the suite.
set -u
checker=$1 want=$2 limit=$3
shift 3
emu_flags=''
. "$(dirname "$0")/case_run.sh"
fail() {
    echo "FAIL: $*"
    echo "--- ndisemu stdout"; cat "$out"
    echo "--- ndisemu stderr"; tail -n 40 "$out.err"
    rm -f "$out.err"
    exit 1
}
[ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && fail "ndisemu still running after ${limit}s"
[ "$rc" -eq "$want" ] || fail "ndisemu exited $rc, want $want"
# The report is on stdout; a run ended by the watchdog may have only the
# human-readable findings on stderr, which the checker also understands.
cat "$out.err" >>"$out"
"$checker" "$@" "$out" || fail "report check"
rm -f "$out.err"
