# case_run.sh: the ndisemu run shared by run_case.sh and conformance_case.sh,
# sourced by them once they have taken their own leading arguments. Runs
# NDISEMU [ndisemu args] (the positional parameters up to "--") with
# $emu_flags and --json, killed after $limit seconds so a hang that the
# watchdog missed fails the test instead of stalling the suite. Leaves the
# JSON report in $out, stderr in $out.err, the exit status in $rc and the
# positional parameters after "--".
emu_args=
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    emu_args="$emu_args '$(printf %s "$1" | sed "s/'/'\\\\''/g")'"
    shift
done
[ $# -gt 0 ] && shift
out=$(mktemp "${TMPDIR:-/tmp}/ndisemu-case.XXXXXX")
trap 'rm -f "$out" "$out.err"' EXIT
eval "timeout -k 5 $limit $emu_args $emu_flags --json" >"$out" 2>"$out.err"
rc=$?
