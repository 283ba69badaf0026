#!/usr/bin/env bash
# Builds hltorture and the torture build of hotlwf, then runs one long
# torture (docs/rcu.md, "hltorture"): traffic on 3 adapters and 4 emulated
# CPUs, a SET_CONFIG storm, stack and OID churn and fault injection, a
# progress line every 10 s and the age histogram at the end. Exit status is
# hltorture's: 0 only if clean. The whole output is also kept in
# BUILD/torture-<date>.log.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
    cat <<USAGE
usage: scripts/torture.sh --minutes N [--sanitize address|thread] [--no-build] [-- HLTORTURE-ARGS...]
  --minutes N          run time in minutes (required; a whole number >= 1)
  --sanitize KIND      build and run under ASan+UBSan (address, in build-asan) or TSan
                       (thread, in build-tsan); default: the plain build in build
  --no-build           run what is already built
  --help               this text
Anything after -- goes to hltorture (build/bin/hltorture --help), e.g.
  scripts/torture.sh --minutes 30 -- --strategy epoch --cpus 8 --fault-injection 0.001
Defaults passed to hltorture: --churn 20 --fault-injection 0.01 --progress-every 10.
USAGE
}

minutes="" sanitize=none build=1
while [ $# -gt 0 ]; do
    case "$1" in
    --minutes) minutes=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
    --sanitize) sanitize=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
    --no-build) build=0; shift ;;
    --help | -h) usage; exit 0 ;;
    --) shift; break ;;
    *) echo "torture.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
case "$minutes" in
'' | *[!0-9]* | 0) echo "torture.sh: --minutes needs a positive whole number" >&2; usage >&2; exit 2 ;;
esac
case "$sanitize" in
none) dir=build ;;
address) dir=build-asan ;;
thread) dir=build-tsan ;;
*) echo "torture.sh: --sanitize needs address or thread, not '$sanitize'" >&2; exit 2 ;;
esac

if [ $build -eq 1 ]; then
    cmake -S . -B "$dir" -DHL_SANITIZE="$sanitize" >/dev/null
    cmake --build "$dir" -j"$(nproc)" --target hltorture
fi
bin="$dir/bin/hltorture"
[ -x "$bin" ] || { echo "torture.sh: $bin not built (run without --no-build)" >&2; exit 2; }

# TSan slows every emulated CPU about tenfold: the traffic follows (as in the suite).
rate=20000
[ "$sanitize" = thread ] && rate=10000
log="$dir/torture-$(date -u +%Y%m%dT%H%M%SZ).log"
echo "== hltorture, $minutes min, $sanitize build, log $log; load: $(cut -d' ' -f1-3 /proc/loadavg)"
rc=0
"$bin" --minutes "$minutes" --rate "$rate" --churn 20 --fault-injection 0.01 --progress-every 10 \
    "$@" 2>&1 | tee "$log" || rc=$?
echo "== load at the end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$log"
exit "$rc"
