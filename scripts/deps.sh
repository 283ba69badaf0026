#!/usr/bin/env bash
# Installs (as root) or names (otherwise) the Debian 12 packages hotlwf needs.
# Usage: scripts/deps.sh [--check]
set -euo pipefail

PACKAGES=(build-essential cmake pkg-config git libpcap-dev tcpdump liburcu-dev libck-dev
          valgrind gnuplot clang libclang-rt-14-dev binutils iproute2 mingw-w64 jq spin)

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "${1:-}" = "--check" ] || [ "$(id -u)" -ne 0 ]; then
    echo "hotlwf needs these Debian packages:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
