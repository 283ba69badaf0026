#!/usr/bin/env bash
# lwfctl's command line: exit statuses and messages for wrong arguments,
# unreadable input, a truncated capture and an absent device.
#
#   cli_test.sh LWFCTL CAPTURE_DIR
set -uo pipefail

LWFCTL=$1 CAPTURES=$2
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fails=0

# expect STATUS REGEX-ON-STDERR-OR-STDOUT -- ARGS...
expect() {
    local want=$1 pattern=$2
    shift 3
    "$LWFCTL" "$@" >"$WORK/out" 2>"$WORK/err"
    local got=$?
    if [[ $got != "$want" ]] || ! grep -Eq -- "$pattern" "$WORK/out" "$WORK/err"; then
        echo "FAIL: lwfctl $*: exit $got (expected $want), output should match /$pattern/" >&2
        sed 's/^/  | /' "$WORK/out" "$WORK/err" >&2
        fails=$((fails + 1))
    else
        echo "ok: lwfctl $* -> $got"
    fi
}

printf 'drop in "icmp"\n' >"$WORK/ok.rules"
printf 'drop inn "icmp"\n' >"$WORK/bad.rules"
cap=$(ls "$CAPTURES"/*.pcap 2>/dev/null | head -n 1)
[[ -n $cap ]] || { echo "FAIL: no capture in $CAPTURES" >&2; exit 1; }

expect 2 'missing command' -- 
expect 2 "unknown command 'frobnicate'" -- frobnicate
expect 0 '^usage: lwfctl COMMAND' -- --help
expect 0 '^lwfctl [0-9]' -- --version
for cmd in load show stats check; do
    expect 0 "^usage: lwfctl $cmd" -- "$cmd" --help
    expect 0 "^usage: lwfctl $cmd" -- "$cmd" -h
    expect 2 "lwfctl $cmd: unknown option" -- "$cmd" --no-such-option
done
expect 2 'missing RULES file' -- load
expect 2 'missing RULES file' -- check --pcap "$cap"
expect 2 'cannot open .*/missing.rules: No such file' -- check "$WORK/missing.rules" --pcap "$cap"
expect 2 'cannot open .*/missing.rules: No such file' -- load "$WORK/missing.rules"
expect 2 'missing --pcap' -- check "$WORK/ok.rules"
expect 2 "bad --direction 'sideways'" -- check "$WORK/ok.rules" --pcap "$cap" --direction sideways
expect 2 'bad --adapter: bad MAC' -- check "$WORK/ok.rules" --pcap "$cap" --adapter aa:bb:cc
expect 2 'too many arguments' -- stats extra
expect 1 'bad.rules:1:6: error: unknown direction' -- check "$WORK/bad.rules" --pcap "$cap"
# A rules file with errors is never sent: load fails before it touches the device.
expect 1 'bad.rules:1:6: error' -- load "$WORK/bad.rules" --device "$WORK/none.sock"
expect 1 "cannot connect to $WORK/none.sock: No such file or directory \(is ndisemu running with --device-socket\?\)" -- load "$WORK/ok.rules" --device "$WORK/none.sock"
NDISEMU_DEVICE="$WORK/env.sock" expect 1 "cannot connect to $WORK/env.sock" -- stats
expect 1 "cannot connect to $WORK/none.sock" -- show --device "$WORK/none.sock"
expect 2 'capture.pcap:' -- check "$WORK/ok.rules" --pcap "$WORK/capture.pcap"
# Captures of another link type: named by number (libpcap has no name for an
# unknown one, which printed "(null)"), and by name when libpcap knows it.
pcap_header() { printf '\324\303\262\241\002\000\004\000\000\000\000\000\000\000\000\000\377\377\000\000'"$1"'\000\000'; }
pcap_header '\240\017' >"$WORK/linktype4000.pcap"
pcap_header '\161\000' >"$WORK/sll.pcap"
expect 2 'linktype4000.pcap: link type 4000 \(unknown\), only Ethernet \(EN10MB\) is supported' -- check "$WORK/ok.rules" --pcap "$WORK/linktype4000.pcap"
expect 2 'sll.pcap: link type 113 \(LINUX_SLL\), only Ethernet' -- check "$WORK/ok.rules" --pcap "$WORK/sll.pcap"

# A capture cut in the middle of a packet: the packets before it are
# classified, then a clear error names the file and the bad packet.
npackets=$("$LWFCTL" check "$WORK/ok.rules" --pcap "$cap" | wc -l)
size=$(stat -c %s "$cap")
head -c $((size - 10)) "$cap" >"$WORK/cut.pcap"
expect 2 "cut.pcap: packet $npackets: .*truncated" -- check "$WORK/ok.rules" --pcap "$WORK/cut.pcap"
if [[ $(wc -l <"$WORK/out") != $((npackets - 1)) ]]; then
    echo "FAIL: truncated capture: $(wc -l <"$WORK/out") lines printed, expected $((npackets - 1))" >&2
    fails=$((fails + 1))
fi
# Not a capture at all.
cp "$WORK/ok.rules" "$WORK/notpcap.pcap"
expect 2 'notpcap.pcap: ' -- check "$WORK/ok.rules" --pcap "$WORK/notpcap.pcap"

((fails == 0)) || { echo "$fails failure(s)" >&2; exit 1; }
echo "ok: all command-line cases"
