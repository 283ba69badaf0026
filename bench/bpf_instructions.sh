#!/bin/sh
# bpf_instructions.sh BPFBENCH [--check]
#
# The deterministic half of hotlwf-bpfbench: instructions per program run
# of hl_bpf_exec (packets contiguous and split) and of libpcap's bpf_filter
# (contiguous), counted by callgrind inside each function and its callees,
# over one pass of every expression on every packet of the captures.
#
# --check: exit 1 unless bpf_filter runs at least 1.5 times the
# instructions of hl_bpf_exec on contiguous packets, and hl_bpf_exec on
# split packets runs no more than bpf_filter on contiguous ones.
set -eu
bench=$1
check=0
[ "${2:-}" = "--check" ] && check=1
command -v valgrind >/dev/null || { echo "bpf_instructions.sh: valgrind is not installed" >&2; exit 2; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bpf-instr.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

per_run() { # side function
    valgrind --tool=callgrind --toggle-collect="$2" --callgrind-out-file="$tmp/cg" \
        "$bench" --once "$1" >"$tmp/out" 2>"$tmp/err" || { cat "$tmp/err" >&2; return 1; }
    runs=$(awk '$1 == "runs" { print $2 }' "$tmp/out")
    ir=$(awk '$1 == "totals:" || $1 == "summary:" { print $2; exit }' "$tmp/cg")
    [ -n "$ir" ] && [ "${runs:-0}" -gt 0 ] || { echo "no cost found for $1" >&2; return 1; }
    awk -v ir="$ir" -v n="$runs" 'BEGIN { printf "%.2f\n", ir / n }'
}

pcap=$(per_run pcap bpf_filter)
whole=$(per_run hl-whole hl_bpf_exec)
s14=$(per_run hl-split14 hl_bpf_exec)
s3=$(per_run hl-split3 hl_bpf_exec)
echo "| packets (hl_bpf_exec) | hl_bpf_exec instructions/run | bpf_filter instructions/run (contiguous) | bpf_filter / hl_bpf_exec |"
echo "|---|---:|---:|---:|"
for row in "contiguous $whole" "split-14|rest $s14" "split-14|20|rest $s3"; do
    set -- $row
    awk -v n="$1" -v h="$2" -v p="$pcap" 'BEGIN { printf "| %s | %.2f | %.2f | %.2f |\n", n, h, p, p / h }'
done
if [ "$check" = 1 ]; then
    if awk -v w="$whole" -v a="$s14" -v b="$s3" -v p="$pcap" \
        'BEGIN { exit !(p >= 1.5 * w && a <= p && b <= p) }'; then
        echo "ok: bpf_filter / hl_bpf_exec >= 1.5 contiguous, >= 1 split"
    else
        echo "FAIL: bpf_filter $pcap, hl_bpf_exec $whole contiguous, $s14 / $s3 split" >&2
        exit 1
    fi
fi
