#!/bin/sh
# A WDK-style filter (wdk_style_lwf.c) builds with ndisemu-cc and nothing but
# a WDK project's defines, with -Wall -Wextra -Werror (no warning from
# ndisemu's headers), as an NDIS 6.30 and as an NDIS 6.0 driver; each build
# imports only what libndisemu exports and, loaded on two adapters, carries
# traffic both ways through the handlers it installed with its positional
# NDIS_FILTER_PARTIAL_CHARACTERISTICS, with no finding. Its FilterSetOptions
# runs once, after NDIS stored the driver handle it compares with; every
# FilterRestart gets restart attributes with a non-zero MTU; and it passes
# `ndisemu --conformance` (built as NDIS 6.30), whose OID phase runs its OID
# handlers.
set -u
cc="$1" ndisemu="$2" lib="$3" src="$(dirname "$0")/wdk_style_lwf.c"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
for version in NDIS630 NDIS60; do
    mkdir -p "$dir/$version"
    so="$dir/$version/wdkstyle.so"  # the base name is the service name NDIS checks
    if ! "$cc" -D$version=1 -DNDIS_WDM=1 -Wall -Wextra -Werror -o "$so" "$src"; then
        echo "FAIL: $version build" >&2
        fail=1
        continue
    fi
    sh "$(dirname "$0")/import_check.sh" "$lib" "$so" >/dev/null || fail=1
    if ! "$ndisemu" --driver "$so" --adapters 2 --cpus 2 --seconds 1 --quiet 2>"$dir/err"; then
        echo "FAIL: $version run" >&2
        cat "$dir/err" >&2
        fail=1
        continue
    fi
    # One line per module at detach: both adapters, traffic in both
    # directions, restart attributes seen (non-zero MTU).
    n=$(grep -ac 'wdkstyle: module .*rx=[1-9][0-9]* tx=[1-9][0-9]* .*mtu=[1-9]' "$dir/err")
    if [ "$n" -ne 2 ]; then
        echo "FAIL: $version: expected 2 modules with rx>0, tx>0 and mtu>0, got:" >&2
        cat "$dir/err" >&2
        fail=1
    fi
    if ! grep -aq 'wdkstyle: unload set_options=1 handle_stored=1$' "$dir/err"; then
        echo "FAIL: $version: FilterSetOptions did not run once with the stored handle:" >&2
        cat "$dir/err" >&2
        fail=1
    fi
    [ $version = NDIS630 ] || continue # the conformance run once: it takes seconds
    if ! "$ndisemu" --conformance --driver "$so" >"$dir/conf" 2>"$dir/err"; then
        echo "FAIL: $version --conformance" >&2
        cat "$dir/conf" "$dir/err" >&2
        fail=1
        continue
    fi
    # Its OID handlers ran: every module that saw the OID phase forwarded some.
    n=$(grep -ac 'wdkstyle: module .*oids=[1-9][0-9]* .*mtu=[1-9]' "$dir/err")
    if [ "$n" -lt 2 ]; then
        echo "FAIL: $version --conformance: expected 2 modules with oids>0 and mtu>0, got:" >&2
        cat "$dir/err" >&2
        fail=1
    fi
done
[ $fail -eq 0 ] && echo "wdk_style: ok"
exit $fail
