#!/bin/sh
# expect_json_selftest.sh CHECKER: the driver tests are only as good as their
# checker, so it must accept the right report and reject every wrong one.
set -u
ej=$1
dir=$(mktemp -d "${TMPDIR:-/tmp}/ej-selftest.XXXXXX")
trap 'rm -rf "$dir"' EXIT
failures=0

cat >"$dir/clean.json" <<'J'
{"adapters":[{"index":0,"rx_originated":120,"rx_delivered":120,"tx_originated":7,"tx_delivered":7,"rx_corrupt":0}],
 "violations":[]}
J
cat >"$dir/lost.json" <<'J'
{"adapters":[{"rx_originated":120,"rx_delivered":119,"tx_originated":7,"tx_delivered":7}],"violations":[]}
J
cat >"$dir/txlost.json" <<'J'
{"adapters":[{"rx_originated":5,"rx_delivered":5,"tx_sent":10,"tx_reached_miniport":8,"tx_refused_paused":1,"tx_completed":10}],"violations":[]}
J
cat >"$dir/txrefused.json" <<'J'
{"adapters":[{"rx_originated":5,"rx_delivered":5,"tx_sent":10,"tx_reached_miniport":9,"tx_refused_paused":1,"tx_completed":10,"rx_dropped_by_filter":0}],"violations":[]}
J
cat >"$dir/dropped.json" <<'J'
{"adapters":[{"rx_originated":5,"rx_delivered":5,"rx_dropped_by_filter":2}],"violations":[]}
J
cat >"$dir/corrupt.json" <<'J'
{"adapters":[{"rx_originated":5,"rx_delivered":5,"rx_corrupt":1}],"violations":[]}
J
# A deadlock dump: human-readable lines, then the report.
cat >"$dir/deadlock.txt" <<'J'
deadlock: Pause of fence#1@adapter0 blocked in FilterPause for 2000 ms
{"adapters":[{"rx_originated":3,"rx_delivered":3}],
 "violations":[{"rule":"deadlock","module":"fence#1@adapter0","callback":"FilterPause","message":"blocked \"2000 ms\""},
               {"rule":"pause-with-outstanding-nbls","module":"x#0@adapter0","callback":"FilterPause","message":""}]}
J

ok() { # description, args...
    d=$1; shift
    if ! "$ej" "$@" >/dev/null 2>&1; then echo "FAIL (rejected): $d"; failures=$((failures + 1)); fi
}
no() {
    d=$1; shift
    if "$ej" "$@" >/dev/null 2>&1; then echo "FAIL (accepted): $d"; failures=$((failures + 1)); fi
}

ok "clean report, all delivered" --delivered --min-rx 100 "$dir/clean.json"
no "too few packets" --min-rx 1000 "$dir/clean.json"
no "a packet lost" --delivered "$dir/lost.json"
no "a packet corrupted" --delivered "$dir/corrupt.json"
no "a send lost" --delivered "$dir/txlost.json"
ok "a send refused while paused" --delivered "$dir/txrefused.json"
no "a receive dropped by the filter" --delivered "$dir/dropped.json"
cat >"$dir/churn.json" <<'J'
{"adapters":[{"rx_originated":10,"rx_delivered":8,"rx_dropped_by_filter":2,"rx_returned":10,"tx_sent":4,"tx_completed":4}],"violations":[]}
J
cat >"$dir/churnlost.json" <<'J'
{"adapters":[{"rx_originated":10,"rx_delivered":7,"rx_dropped_by_filter":2,"rx_returned":10}],"violations":[]}
J
cat >"$dir/churnkept.json" <<'J'
{"adapters":[{"rx_originated":10,"rx_delivered":8,"rx_dropped_by_filter":2,"rx_returned":9}],"violations":[]}
J
ok "churn: paused drops accounted for" --accounted "$dir/churn.json"
no "churn: paused drops are not delivered" --delivered "$dir/churn.json"
no "churn: a receive vanished" --accounted "$dir/churnlost.json"
no "churn: a receive never returned" --accounted "$dir/churnkept.json"
no "churn: a send lost" --accounted "$dir/txlost.json"
no "expected finding missing" --expect irql "$dir/clean.json"
ok "deadlock triple" --expect deadlock:fence:FilterPause --allow pause-with-outstanding-nbls "$dir/deadlock.txt"
ok "callback alternatives" --expect "deadlock:fence:NdisFPauseComplete|FilterPause" --allow pause-with-outstanding-nbls "$dir/deadlock.txt"
no "unexpected finding = false alarm" --expect deadlock:fence:FilterPause "$dir/deadlock.txt"
no "wrong module" --expect deadlock:passthru:FilterPause --allow pause-with-outstanding-nbls "$dir/deadlock.txt"
no "wrong callback" --expect deadlock:fence:FilterRestart --allow pause-with-outstanding-nbls "$dir/deadlock.txt"
cat >"$dir/watchdog.txt" <<'J'
VIOLATION [deadlock] module=fence#1@ndisemu0 callback=FilterPause: Pause blocked for 2007 ms (limit 2000 ms) in FilterPause
ndisemu: deadlock: exiting with status 3
J
ok "text findings from the watchdog" --expect deadlock:fence:FilterPause "$dir/watchdog.txt"
no "text findings, wrong callback" --expect deadlock:fence:FilterRestart "$dir/watchdog.txt"
no "text findings, no deadlock" --expect irql "$dir/watchdog.txt"
# Per-rule totals: a rule counted but not kept is still a finding.
cat >"$dir/totals.json" <<'J'
{"adapters":[{"rx_originated":3,"rx_delivered":3}],
 "violations":[{"rule":"pool-double-free","windows":"0xC2(0x7) BAD_POOL_CALLER","module":"bad#0","callback":"ExFreePool","message":"x"}],
 "rule_totals":{"pool-double-free":{"total":4,"kept":1,"windows":"0xC2(0x7) BAD_POOL_CALLER","description":"d"}}}
J
cat >"$dir/totals_hidden.json" <<'J'
{"adapters":[{"rx_originated":3,"rx_delivered":3}],
 "violations":[{"rule":"pool-double-free","windows":"0xC2","module":"bad#0","callback":"ExFreePool","message":"x"}],
 "rule_totals":{"pool-double-free":{"total":1,"kept":1,"windows":"0xC2","description":"d"},
                "irql":{"total":900,"kept":0,"windows":"0xC4","description":"d"}}}
J
cat >"$dir/totals_wrong.json" <<'J'
{"adapters":[{"rx_originated":3,"rx_delivered":3}],
 "violations":[{"rule":"pool-double-free","windows":"0xC2","module":"bad#0","callback":"ExFreePool","message":"x"}],
 "rule_totals":{"pool-double-free":{"total":1,"kept":2,"windows":"0xC2","description":"d"}}}
J
ok "totals agree with the kept findings" --expect pool-double-free:bad:ExFreePool "$dir/totals.json"
no "a rule counted but not kept is a false alarm" --expect pool-double-free "$dir/totals_hidden.json"
ok "... unless allowed" --expect pool-double-free --allow irql "$dir/totals_hidden.json"
no "totals disagree with the kept findings" --expect pool-double-free "$dir/totals_wrong.json"
printf 'not json' >"$dir/garbage.txt"
no "garbage" "$dir/garbage.txt"
no "no such file" "$dir/missing.json"

[ "$failures" -eq 0 ] && echo "expect_json selftest: ok"
exit "$failures"
