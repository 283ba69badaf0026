#!/usr/bin/env python3
"""Writes tests/lwfctl/corpus_pcap/: the seed captures of fuzz_pcap.c.

Every byte is built here (no recorded traffic): a few Ethernet frames that
the fuzz target's rules look into, wrapped as pcap (both byte orders, micro-
and nanosecond magic) and pcapng, then broken the ways a capture breaks:
cut in a header, a record or a block, lengths that lie, unknown or
non-Ethernet link types, no interface. Rerun after changing it:
    python3 tests/lwfctl/make_pcap_corpus.py
"""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus_pcap")

MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")


def ether(dst, src, ethertype, payload):
    return dst + src + struct.pack(">H", ethertype) + payload


def ipv4(proto, payload, flags_frag=0):
    total = 20 + len(payload)
    hdr = struct.pack(">BBHHHBBH4s4s", 0x45, 0, total, 1, flags_frag, 64, proto, 0,
                      bytes([10, 99, 0, 1]), bytes([10, 99, 0, 2]))
    return hdr + payload


def udp(sport, dport, payload):
    return struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload


def tcp(sport, dport, flags):
    return struct.pack(">HHIIBBHHH", sport, dport, 1, 0, 5 << 4, flags, 65535, 0, 0)


def frames():
    arp = ether(b"\xff" * 6, MAC_A, 0x0806,
                struct.pack(">HHBBH", 1, 0x0800, 6, 4, 1) + MAC_A + bytes([10, 99, 0, 1]) +
                b"\0" * 6 + bytes([10, 99, 0, 2]))
    dns = ether(MAC_B, MAC_A, 0x0800, ipv4(17, udp(40000, 53, b"\x12\x34\x01\x00" + b"\0" * 8)))
    syn = ether(MAC_B, MAC_A, 0x0800, ipv4(6, tcp(40001, 80, 0x02)))
    icmp = ether(MAC_B, MAC_A, 0x0800, ipv4(1, b"\x08\x00\x00\x00\x00\x01\x00\x01" + b"x" * 16))
    frag = ether(MAC_B, MAC_A, 0x8100,
                 struct.pack(">HH", 42, 0x0800) + ipv4(17, udp(1, 2, b"y" * 24), 0x2000))
    ip6 = ether(MAC_B, MAC_A, 0x86DD,
                struct.pack(">IHBB16s16s", 0x60000000, 8, 58, 64, b"\xfd\x99" + b"\0" * 13 + b"\1",
                            b"\xfd\x99" + b"\0" * 13 + b"\2") + b"\x80\x00\x00\x00\x00\x01\x00\x01")
    big = ether(b"\x01\x00\x5e\x00\x00\x01", MAC_A, 0x0800, ipv4(17, udp(5, 6, b"z" * 1170)))
    return [arp, dns, syn, icmp, frag, ip6, big]


def pcap(pkts, endian="<", magic=0xA1B2C3D4, linktype=1, snaplen=65535, lens=None):
    out = struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)
    for i, p in enumerate(pkts):
        caplen, wirelen = lens[i] if lens else (len(p), len(p))
        out += struct.pack(endian + "IIII", 1700000000 + i, 0, caplen, wirelen) + p
    return out


def block(btype, body):
    body += b"\0" * (-len(body) % 4)
    n = 12 + len(body)
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


def shb():
    return block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))


def idb(linktype=1, snaplen=65535):
    return block(1, struct.pack("<HHI", linktype, 0, snaplen))


def epb(p, ifid=0, caplen=None, wirelen=None):
    caplen = len(p) if caplen is None else caplen
    wirelen = len(p) if wirelen is None else wirelen
    return block(6, struct.pack("<IIIII", ifid, 0, 1000, caplen, wirelen) + p)


def spb(p):
    return block(3, struct.pack("<I", len(p)) + p)


def main():
    pk = frames()
    good = pcap(pk)
    ng = shb() + idb() + b"".join(epb(p) for p in pk) + spb(pk[0])
    files = {
        "ok_mixed.pcap": good,
        "ok_mixed_be_nsec.pcap": pcap(pk, ">", 0xA1B23C4D),
        "ok_mixed.pcapng": ng,
        "ok_snaplen_64.pcap": pcap([p[:64] for p in pk], snaplen=64,
                                   lens=[(min(64, len(p)), len(p)) for p in pk]),
        "ok_header_only.pcap": pcap([]),
        "ok_zero_length_packets.pcap": pcap([b"", b""], lens=[(0, 0), (0, 60)]),
        "ok_runt_frames.pcap": pcap([p[:n] for p, n in zip(pk, (1, 6, 13, 14, 15, 18, 34))]),
        "bad_empty_file.pcap": b"",
        "bad_magic.pcap": b"\x00\x01\x02\x03" + good[4:],
        "bad_cut_in_file_header.pcap": good[:10],
        "bad_cut_in_record_header.pcap": good[:24 + 16 + len(pk[0]) + 7],
        "bad_cut_in_packet.pcap": good[:24 + 16 + 20],
        "bad_caplen_over_len.pcap": pcap(pk[:2], lens=[(len(pk[0]), len(pk[0])),
                                                       (len(pk[1]), 20)]),
        "bad_caplen_huge.pcap": pcap([pk[0]], lens=[(0xFFFFFFF0, 0xFFFFFFF0)]),
        "ok_caplen_over_snaplen.pcap": pcap([pk[6]], snaplen=100),
        "bad_linktype_unknown.pcap": pcap(pk[:1], linktype=0x7FF0),
        "bad_linktype_raw.pcap": pcap(pk[:1], linktype=101),
        "bad_version.pcap": good[:4] + struct.pack("<HH", 9, 9) + good[8:],
        "bad_ng_cut_in_block.pcapng": ng[:len(shb()) + len(idb()) + 30],
        "bad_ng_block_length.pcapng": shb() + idb() + struct.pack("<II", 6, 13) + b"\0" * 16,
        "bad_ng_no_interface.pcapng": shb() + epb(pk[0]),
        "bad_ng_interface_id.pcapng": shb() + idb() + epb(pk[0], ifid=5),
        "bad_ng_mixed_linktypes.pcapng": shb() + idb() + idb(101) + epb(pk[0], ifid=1),
        "bad_ng_caplen_over_block.pcapng": shb() + idb() + epb(pk[0], caplen=4000),
        "bad_ng_only_section_header.pcapng": shb()[:20],
    }
    # The other files there were found by the fuzzer (scripts/fuzz.sh, then
    # -merge=1): kept.
    os.makedirs(OUT, exist_ok=True)
    for name, data in sorted(files.items()):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print(f"{len(files)} captures in {OUT}")


if __name__ == "__main__":
    main()
