#!/bin/sh
# The driver-import check: a driver may import only what ndisemu exports
# (the kernel/NDIS API), exactly as a .sys may import only from ntoskrnl and
# ndis.sys. Allowed besides: memcpy/memset/memmove/memcmp (ntoskrnl exports
# them) and, in sanitizer builds, the sanitizer runtimes' entry points.
#   import_check.sh LIBNDISEMU.so DRIVER_DIR   (every *.so in it but libndisemu.so)
#   import_check.sh LIBNDISEMU.so DRIVER.so...
set -u
lib="$1"
shift
[ -f "$lib" ] || { echo "import_check: $lib missing" >&2; exit 2; }
if [ $# -eq 1 ] && [ -d "$1" ]; then
    # A driver is a shared object that exports DriverEntry.
    drivers=""
    for f in $(find "$1" -maxdepth 1 -name '*.so' ! -name 'libndisemu.so' | sort); do
        if nm -D --defined-only "$f" 2>/dev/null | grep -q ' DriverEntry$'; then
            drivers="$drivers $f"
        fi
    done
    set -- $drivers
fi
exports=$(mktemp)
imports=$(mktemp)
trap 'rm -f "$exports" "$imports"' EXIT
nm -D --defined-only "$lib" | awk '{print $NF}' | sed 's/@.*//' | sort -u >"$exports"
bad=0
checked=0
for drv in "$@"; do
    checked=$((checked + 1))
    # Only strong undefined symbols ("U"): weak ones (w/v) resolve to NULL
    # when absent and are emitted by the toolchain itself (__cxa_finalize...).
    # One comm per driver, not one grep per symbol: the check stays cheap with
    # dozens of drivers on a loaded machine.
    nm -D --undefined-only "$drv" | awk '$1 == "U" {print $2}' | sed 's/@.*//' |
        grep -Ev '^(memcpy|memset|memmove|memcmp|__asan_.*|__tsan_.*|__ubsan_.*|__sanitizer_.*)$' |
        sort -u >"$imports"
    for sym in $(comm -23 "$imports" "$exports"); do
        echo "$(basename "$drv"): imports '$sym', which ndisemu does not export" >&2
        bad=1
    done
done
echo "import_check: $checked driver(s) checked"
exit $bad
