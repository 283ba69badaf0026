#!/usr/bin/env bash
# load / show / stats end to end against the real thing: ndisemu running
# hotlwf.so with its control device on a Unix socket. Covers encoding, the
# transport, GET_CONFIG's buffer-growing loop (a blob larger than lwfctl's
# first buffer), both stats formats, and what lwfctl says when no device is
# there.
#
#   device_test.sh LWFCTL NDISEMU HOTLWF_SO JQ
set -uo pipefail

LWFCTL=$1 NDISEMU=$2 HOTLWF=$3 JQ=$4
WORK=$(mktemp -d)
SOCK=$WORK/dev.sock
"$NDISEMU" --driver "$HOTLWF" --adapters 2 --cpus 2 --rate 5000 --seconds 120 \
    --device-socket "$SOCK" --quiet >"$WORK/emu.out" 2>&1 &
EMU=$!
trap 'kill $EMU 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do [[ -S $SOCK ]] && break; sleep 0.1; done
export NDISEMU_DEVICE=$SOCK
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
# run STATUS CMD...: output in $WORK/out
run() {
    local want=$1
    shift
    "$LWFCTL" "$@" >"$WORK/out" 2>&1
    local got=$?
    [[ $got == "$want" ]] || { fail "lwfctl $*: exit $got, expected $want"; sed 's/^/  | /' "$WORK/out" >&2; }
}
has() { grep -Eq -- "$1" "$WORK/out" || { fail "output lacks /$1/"; sed 's/^/  | /' "$WORK/out" >&2; }; }

cat >"$WORK/a.rules" <<'RULES'
default drop
pass in "icmp"
drop both on ndisemu0 "udp"
pass out on 02:4e:45:4d:00:01 "tcp"
pass both on ifindex:101 "arp"
RULES
run 0 load "$WORK/a.rules"
has '^loaded 4 rules, default drop: generation [0-9]+, grace period [0-9.]+ ms$'
has '^compiled in [0-9.]+ ms: snapshot [1-9][0-9]* bytes \+ index [1-9][0-9]* bytes, [0-4] of 4 rules indexed on [0-9]+ header fields?$'
run 0 show
has '^default drop$'
has '^# rule 1: pass in, [0-9]+ instructions$'
has '^# rule 2: drop both on "?ndisemu0"?, [0-9]+ instructions$'
has '^# rule 3: pass out on 02:4e:45:4d:00:01, [0-9]+ instructions$'
has '^# rule 4: pass both on ifindex:101, [0-9]+ instructions$'
[[ $(grep -c '^# rule' "$WORK/out") == 4 ]] || fail "show: not 4 rules"
run 0 show -v
has '^#    +0: A = half\[12\]$'
has '^#    +[0-9]+: return 65535$'

# Larger than lwfctl's first 64 KiB GET_CONFIG buffer.
for i in $(seq 1 1500); do echo "drop in \"tcp port $i or udp port $i\""; done >"$WORK/big.rules"
run 0 load "$WORK/big.rules"
run 0 show
[[ $(grep -c '^# rule' "$WORK/out") == 1500 ]] || fail "show after a big load: not 1500 rules"

run 0 load "$WORK/a.rules"
sleep 1 # let traffic reach the rules
run 0 stats
has '^generation [0-9]+, [0-9]+ reconfigurations, last took [0-9.]+ ms$'
has '^default +[0-9]+ +[0-9]+$'
has '^running configuration: 4 rules, compiled in [0-9.]+ ms, snapshot [1-9][0-9]* bytes \+ index [1-9][0-9]* bytes, [0-4] rules? indexed on [0-9]+ header fields?$'
run 0 stats --json
"$JQ" -e '(.rules | length) == 4 and .reconfigurations >= 3 and (.adapters | length) == 2
          and .compile_ns > 0 and .snapshot_bytes > 0 and .index_bytes > 0
          and ([.adapters[].rx_seen] | add) > 0 and .default.hits_in >= 0' "$WORK/out" >/dev/null ||
    { fail "stats --json: unexpected object"; sed 's/^/  | /' "$WORK/out" >&2; }

kill -TERM $EMU
wait $EMU
rc=$?
[[ $rc == 0 ]] || { fail "ndisemu exited $rc after SIGTERM"; sed 's/^/  | /' "$WORK/emu.out" >&2; }
run 1 show --device "$WORK/gone.sock"
has 'cannot connect to'

((fails == 0)) || { echo "$fails failure(s)" >&2; exit 1; }
echo "ok: load, show and stats against ndisemu + hotlwf over the device socket"
