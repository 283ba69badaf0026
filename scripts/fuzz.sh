#!/usr/bin/env bash
# Builds every libFuzzer target (clang, ASan+UBSan, build-fuzz/) and runs each
# for N seconds over its saved corpus, then prints one summary line per target:
# executions, executions per second, libFuzzer's coverage (cov: edges, ft:
# features), corpus size and crashes. Exits non-zero if any target crashed,
# leaked or timed out.
# New inputs go to BUILD/fuzz-corpus/NAME (the saved corpus in tests/ is only
# read); a crashing input is saved as BUILD/fuzz-crashes/NAME-crash-*.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
    cat <<USAGE
usage: scripts/fuzz.sh [--seconds N] [--no-build] [--build-dir DIR]
  --seconds N      run each fuzz target for N seconds (default 60)
  --no-build       use the targets already built in the build directory
  --build-dir DIR  the HL_FUZZ=ON build directory (default build-fuzz)
  --help           this text
USAGE
}

seconds=60 build=1 dir=build-fuzz
while [ $# -gt 0 ]; do
    case "$1" in
    --seconds) seconds=${2:-}; shift 2 || true ;;
    --no-build) build=0; shift ;;
    --build-dir) dir=${2:-}; shift 2 || true ;;
    --help | -h) usage; exit 0 ;;
    *) echo "fuzz.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
case "$seconds" in
'' | *[!0-9]* | 0) echo "fuzz.sh: --seconds needs a positive whole number" >&2; exit 2 ;;
esac
[ -n "$dir" ] || { echo "fuzz.sh: --build-dir needs a directory" >&2; exit 2; }

if [ $build -eq 1 ]; then
    cmake -S . -B "$dir" -DHL_FUZZ=ON -DCMAKE_C_COMPILER=clang -DHL_SANITIZE=address >/dev/null
fi
list="$dir/fuzz_targets.txt"
[ -f "$list" ] || { echo "fuzz.sh: no $list: is $dir an HL_FUZZ=ON build?" >&2; exit 2; }
if [ $build -eq 1 ]; then
    cmake --build "$dir" -j"$(nproc)" --target $(cut -d' ' -f1 "$list")
fi

mkdir -p "$dir/fuzz-crashes"
summary="" failed=0
while read -r name corpus; do
    [ -n "$name" ] || continue
    bin="$dir/bin/$name" work="$dir/fuzz-corpus/$name" log="$dir/fuzz-$name.log"
    [ -x "$bin" ] || { echo "fuzz.sh: $bin not built" >&2; exit 2; }
    mkdir -p "$work"
    echo "== $name: ${seconds}s over $corpus (log: $log)"
    rc=0
    "$bin" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$dir/fuzz-crashes/$name-" "$work" "$corpus" >"$log" 2>&1 || rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9]*' "$log" | tail -1)
    if [ $rc -eq 0 ]; then
        result="ok"
    else
        result="CRASH (exit $rc): $(grep -m1 -E 'ERROR|runtime error|Test unit written' "$log" || true)"
        failed=1
    fi
    line=$(printf '%-16s %12s execs %7s/s  %-36s %s' "$name" "${execs:-?}" "${rate:-?}" \
        "${cov:-cov: ?}" "$result")
    echo "$line"
    summary="$summary$line"$'\n'
done <"$list"

echo "== summary (${seconds}s per target)"
printf '%s' "$summary"
if [ $failed -ne 0 ]; then
    echo "== a fuzz target failed: see its log and $dir/fuzz-crashes/" >&2
    exit 1
fi
echo "== no crashes"
