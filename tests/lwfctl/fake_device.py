#!/usr/bin/env python3
"""A stand-in for ndisemu's control-device socket (emu/include/ndisemu/devsock.h),
so that lwfctl's load/show/stats and its transport are tested without the
emulator. It speaks the ioctl.h conventions: SET_CONFIG answers with a
hl_set_config_result, GET_CONFIG/GET_STATS follow the size convention
(too small for the header: BUFFER_TOO_SMALL; too small for the answer: the
header alone with BUFFER_OVERFLOW). A blob of exactly 3 rules is refused.

usage: fake_device.py SOCKET_PATH
"""
import os
import socket
import struct
import sys

MAGIC = 0x4B534445
SUCCESS, OVERFLOW, TOO_SMALL = 0, 0x80000005, 0xC0000023
INVALID_DEVICE_REQUEST = 0xC0000010


def ctl(function, access):
    return (0x12 << 16) | (access << 14) | (function << 2)


SET, GET, STATS = ctl(0x800, 2), ctl(0x801, 1), ctl(0x802, 1)


def recv_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def sized_answer(answer, header_size, out_len):
    if out_len < header_size:
        return TOO_SMALL, b""
    if out_len < len(answer):
        return OVERFLOW, answer[:header_size]
    return SUCCESS, answer


def stats_answer():
    rules = [(10, 0), (0, 7)]
    adapters = [(3, bytes.fromhex("020000000001"), b"veth-a", 100, 4, 50, 1)]
    size = 64 + 16 * len(rules) + 112 * len(adapters)
    out = struct.pack("<IIIIIIQQQQQ", size, 1, 64, len(rules), len(adapters), 0,
                      5, 2, 1500000, 42, 43)
    for hin, hout in rules:
        out += struct.pack("<QQ", hin, hout)
    for ifindex, mac, name, rs, rd, ts, td in adapters:
        out += struct.pack("<I6s2x64s4xQQQQ", ifindex, mac, name, rs, rd, ts, td)
    return out


def main():
    path = sys.argv[1]
    if os.path.exists(path):
        os.unlink(path)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    os.chmod(path, 0o600)
    srv.listen(4)
    blob, generation = struct.pack("<IHHIIBBH12x", 0x46434C48, 1, 32, 32, 0, 0, 0, 0), 0
    while True:
        conn, _ = srv.accept()
        with conn:
            magic, code, in_len, out_len = struct.unpack("<IIII", recv_exact(conn, 16))
            data = recv_exact(conn, in_len)
            if magic != MAGIC:
                continue
            if code == SET and out_len >= 280:
                nrules = struct.unpack_from("<I", data, 12)[0]
                if nrules == 3:
                    status, reason = -14, b"rule 3: fake refusal"
                else:
                    blob, generation = data, generation + 1
                    status, reason = 0, b""
                st, out = SUCCESS, struct.pack("<iIQQ256s", status, 0, generation, 1234567,
                                               reason)
            elif code == GET:
                st, out = sized_answer(blob, 32, out_len)
            elif code == STATS:
                st, out = sized_answer(stats_answer(), 64, out_len)
            else:
                st, out = INVALID_DEVICE_REQUEST, b""
            conn.sendall(struct.pack("<IIII", MAGIC, st, len(out), 0) + out)


if __name__ == "__main__":
    main()
