#!/bin/sh
# --fault-injection on the command line: a correct driver whose every
# allocation fails must fail its attaches cleanly (no finding, exit 0, the
# adapter runs without it), and the report must say which calls failed.
#   fault_cli.sh NDISEMU DRIVER.so
set -u
out=$(mktemp "${TMPDIR:-/tmp}/ndisemu-fault.XXXXXX")
trap 'rm -f "$out"' EXIT
timeout -k 5 60 "$1" --driver "$2" --adapters 2 --cpus 2 --seconds 1 --traffic gen --rate 2000 \
    --fault-injection every=1 --json >"$out"
rc=$?
fail() { echo "FAIL: $*"; cat "$out"; exit 1; }
[ "$rc" -eq 0 ] || fail "ndisemu exited $rc, want 0"
grep -q '"fault_injection":{"spec":"every=1"' "$out" || fail "no fault_injection section"
grep -q '"NdisAllocateMemoryWithTagPriority":[1-9]' "$out" || fail "no failed allocation counted"
grep -q '"callback":"FilterAttach"' "$out" || fail "first failures not named by callback"
grep -q '"rx_delivered":0,' "$out" && fail "an adapter delivered nothing without the filter"
timeout -k 5 60 "$1" --driver "$2" --seconds 0 --quiet --fault-injection 0.5,seed=7 >"$out"
[ $? -eq 0 ] || fail "RATE,seed=S run failed"
echo "fault_cli: ok"
