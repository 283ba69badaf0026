#!/usr/bin/env python3
"""Writes tests/hotlwf/corpus_ioctl/: the seed inputs of fuzz_ioctl.c.

Each input is up to 4 frames, each a u16 little-endian length and the bytes
one client connection sends to ndisemu's device socket (emu/include/ndisemu/
devsock.h: magic, ioctl_code, in_len, out_len, then in_len bytes). The
configuration blobs are the project's own seed blobs (tests/config/corpus/).
Rerun after changing it:
    python3 tests/hotlwf/make_ioctl_corpus.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus_ioctl")
BLOBS = os.path.join(HERE, "..", "config", "corpus")

MAGIC = 0x4B534445


def ctl(function, access):
    return (0x12 << 16) | (access << 14) | (function << 2)


SET, GET, STATS = ctl(0x800, 2), ctl(0x801, 1), ctl(0x802, 1)


def request(code, data=b"", out_len=4096, in_len=None, magic=MAGIC):
    n = len(data) if in_len is None else in_len
    return struct.pack("<IIII", magic, code, n, out_len) + data


def frames(*reqs):
    return b"".join(struct.pack("<H", len(r)) + r for r in reqs)


def blob(name):
    with open(os.path.join(BLOBS, name), "rb") as f:
        return f.read()


def main():
    multi, bad = blob("multi.bin"), blob("multi-bad-magic.bin")
    files = {
        "get_config": frames(request(GET)),
        "get_config_sizes": frames(request(GET, out_len=32), request(GET, out_len=31),
                                   request(GET, out_len=0), request(GET, b"junk")),
        "get_stats": frames(request(STATS)),
        "get_stats_sizes": frames(request(STATS, out_len=64), request(STATS, out_len=63),
                                  request(STATS, out_len=65), request(STATS, out_len=0)),
        "set_accepted_then_read": frames(request(SET, multi, 512), request(GET),
                                         request(STATS)),
        "set_accepted_then_refused": frames(request(SET, multi, 512), request(SET, bad, 512),
                                            request(GET)),
        "set_forty_rules": frames(request(SET, blob("forty-rules.bin"), 512), request(STATS)),
        "set_selectors": frames(request(SET, blob("mac-and-all.bin"), 512),
                                request(SET, blob("ifindex-udp.bin"), 512),
                                request(SET, blob("long-name.bin"), 512)),
        "set_refused_blobs": frames(request(SET, blob("multi-truncated.bin"), 512),
                                    request(SET, blob("multi-bad-jump.bin"), 512),
                                    request(SET, blob("trailing.bin"), 512)),
        "set_out_too_small": frames(request(SET, multi, 8), request(GET)),
        "set_empty_input": frames(request(SET, b"", 512), request(SET, b"", 0)),
        "set_in_len_lies": frames(request(SET, multi, 512, in_len=len(multi) + 100),
                                  request(SET, multi[:40], 512, in_len=len(multi))),
        "set_default_only": frames(request(SET, blob("empty.bin"), 512)),
        "bad_magic": frames(request(GET, magic=0x12345678)),
        "bad_lengths": frames(request(GET, out_len=(16 << 20) + 1),
                              request(SET, in_len=0xFFFFFFFF),
                              request(STATS, out_len=0xFFFFFFFF)),
        "bad_codes": frames(request(0), request(ctl(0x803, 1)), request(SET | 3, multi),
                            request(0xFFFFFFFF)),
        "short_header": frames(request(GET)[:7], b"", request(STATS)[:15]),
        "no_frames": b"",
    }
    # The other files there were found by the fuzzer (scripts/fuzz.sh, then
    # -merge=1): kept.
    os.makedirs(OUT, exist_ok=True)
    for name, data in sorted(files.items()):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print(f"{len(files)} inputs in {OUT}")


if __name__ == "__main__":
    main()
