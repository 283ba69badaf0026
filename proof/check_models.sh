#!/bin/sh
# proof/check_models.sh [--cpus N] [--swaps N] [NCPU [SWAPS]]: model-checks
# proof/epoch.pml with spin (default 2 CPUs, 2 swaps).
#   epoch safety     no freed snapshot dereferenced, no generation paired with
#                    an older snapshot, no old rules after W3: must find no error
#   epoch liveness   ltl w3_returns under weak fairness: must find no error
#   flushdpc         W3 = KeFlushQueuedDpcs: must find a counterexample; its
#                    shortest trail is printed
# From 3 CPUs on, the state space is far larger (docs/rcu.md): states are
# stored compressed (-DCOLLAPSE) within HL_MODEL_MEMLIM_MB (default 16384)
# megabytes, and the flushdpc trail is found breadth-first (-DBFS, shortest
# first) instead of by iterated depth-first searches (-i).
# Prints the states each search stored. Exit 0 when all three go as required,
# 1 otherwise, 77 when spin or a C compiler is missing (ctest SKIP_RETURN_CODE).
set -u
usage() {
    sed -n '2,3p' "$0" | sed 's/^# //'
}
NCPU=2 SWAPS=2 npos=0
while [ $# -gt 0 ]; do
    case "$1" in
    --cpus) NCPU=${2:-}; shift 2 || shift ;;
    --swaps) SWAPS=${2:-}; shift 2 || shift ;;
    --help | -h) usage; exit 0 ;;
    -*) echo "check_models.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    *) if [ $npos -eq 0 ]; then NCPU=$1; else SWAPS=$1; fi; npos=$((npos + 1)); shift ;;
    esac
done
for v in "$NCPU" "$SWAPS"; do
    case "$v" in
    '' | *[!0-9]* | 0) echo "check_models.sh: CPUs and swaps must be positive whole numbers" >&2
        exit 2 ;;
    esac
done
if [ "$NCPU" -ge 3 ]; then
    BIG="-DCOLLAPSE -DMEMLIM=${HL_MODEL_MEMLIM_MB:-16384}"
    FLUSH_CC="-DSAFETY -DNOCLAIM -DBFS $BIG" FLUSH_PAN="-m1000000"
else
    BIG=""
    FLUSH_CC="-DSAFETY -DNOCLAIM -DREACH" FLUSH_PAN="-i -m1000000"
fi
HERE=$(cd "$(dirname "$0")" && pwd)
CC=${CC:-cc}
command -v spin >/dev/null 2>&1 || { echo "SKIP: spin is not installed (scripts/deps.sh)"; exit 77; }
command -v "$CC" >/dev/null 2>&1 || { echo "SKIP: no C compiler ($CC)"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hl-model.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cp "$HERE/epoch.pml" "$tmp/"
cd "$tmp" || exit 1
failed=0

# run NAME SPIN_DEFINES CC_DEFINES PAN_ARGS: builds and runs one verifier, output in NAME.out
run() {
    spin $2 -DNCPU="$NCPU" -DSWAPS="$SWAPS" -a epoch.pml >"$1.spin" 2>&1 || { cat "$1.spin"; return 1; }
    # -w: pan.c is generated code; its warnings are spin's, not ours.
    $CC -O2 -w $3 -o "pan_$1" pan.c || return 1
    "./pan_$1" $4 >"$1.out" 2>&1
    if grep -q "max search depth too small" "$1.out"; then
        echo "FAIL: $1: search truncated (raise -m)"
        return 1
    fi
    states=$(awk '/states, stored/ { print $1; exit }' "$1.out")
    errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$1.out" | head -n 1)
    echo "$1: $states states stored, errors: $errors (NCPU=$NCPU SWAPS=$SWAPS)"
    [ -n "$states" ] && [ -n "$errors" ]
}

if run epoch_safety "" "-DSAFETY -DNOCLAIM $BIG" "-m1000000" && [ "$errors" = 0 ]; then
    echo "ok: the epoch swap is safe"
else
    echo "FAIL: the epoch model has an error"; cat epoch_safety.out; failed=1
fi
if run epoch_liveness "" "-DNFAIR=4 $BIG" "-a -f -m1000000" && [ "$errors" = 0 ]; then
    echo "ok: W3 always returns (weak fairness)"
else
    echo "FAIL: the epoch model's liveness has an error"; cat epoch_liveness.out; failed=1
fi
# -i (or -DBFS): the shortest counterexample, the one docs/rcu.md shows.
if run flushdpc "-DFLUSHDPC" "$FLUSH_CC" "$FLUSH_PAN" && [ "$errors" -ge 1 ] &&
    [ -f epoch.pml.trail ]; then
    echo "ok: flushdpc refuted; shortest trail:"
    spin -DFLUSHDPC -DNCPU="$NCPU" -DSWAPS="$SWAPS" -t -p epoch.pml |
        grep -E '^ *[0-9]+:.*\[|assertion violated|text of failed' | grep -v 'goto\|((k<' |
        sed 's/^ */    /'
else
    echo "FAIL: the flushdpc model found no counterexample"; cat flushdpc.out; failed=1
fi
exit $failed
