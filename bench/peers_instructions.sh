#!/bin/sh
# peers_instructions.sh PEERS [--check] [FLAVOUR...]
#
# The deterministic half of hotlwf-peers: instructions per read section of
# each flavour's reader loop, counted by callgrind (the reader function's
# inclusive cost divided by the sections it ran; the work inside a section
# (8 words) and the quiescent points are included, the writer's grace
# periods, 1,000 a second, are not), with a quiescent point after every
# section and after every 64. Wall-clock ratios of loops this small move by
# 10-20% with code alignment alone; instruction counts do not.
#
# --check: exit 1 unless hl-epoch runs no more instructions per section
# than urcu-qsbr at both settings (the issue's "epoch's read side no costlier
# than QSBR's"), allowing half an instruction for how many grace periods
# each run happened to overlap.
set -eu
peers=$1
shift
check=0
if [ "${1:-}" = "--check" ]; then
    check=1
    shift
fi
[ $# -gt 0 ] || set -- hl-epoch hl-epoch-view urcu-qsbr urcu-memb ck_epoch
command -v valgrind >/dev/null || { echo "peers_instructions.sh: valgrind is not installed" >&2; exit 2; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/peers-instr.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# The reader loop each flavour instantiates from peer_loop.h.
reader_of() {
    case $1 in
    unsync) echo none_reader ;;
    hl-epoch) echo hl_reader ;;
    hl-epoch-view) echo hl_view_reader ;;
    hl-epoch-ndisemu) echo ne_reader ;;
    urcu-qsbr) echo qsbr_reader ;;
    urcu-memb) echo memb_reader ;;
    ck_epoch) echo ck_reader ;;
    rwlock) echo rw_reader ;;
    *) echo "peers_instructions.sh: unknown flavour '$1'" >&2; return 1 ;;
    esac
}

# One flavour under callgrind, counting only inside its reader function
# (callees included); prints its instructions per section.
per_section() { # flavour qs-every
    fn=$(reader_of "$1")
    valgrind --tool=callgrind --toggle-collect="$fn" --callgrind-out-file="$tmp/cg" "$peers" \
        --flavours "$1" --reps 1 --duration-ms 200 --rate 1000 --qs-every "$2" --readers 2 \
        --json "$tmp/run.json" >"$tmp/out" 2>&1 || { cat "$tmp/out" >&2; return 1; }
    reads=$(jq --arg f "$1" '.flavours[] | select(.name == $f) | .reads' "$tmp/run.json")
    ir=$(awk '$1 == "totals:" || $1 == "summary:" { print $2; exit }' "$tmp/cg")
    [ -n "$ir" ] && [ "${reads:-0}" -gt 0 ] || { echo "no reader cost found for $1" >&2; return 1; }
    awk -v ir="$ir" -v n="$reads" 'BEGIN { printf "%.2f\n", ir / n }'
}

echo "| flavour | instructions / section, quiescent point every section | every 64 sections |"
echo "|---|---:|---:|"
for f in "$@"; do
    v1=$(per_section "$f" 1)
    v64=$(per_section "$f" 64)
    echo "| $f | $v1 | $v64 |"
    echo "$f $v1 $v64" >>"$tmp/all"
done
if [ "$check" = 1 ]; then
    hl=$(awk '$1 == "hl-epoch" { print $2, $3 }' "$tmp/all")
    qs=$(awk '$1 == "urcu-qsbr" { print $2, $3 }' "$tmp/all")
    [ -n "$hl" ] && [ -n "$qs" ] || { echo "FAIL: --check needs hl-epoch and urcu-qsbr" >&2; exit 1; }
    if echo "$hl $qs" | awk '{ exit !($1 <= $3 + 0.5 && $2 <= $4 + 0.5) }'; then
        echo "ok: hl-epoch ($hl) <= urcu-qsbr ($qs) instructions per section"
    else
        echo "FAIL: hl-epoch ($hl) > urcu-qsbr ($qs) instructions per section" >&2
        exit 1
    fi
fi
