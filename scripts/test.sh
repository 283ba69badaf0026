#!/usr/bin/env bash
# Builds hotlwf three ways and runs the test suite in each:
#   build/       plain       ctest -L unit            (seconds)
#   build-asan/  ASan+UBSan  ctest -L 'unit|stress'
#   build-tsan/  TSan        ctest -L 'unit|stress'
#   build-fuzz/  clang, ASan+UBSan, libFuzzer: every fuzz target for
#                FUZZ_SECONDS (default 15) seconds (scripts/fuzz.sh)
# Usage: scripts/test.sh [--quick]   (--quick: the plain build only)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc)

run() { # dir sanitizer labels
    local dir=$1 san=$2 labels=$3
    echo "== $dir (HL_SANITIZE=$san): ctest -L '$labels'"
    cmake -S . -B "$dir" -DHL_SANITIZE="$san" >/dev/null
    cmake --build "$dir" -j"$jobs"
    (cd "$dir" && ctest -L "$labels" --output-on-failure -j"$jobs" --timeout 900)
}

run build none 'unit|bench'
[ "${1:-}" = "--quick" ] && exit 0
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1 second_deadlock_stack=1}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1 abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1 halt_on_error=1}"
run build-asan address 'unit|stress'
run build-tsan thread 'unit|stress'
echo "== build-fuzz: scripts/fuzz.sh --seconds ${FUZZ_SECONDS:-15}"
scripts/fuzz.sh --seconds "${FUZZ_SECONDS:-15}"
echo "== all test configurations passed"
