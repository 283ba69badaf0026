#!/bin/sh
# Compiles the driver and the core it links against mingw-w64's headers:
# its own kernel headers (ddk/ntddk.h, wdm.h, wdmsec.h), its ntddndis.h, and
# tests/windows/mingw_ndis6_shim.h for the NDIS 6 names mingw lacks. None of
# ndisemu's emu/include is on the path, so a driver that leans on a name,
# member or signature only ndisemu has fails here. mingw targets LLP64
# (long is 32 bits), which also catches LP64 assumptions the Linux build
# cannot see.
#
# usage: mingw_ddk_check.sh SOURCE_ROOT [FILE...]   (default: driver/*.c core/*.c rcu/*.c)
# exit: 0 all compile, 1 some do not, 77 no mingw-w64 here (ctest SKIP_RETURN_CODE)
set -u

CC=${MINGW_CC:-x86_64-w64-mingw32-gcc}
ROOT=${1:?usage: $0 SOURCE_ROOT [FILE...]}
shift

if ! command -v "$CC" >/dev/null 2>&1; then
    echo "SKIP: $CC not found"
    exit 77
fi

# The DDK headers sit next to the CRT headers; ask the compiler where.
DDK=$(echo '#include <_mingw.h>' | "$CC" -E -x c - 2>/dev/null |
    sed -n 's|^# [0-9]* "\(.*\)/_mingw.h".*|\1/ddk|p' | head -n 1)
if [ -z "$DDK" ] || [ ! -f "$DDK/ntddk.h" ]; then
    echo "SKIP: no DDK headers next to $CC's CRT headers"
    exit 77
fi

if [ $# -eq 0 ]; then
    set -- "$ROOT"/driver/*.c "$ROOT"/core/*.c "$ROOT"/rcu/*.c
fi

HERE=$(cd "$(dirname "$0")" && pwd)
# The defines the WDK project sets (driver/windows/hotlwf.vcxproj): an NDIS
# 6.0 filter built as a WDM kernel-mode driver. -Wno-multichar because pool
# tags ('mLlH') are multi-character constants, which MSVC takes silently.
FLAGS="-fsyntax-only -std=gnu11 -Wall -Wextra -Werror -Wno-multichar
       -D_KERNEL_MODE -D_AMD64_ -DNDIS_WDM=1 -DNDIS60=1
       -I$HERE/mingw -I$DDK -I$ROOT/include -I$ROOT/core -I$ROOT/rcu -I$ROOT/driver"

failed=0
total=0
for f in "$@"; do
    total=$((total + 1))
    # driver/torture.c exists only in the torture build, with its define (driver/torture.h).
    extra=""
    [ "$(basename "$f")" = torture.c ] && extra=-DHL_TORTURE
    # shellcheck disable=SC2086 # FLAGS is a word list on purpose
    if ! out=$("$CC" $FLAGS $extra "$f" 2>&1); then
        failed=$((failed + 1))
        echo "FAIL: $f"
        echo "$out" | grep -E 'error|note: previous' | head -n 20
    fi
done

echo "$((total - failed))/$total files compile against mingw-w64's headers ($DDK)"
[ "$failed" -eq 0 ]
