#!/usr/bin/env bash
# load / show / stats end to end over the device socket, against
# fake_device.py: encoding, the transport, the buffer-growing loop of
# GET_CONFIG (a blob larger than lwfctl's first buffer), refusals, and
# both stats formats.
#
#   device_test.sh LWFCTL PYTHON
set -uo pipefail

LWFCTL=$1 PYTHON=$2 HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
SOCK=$WORK/dev.sock
"$PYTHON" "$HERE/fake_device.py" "$SOCK" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do [[ -S $SOCK ]] && break; sleep 0.1; done
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
drop both on eth0 "udp"
pass out on 02:00:00:00:00:01 "tcp"
pass both on ifindex:7 "arp"
RULES
run 0 load "$WORK/a.rules"
has '^loaded 4 rules, default drop: generation 1, grace period 1\.235 ms$'
run 0 show
has '^default drop$'
has '^# rule 1: pass in, [0-9]+ instructions$'
has '^# rule 2: drop both on "eth0", [0-9]+ instructions$'
has '^# rule 3: pass out on 02:00:00:00:00:01, [0-9]+ instructions$'
has '^# rule 4: pass both on ifindex:7, [0-9]+ instructions$'
[[ $(grep -c '^# rule' "$WORK/out") == 4 ]] || fail "show: not 4 rules"
run 0 show -v
has '^#    +0: A = half\[12\]$'
has '^#    +[0-9]+: return 65535$'

printf 'pass in "ip"\npass in "ip6"\ndrop in "arp"\n' >"$WORK/three.rules"
run 1 load "$WORK/three.rules"
has 'refused by the driver: HL_E_PROGRAM: rule 3: fake refusal \(generation 1 still running\)'

# Larger than lwfctl's first 64 KiB GET_CONFIG buffer.
for i in $(seq 1 1500); do echo "drop in \"tcp port $i or udp port $i\""; done >"$WORK/big.rules"
run 0 load "$WORK/big.rules"
has 'generation 2'
run 0 show
[[ $(grep -c '^# rule' "$WORK/out") == 1500 ]] || fail "show after a big load: not 1500 rules"

run 0 stats
has '^generation 5, 2 reconfigurations, last took 1\.500 ms$'
has '^1 +10 +0$'
has '^2 +0 +7$'
has '^default +42 +43$'
has '^veth-a +3 02:00:00:00:00:01 +100 +4 +50 +1$'
run 0 stats --json
"$PYTHON" - "$WORK/out" <<'PY' || fail "stats --json is not the expected JSON"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["generation"] == 5 and s["reconfigurations"] == 2 and s["last_reconfig_ns"] == 1500000
assert s["default"] == {"hits_in": 42, "hits_out": 43}
assert s["rules"] == [{"rule": 1, "hits_in": 10, "hits_out": 0}, {"rule": 2, "hits_in": 0, "hits_out": 7}]
assert s["adapters"] == [{"name": "veth-a", "ifindex": 3, "mac": "02:00:00:00:00:01", "rx_seen": 100,
                          "rx_dropped": 4, "tx_seen": 50, "tx_dropped": 1}]
PY
((fails == 0)) || { echo "$fails failure(s)" >&2; exit 1; }
echo "ok: load, show and stats over the device socket"
