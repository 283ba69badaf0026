#!/bin/sh
# Builds lwfctl.exe with mingw-w64 as far as this machine allows: every
# lwfctl and core source (transport_win.c instead of transport_unix.c) is
# compiled -Wall -Wextra -Werror for Windows, then linked; the only symbols
# allowed to stay unresolved are libpcap's (pcap_*), which Npcap's SDK
# (wpcap.lib) provides on Windows. libpcap's headers are portable: the host's
# <pcap/pcap.h> stands in for the Npcap SDK's.
#
# usage: lwfctl_mingw_check.sh SOURCE_ROOT WORK_DIR
# exit: 0 ok, 1 not, 77 no mingw-w64 or no pcap headers (ctest SKIP_RETURN_CODE)
set -u
CC=${MINGW_CC:-x86_64-w64-mingw32-gcc}
ROOT=${1:?usage: $0 SOURCE_ROOT WORK_DIR}
WORK=${2:?usage: $0 SOURCE_ROOT WORK_DIR}

command -v "$CC" >/dev/null 2>&1 || { echo "SKIP: $CC not found"; exit 77; }
PCAP_H=$(echo '#include <pcap/pcap.h>' | cc -M -x c - 2>/dev/null | tr ' \\' '\n\n' | grep '/pcap/pcap.h$' | head -n 1)
[ -n "$PCAP_H" ] || { echo "SKIP: no host pcap headers"; exit 77; }

rm -rf "$WORK" && mkdir -p "$WORK/inc" "$WORK/obj"
# Only the pcap directory, not all of /usr/include: the rest must be mingw's.
ln -s "$(dirname "$PCAP_H")" "$WORK/inc/pcap"

failed=0
for f in "$ROOT"/tools/lwfctl/*.c "$ROOT"/core/*.c; do
    case $f in *transport_unix.c) continue ;; esac
    if ! "$CC" -c -std=gnu11 -O2 -Wall -Wextra -Werror -I"$ROOT/include" -I"$ROOT/core" \
        -I"$ROOT/tools/lwfctl" -I"$WORK/inc" "$f" -o "$WORK/obj/$(basename "$f" .c).o" 2>"$WORK/err"; then
        failed=1
        echo "FAIL: $f"
        grep error "$WORK/err" | head -n 10
    fi
done
[ "$failed" -eq 0 ] || exit 1

"$CC" "$WORK"/obj/*.o -o "$WORK/lwfctl.exe" 2>"$WORK/link" || true
bad=$(grep -o "undefined reference to \`[^']*'" "$WORK/link" | sed "s/.*\`//; s/'//" | sort -u | grep -v '^pcap_')
if [ -n "$bad" ]; then
    echo "FAIL: unresolved outside libpcap:"
    echo "$bad"
    exit 1
fi
echo "lwfctl.exe: compiles for Windows; unresolved only:" \
    "$(grep -o "undefined reference to \`pcap_[^']*'" "$WORK/link" | sed "s/.*\`//; s/'//" | sort -u | tr '\n' ' ')"
exit 0
