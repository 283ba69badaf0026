#!/bin/sh
# ndisemu's command line: usage errors exit 2 with a message naming the
# problem, and --help lists every option with its default.
set -u
ndisemu="$1"
fail=0
expect() { # expect STATUS PATTERN ARGS...
    want="$1" pat="$2"
    shift 2
    out=$("$ndisemu" "$@" 2>&1)
    got=$?
    if [ "$got" -ne "$want" ]; then
        echo "FAIL: ndisemu $* exited $got, expected $want" >&2
        echo "$out" | head -5 >&2
        fail=1
    elif ! printf '%s' "$out" | grep -q -- "$pat"; then
        echo "FAIL: ndisemu $*: output lacks '$pat'" >&2
        fail=1
    fi
}
expect 2 "need at least one --driver"
expect 2 "unknown or incomplete option" --bogus
expect 2 "unknown or incomplete option" --cpus
expect 2 "cpus needs a number" --cpus 0 --stack ""
expect 2 "cpus needs a number" --cpus 65 --stack ""
expect 2 "batch needs" --batch 0 --stack ""
expect 2 "split needs" --split thirds --stack ""
expect 2 "split needs" --split every:0 --stack ""
expect 2 "rate needs" --rate -5 --stack ""
expect 2 "seconds needs" --seconds abc --stack ""
expect 2 "param needs Name=Value" --param NoValue --stack ""
expect 2 "unexpected argument" --stack "" extra
expect 2 "traffic" --stack "" --traffic /nonexistent/x.pcap --seconds 0
expect 2 "usage: ndisemu" --adapters 0
expect 2 "churn-mix needs" --churn-mix restart,bogus --stack ""
expect 2 "churn-mix needs" --churn-mix "" --stack ""
# Never shortened: a long list is read whole, so the bad name after its
# 256th byte is seen, and a spec too long to report whole is refused.
long_mix=$(printf 'restart,%.0s' $(seq 32))bogus
expect 2 "churn-mix needs" --churn-mix "$long_mix" --stack "" --seconds 0
expect 2 "fault-injection: longer than 63 characters" \
    --fault-injection "0.5$(printf '0%.0s' $(seq 70))" --stack "" --seconds 0
expect 2 "conformance needs a --driver" --conformance --stack ""
expect 0 "--churn-mix LIST" --help
expect 0 "--conformance" --help
expect 2 "dpc-watchdog-ms needs" --dpc-watchdog-ms 0 --stack ""
expect 2 "fault-injection needs RATE" --fault-injection 1.5 --stack ""
expect 2 "fault-injection needs RATE" --fault-injection often --stack ""
expect 2 "every=N needs N >= 1" --fault-injection every=0 --stack ""
expect 2 "only seed=S" --fault-injection every=3,salt=1 --stack ""
expect 0 "--fault-injection SPEC" --help
expect 0 "--device-socket PATH" --help
expect 0 "default 32" --help
if [ $fail -eq 0 ]; then echo "cli_usage: ok"; fi
exit $fail
