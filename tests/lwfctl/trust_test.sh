#!/usr/bin/env bash
# Whom lwfctl trusts with a configuration (docs/security.md):
# - ndisemu --device-socket default and lwfctl without --device agree on
#   the path, in a directory private to the user;
# - a directory others can write, or another user's, is refused by both;
# - a server run by another uid (a squatter) is refused before anything is
#   sent, by its SO_PEERCRED uid (needs root and setpriv; skipped otherwise).
#
#   trust_test.sh LWFCTL NDISEMU HOTLWF_SO
set -uo pipefail

LWFCTL=$1 NDISEMU=$2 HOTLWF=$3
WORK=$(mktemp -d)
chmod 755 "$WORK"
EMU=
trap '[[ -n $EMU ]] && kill $EMU 2>/dev/null; rm -rf "$WORK"' EXIT
unset NDISEMU_DEVICE
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
# expect STATUS REGEX CMD...: runs CMD, checks its exit status and output
expect() {
    local want=$1 pattern=$2
    shift 2
    "$@" >"$WORK/out" 2>&1
    local got=$?
    if [[ $got != "$want" ]] || ! grep -Eq -- "$pattern" "$WORK/out"; then
        fail "$*: exit $got (expected $want), output should match /$pattern/"
        sed 's/^/  | /' "$WORK/out" >&2
    else
        echo "ok: $* -> $got"
    fi
}
wait_socket() { for _ in $(seq 100); do [[ -S $1 ]] && return 0; sleep 0.1; done; return 1; }

printf 'drop in "icmp"\n' >"$WORK/ok.rules"

# The default path, the same on both sides.
mkdir -m 700 "$WORK/xdg"
XDG_RUNTIME_DIR=$WORK/xdg "$NDISEMU" --driver "$HOTLWF" --cpus 2 --rate 1000 --seconds 60 \
    --device-socket default --quiet >"$WORK/emu.out" 2>&1 &
EMU=$!
wait_socket "$WORK/xdg/ndisemu-hotlwf.sock" || fail "no socket at \$XDG_RUNTIME_DIR/ndisemu-hotlwf.sock"
grep -q "device socket $WORK/xdg/ndisemu-hotlwf.sock" "$WORK/emu.out" || fail "ndisemu did not say where"
expect 0 '^loaded 1 rule,' env XDG_RUNTIME_DIR="$WORK/xdg" "$LWFCTL" load "$WORK/ok.rules"
expect 0 '^# rule 1: drop in' env XDG_RUNTIME_DIR="$WORK/xdg" "$LWFCTL" show
kill -TERM $EMU
wait $EMU
EMU=

# Directories another user could have put a socket in.
mkdir -m 777 "$WORK/open"
chmod 777 "$WORK/open" # whatever the umask
expect 1 "$WORK/open is writable by others \(mode 777\)" env XDG_RUNTIME_DIR="$WORK/open" "$LWFCTL" show
expect 2 "$WORK/open is writable by others" env XDG_RUNTIME_DIR="$WORK/open" "$NDISEMU" --stack "" \
    --seconds 1 --device-socket default
ln -s "$WORK/xdg" "$WORK/link"
expect 1 "$WORK/link is not a directory" env XDG_RUNTIME_DIR="$WORK/link" "$LWFCTL" stats
expect 1 "XDG_RUNTIME_DIR 'relative' is not an absolute path" env XDG_RUNTIME_DIR=relative "$LWFCTL" stats

# A squatter: another uid serving the path. lwfctl must not send it a byte.
if [[ $(id -u) == 0 ]] && command -v setpriv >/dev/null && id nobody >/dev/null 2>&1; then
    nobody=$(id -u nobody)
    mkdir -m 700 "$WORK/squat"
    chown nobody "$WORK/squat"
    expect 1 "$WORK/squat is owned by uid $nobody, not by you \(uid 0\)" \
        env XDG_RUNTIME_DIR="$WORK/squat" "$LWFCTL" load "$WORK/ok.rules"
    setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups "$NDISEMU" --stack "" \
        --seconds 60 --quiet --device-socket "$WORK/squat/s.sock" >"$WORK/squat.out" 2>&1 &
    EMU=$!
    if wait_socket "$WORK/squat/s.sock"; then
        expect 1 "refusing $WORK/squat/s.sock: it is served by uid $nobody \(pid [0-9]+\), not by you \(uid 0\) or root; nothing was sent" \
            "$LWFCTL" load "$WORK/ok.rules" --device "$WORK/squat/s.sock"
        expect 1 "refusing $WORK/squat/s.sock" env NDISEMU_DEVICE="$WORK/squat/s.sock" "$LWFCTL" show
    else
        fail "the squatter (ndisemu as nobody) did not start"
        sed 's/^/  | /' "$WORK/squat.out" >&2
    fi
    kill -TERM $EMU
    wait $EMU
    EMU=
else
    echo "skip: the squatter needs root, setpriv and a 'nobody' user"
fi

((fails == 0)) || { echo "$fails failure(s)" >&2; exit 1; }
echo "ok: lwfctl and ndisemu agree on a private default path; strangers are refused"
