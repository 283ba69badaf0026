#!/usr/bin/env bash
# Records the shared test captures from real traffic between two network
# namespaces joined by a veth pair. Run as root; needs iproute2, tcpdump,
# iputils ping/arping, ethtool and python3. Every address lives inside the
# two namespaces only, which are removed on exit. Bounded: about 30 seconds.
#
#   tests/data/captures/record.sh [output-dir]
#
# Writes netns-mixed.pcap (ARP, ICMP/ICMPv6 incl. fragments, TCP, UDP, VLAN)
# and netns-bulk.pcap (one larger TCP transfer, offloads off so frames are
# at most MTU-sized as on a real wire).
set -euo pipefail

OUT=${1:-$(cd "$(dirname "$0")" && pwd)}
A=hlrec-a
B=hlrec-b
TCPDUMP_PID=

cleanup() {
    if [[ -n "$TCPDUMP_PID" ]]; then kill "$TCPDUMP_PID" 2>/dev/null || true; fi
    ip netns pids "$B" 2>/dev/null | while read -r p; do kill "$p" 2>/dev/null || true; done || true
    ip netns del "$A" 2>/dev/null || true
    ip netns del "$B" 2>/dev/null || true
}
trap cleanup EXIT

ina() { ip netns exec "$A" "$@"; }
inb() { ip netns exec "$B" "$@"; }

setup() {
    cleanup
    ip netns add "$A"
    ip netns add "$B"
    ip link add veth-a netns "$A" type veth peer name veth-b netns "$B"
    for ns in "$A" "$B"; do
        ip -n "$ns" link set lo up
        ip netns exec "$ns" ethtool -K "veth-${ns#hlrec-}" tso off gso off gro off tx off rx off \
            >/dev/null 2>&1 || true
    done
    ip -n "$A" addr add 10.99.0.1/24 dev veth-a
    ip -n "$B" addr add 10.99.0.2/24 dev veth-b
    ip -n "$A" addr add fd99::1/64 dev veth-a nodad
    ip -n "$B" addr add fd99::2/64 dev veth-b nodad
    ip -n "$A" link set veth-a up
    ip -n "$B" link set veth-b up
    # An 802.1Q sub-interface, so captures hold tagged frames too; kernels
    # without the 8021q module get hand-built tagged frames instead (inject_vlan).
    VLAN=0
    if ip -n "$A" link add link veth-a name veth-a.42 type vlan id 42 2>/dev/null &&
        ip -n "$B" link add link veth-b name veth-b.42 type vlan id 42 2>/dev/null; then
        ip -n "$A" addr add 10.99.42.1/24 dev veth-a.42
        ip -n "$B" addr add 10.99.42.2/24 dev veth-b.42
        ip -n "$A" link set veth-a.42 up
        ip -n "$B" link set veth-b.42 up
        VLAN=1
    fi
    sleep 1
}

start_capture() {
    # Started directly (no subshell in between) so the TERM below reaches it;
    # a background job of a script ignores SIGINT. timeout bounds a stuck run.
    ip netns exec "$A" timeout 60 tcpdump -i veth-a -s 0 -U -w "$1" >/dev/null 2>&1 &
    TCPDUMP_PID=$!
    sleep 1
}

stop_capture() {
    sleep 1
    kill -TERM "$TCPDUMP_PID"
    wait "$TCPDUMP_PID" || true
    TCPDUMP_PID=
}

# A TCP server in B that answers each connection with $1 bytes, then closes.
tcp_server() {
    inb timeout 20 python3 -c '
import socket, sys
n = int(sys.argv[1]); s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0); s.bind(("::", 8080)); s.listen(8)
while True:
    c, _ = s.accept(); req = c.recv(4096); c.sendall(b"HTTP/1.0 200 OK\r\n\r\n" + bytes(i % 251 for i in range(n))); c.close()
' "$1" &
    sleep 1
}

tcp_get() {
    ina timeout 10 python3 -c '
import socket, sys
c = socket.create_connection((sys.argv[1], 8080), timeout=5); c.sendall(b"GET / HTTP/1.0\r\n\r\n")
while c.recv(65536): pass
' "$1" || true
}

udp_send() {
    ina timeout 5 python3 -c '
import socket, sys
host, ports = sys.argv[1], [int(p) for p in sys.argv[2:]]
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM); s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
if host.startswith("224."):
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("10.99.0.1"))
for i, p in enumerate(ports):
    s.sendto(bytes(range(i * 7 % 200 + 8)), (host, p))
' "$@" || true
}

# 802.1Q frames written on veth-a through a packet socket: an ARP request
# and ICMP echo / UDP datagrams tagged with VLAN 42 (and one double-tagged).
inject_vlan() {
    ina timeout 5 python3 -c '
import socket, struct
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
def ip4(proto, payload, src=b"\x0a\x63\x2a\x01", dst=b"\x0a\x63\x2a\x02"):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 7, 0, 64, proto, 0, src, dst)
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); s.bind(("veth-a", 0))
src = s.getsockname()[4]; bcast = b"\xff" * 6; dst = b"\x02\x99\x00\x00\x00\x02"
tag = lambda vid: struct.pack("!HH", 0x8100, vid)
arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, src, b"\x0a\x63\x2a\x01", b"\0" * 6, b"\x0a\x63\x2a\x02")
s.send(bcast + src + tag(42) + b"\x08\x06" + arp)
for seq in range(3):
    icmp = struct.pack("!BBHHH", 8, 0, 0, 0x4242, seq) + bytes(range(56))
    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    s.send(dst + src + tag(42) + b"\x08\x00" + ip4(1, icmp))
udp = struct.pack("!HHHH", 40000, 53, 8 + 12, 0) + b"hotlwf-vlan!"
s.send(dst + src + tag(42) + b"\x08\x00" + ip4(17, udp))
s.send(dst + src + tag(0x2005) + tag(7) + b"\x08\x00" + ip4(17, udp))
' || true
}

record_mixed() {
    start_capture "$OUT/netns-mixed.pcap"
    ina arping -c 2 -I veth-a 10.99.0.2 >/dev/null 2>&1 || true
    for size in 0 56 200 1000 1472 3000 6000; do
        ina ping -c 3 -i 0.1 -s "$size" 10.99.0.2 >/dev/null || true
        ina ping -6 -c 3 -i 0.1 -s "$size" fd99::2 >/dev/null || true
    done
    ina ping -c 2 -i 0.2 -b 10.99.0.255 >/dev/null 2>&1 || true
    if [[ $VLAN == 1 ]]; then
        ina ping -c 3 -i 0.2 -s 100 10.99.42.2 >/dev/null || true
    else
        inject_vlan
    fi
    ina ping -c 2 -i 0.2 -t 1 10.99.0.2 >/dev/null || true
    # Forget neighbours so ARP and neighbour discovery show up mid-capture.
    ip -n "$A" neigh flush all
    ip -n "$B" neigh flush all
    ina ping -c 1 10.99.0.2 >/dev/null || true
    ina ping -6 -c 1 fd99::2 >/dev/null || true
    tcp_server 4000
    for i in 1 2 3 4; do
        tcp_get 10.99.0.2
        tcp_get fd99::2
    done
    if [[ $VLAN == 1 ]]; then tcp_get 10.99.42.2; fi
    # A refused connection: SYN answered by RST.
    ina timeout 3 bash -c 'exec 3<>/dev/tcp/10.99.0.2/81' 2>/dev/null || true
    # UDP: DNS, NTP, syslog, high ports; closed ports draw ICMP unreachables.
    udp_send 10.99.0.2 53 53 123 514 5000 9999 33434 67 68 1900 4789
    udp_send fd99::2 53 123 5353 9999
    if [[ $VLAN == 1 ]]; then udp_send 10.99.42.2 53 161; fi
    udp_send 224.0.0.251 5353
    udp_send 10.99.0.255 137
    stop_capture
    ip netns pids "$B" | while read -r p; do kill "$p" 2>/dev/null || true; done || true
}

record_bulk() {
    start_capture "$OUT/netns-bulk.pcap"
    tcp_server 400000
    tcp_get 10.99.0.2
    tcp_get fd99::2
    stop_capture
}

setup
record_mixed
record_bulk
for f in netns-mixed netns-bulk; do
    echo "$f.pcap: $(tcpdump -r "$OUT/$f.pcap" 2>/dev/null | wc -l) packets," \
        "$(stat -c %s "$OUT/$f.pcap") bytes"
done
