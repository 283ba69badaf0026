#!/bin/sh
# classify_instructions.sh BPFBENCH [--check]
#
# The deterministic half of hotlwf-bpfbench --classify: instructions per
# packet inside hl_classify (callgrind, callees included) for block lists of
# 10 and 10,000 rules of each indexable shape, over every packet of the
# captures, received direction.
#
# --check: exit 1 unless 10,000 rules cost at most twice the instructions
# per packet of 10 (the "at least half the packets/s"), per shape.
set -eu
bench=$1
check=0
[ "${2:-}" = "--check" ] && check=1
command -v valgrind >/dev/null || { echo "classify_instructions.sh: valgrind is not installed" >&2; exit 2; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/classify-instr.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

per_packet() { # shape:n
    valgrind --tool=callgrind --toggle-collect=hl_classify --callgrind-out-file="$tmp/cg" \
        "$bench" --classify-once "$1" >"$tmp/out" 2>"$tmp/err" || { cat "$tmp/err" >&2; return 1; }
    runs=$(awk '$1 == "runs" { print $2 }' "$tmp/out")
    ir=$(awk '$1 == "totals:" || $1 == "summary:" { print $2; exit }' "$tmp/cg")
    [ -n "$ir" ] && [ "${runs:-0}" -gt 0 ] || { echo "no cost found for $1" >&2; return 1; }
    awk -v ir="$ir" -v n="$runs" 'BEGIN { printf "%.1f\n", ir / n }'
}

echo "| shape | instructions / packet, 10 rules | 10,000 rules | ratio |"
echo "|---|---:|---:|---:|"
fail=0
for shape in hosts ports prefixes; do
    small=$(per_packet "$shape:10")
    large=$(per_packet "$shape:10000")
    awk -v s="$shape" -v a="$small" -v b="$large" 'BEGIN { printf "| %s | %s | %s | %.2f |\n", s, a, b, b / a }'
    awk -v a="$small" -v b="$large" 'BEGIN { exit !(b <= 2 * a) }' || fail=1
done
if [ "$check" = 1 ]; then
    if [ "$fail" = 0 ]; then
        echo "ok: 10,000 rules cost at most twice 10 rules, every shape"
    else
        echo "FAIL: some shape costs more than twice as much at 10,000 rules" >&2
        exit 1
    fi
fi
