#!/bin/sh
# Traffic through a stack, checked from the JSON report: every originated
# packet came back, none arrived corrupted, and the verifier found nothing.
#   run_traffic.sh NDISEMU LIBDIR [ndisemu options...]
# The stack is the test drivers' pass-through when it has been built, else
# no filter at all (an empty --stack).
set -u
ndisemu="$1" libdir="$2"
shift 2
if [ -f "$libdir/passthru.so" ]; then
    set -- --driver "$libdir/passthru.so" "$@"
else
    set -- --stack "" "$@"
fi
out=$("$ndisemu" --json --quiet "$@")
rc=$?
# Per-adapter figures only: the timeline repeats some of the names.
adapters=$(printf '%s' "$out" | sed -n 's/.*"adapters":\[\(.*\)\],"churn_events".*/\1/p')
sum() { printf '%s' "$adapters" | grep -o "\"$1\":[0-9]*" | cut -d: -f2 | awk '{s+=$1} END {print s+0}'; }
churn=$(printf '%s' "$out" | grep -o '"churn_events":[0-9]*' | cut -d: -f2)
fail=0
[ "$rc" -eq 0 ] || { echo "FAIL: exit status $rc" >&2; fail=1; }
orig=$(sum rx_originated) deliv=$(sum rx_delivered) ret=$(sum rx_returned)
sent=$(sum tx_sent) done_=$(sum tx_completed)
[ "${orig:-0}" -gt 0 ] || { echo "FAIL: nothing originated" >&2; fail=1; }
[ "${deliv:-0}" -gt 0 ] || { echo "FAIL: nothing delivered" >&2; fail=1; }
[ "$orig" = "$ret" ] || { echo "FAIL: $orig originated, $ret returned" >&2; fail=1; }
[ "$sent" = "$done_" ] || { echo "FAIL: $sent sent, $done_ completed" >&2; fail=1; }
[ "$(sum rx_corrupted)" = 0 ] && [ "$(sum tx_corrupted)" = 0 ] ||
    { echo "FAIL: corrupted packets" >&2; fail=1; }
printf '%s' "$out" | grep -q '"violations":\[\]' || { echo "FAIL: findings" >&2; fail=1; }
case " $* " in
*" --churn "*) [ "${churn:-0}" -gt 0 ] || { echo "FAIL: --churn given, no churn event" >&2; fail=1; } ;;
esac
[ -n "$adapters" ] || { echo "FAIL: no adapters in the report" >&2; fail=1; }
[ $fail -eq 0 ] || printf '%s\n' "$out" >&2
[ $fail -eq 0 ] && echo "run_traffic: ok ($orig rx, $sent tx, ${churn:-0} churn): $*"
exit $fail
