#!/usr/bin/env bash
# The hotlwf demo: ndisemu runs the hotlwf LWF on 4 adapters with traffic
# replayed from a real capture; lwfctl replaces the rules many times a second
# while the traffic runs; at the end, every packet is accounted for.
# Usage: scripts/demo.sh [--seconds N]   (storm length, default 8)
set -euo pipefail
cd "$(dirname "$0")/.."
storm=8
[ "${1:-}" = "--seconds" ] && storm=${2:?--seconds needs a number}
case "$storm" in '' | *[!0-9]*) echo "demo: --seconds wants a whole number" >&2; exit 2 ;; esac

scripts/deps.sh
cmake -S . -B build >/dev/null
cmake --build build -j"$(nproc)" >/dev/null

# The socket in a directory only we can write (docs/security.md), not in /tmp itself.
dir=$(mktemp -d /tmp/hotlwf-demo.XXXXXX)
sock=$dir/ctl.sock
out=$dir/ndisemu.json
capture=tests/data/captures/netns-mixed.pcap
total=$((storm + 6))
lwfctl() { build/bin/lwfctl "$@" --device "$sock"; }

echo "== ndisemu: hotlwf on 4 adapters, 4 CPUs, traffic from $capture, ${total}s"
build/bin/ndisemu --driver build/lib/hotlwf.so --adapters 4 --cpus 4 \
    --traffic "$capture" --rate 20000 --split random --seconds "$total" \
    --device-socket "$sock" --json >"$out" &
emu=$!
trap 'kill $emu 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] || { echo "demo: ndisemu did not open its control device" >&2; exit 1; }

echo "== reconfiguration storm: lwfctl alternates demo/web.rules and demo/lockdown.rules for ${storm}s"
loads=0
start=$SECONDS
shown=$SECONDS
while [ $((SECONDS - start)) -lt "$storm" ]; do
    lwfctl load demo/lockdown.rules >/dev/null
    lwfctl load demo/web.rules >/dev/null
    loads=$((loads + 2))
    if [ $SECONDS -ne $shown ]; then
        shown=$SECONDS
        printf '\r   %ds: %d configurations loaded' "$((SECONDS - start))" "$loads" >&2
    fi
done
printf '\r   %ds: %d configurations loaded (%d/s)\n' "$storm" "$loads" "$((loads / storm))" >&2
echo "== final configuration, then 3 seconds of traffic under it"
lwfctl load demo/web.rules
sleep 3
lwfctl stats
wait $emu && rc=0 || rc=$?

echo "== summary ($loads live reconfigurations under traffic)"
jq -r '.adapters[] | "\(.name): received \(.rx_originated), delivered \(.rx_delivered), dropped by rules \(.rx_dropped_by_filter), lost \(.rx_originated - .rx_delivered - .rx_dropped_by_filter); sent \(.tx_sent), dropped by rules \(.tx_dropped_by_filter), lost \(.tx_sent - .tx_reached_miniport - .tx_dropped_by_filter)"' "$out"
lost=$(jq '[.adapters[] | (.rx_originated - .rx_delivered - .rx_dropped_by_filter) + (.tx_sent - .tx_reached_miniport - .tx_dropped_by_filter)] | add' "$out")
findings=$(jq '.violations | length' "$out")
echo "packets lost to reconfiguration: $lost; verifier findings: $findings (ndisemu exit $rc)"
[ "$lost" -eq 0 ] && [ "$findings" -eq 0 ] && [ "$rc" -eq 0 ]
