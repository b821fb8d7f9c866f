#!/usr/bin/env python3
"""Helpers for the data-plane integration tests (stdlib only).

  tcp-server PORT            accept one connection (IPv4 or IPv6), print sha256 and byte
                             count of the data
  tcp-client HOST PORT N     send N pseudo-random bytes, print their sha256 and N
  inject PCAP HOST PORT      send hostile datagrams built from captured ESP-in-UDP packets
                             to HOST:PORT, print what was sent as "name count" lines
"""
import hashlib
import os
import random
import socket
import struct
import sys


def listener(port):
    """A TCP socket bound to PORT for both families: [::] with IPV6_V6ONLY off takes
    IPv4 as mapped addresses (RFC 4291 2.5.5.2), even where IPv6 is disabled by sysctl;
    0.0.0.0 only where the kernel has no IPv6 sockets at all."""
    try:
        srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        srv.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        addr = ("::", port)
    except OSError:
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        addr = ("0.0.0.0", port)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(addr)
    return srv


def tcp_server(port):
    srv = listener(port)
    srv.listen(1)
    conn, _ = srv.accept()
    h, n = hashlib.sha256(), 0
    while True:
        b = conn.recv(1 << 16)
        if not b:
            break
        h.update(b)
        n += len(b)
    print(h.hexdigest(), n, flush=True)


def tcp_client(host, port, total):
    rnd = random.Random(4500)
    s = socket.create_connection((host, port), timeout=20)
    h, sent = hashlib.sha256(), 0
    while sent < total:
        chunk = rnd.randbytes(min(1 << 16, total - sent))
        s.sendall(chunk)
        h.update(chunk)
        sent += len(chunk)
    s.close()
    print(h.hexdigest(), sent, flush=True)


def esp_payloads(path):
    """UDP payloads of the ESP-in-UDP packets (IPv4 over Ethernet) in a pcap file."""
    out = []
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    pos = 24
    while pos + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[pos:pos + 16])
        frame = data[pos + 16:pos + 16 + incl]
        pos += 16 + incl
        if len(frame) < 14 + 20 + 8 or frame[12:14] != b"\x08\x00":
            continue
        ip = frame[14:]
        ihl = (ip[0] & 0x0F) * 4
        if ip[9] != 17:
            continue
        udp = ip[ihl:]
        payload = udp[8:]
        if len(payload) >= 8 and payload[:4] != b"\x00\x00\x00\x00":
            out.append(payload)
    return out


def inject(pcap, host, port):
    caps = esp_payloads(pcap)
    if not caps:
        sys.exit("no ESP-in-UDP packets in " + pcap)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dst = (host, port)
    sent = {}

    def send(name, payload):
        s.sendto(payload, dst)
        sent[name] = sent.get(name, 0) + 1

    # Replays: every captured datagram again, byte for byte (RFC 4303 3.4.3).
    for p in caps:
        send("replay", p)
    # Flipped bit in the sequence number: a fresh number passes the window check, but the
    # ICV (which covers SPI and sequence number as AAD, RFC 4106 section 5) fails.
    p = bytearray(caps[-1])
    p[4] ^= 0x40
    send("icv", bytes(p))
    # Flipped bit in the ciphertext of the same packet with that fresh number.
    p[20] ^= 0x01
    send("icv", bytes(p))
    # Truncated: header and a bit of IV only.
    send("too_short", caps[0][:12])
    # Random garbage with SPIs nobody configured (never 0, never the real ones).
    rnd = random.Random(3948)
    known = {c[:4] for c in caps}
    for _ in range(50):
        spi = rnd.randrange(0x10000000, 0xFFFFFFFF).to_bytes(4, "big")
        if spi in known:
            continue
        send("bad_spi", spi + rnd.randbytes(rnd.randrange(40, 1400)))
    # Too short to be anything (RFC 3948 section 2): 3 and 6 bytes.
    send("invalid", b"\x12\x34\x56")
    send("invalid", b"\x12\x34\x56\x78\x9a\xbc")
    # NAT-keepalive (RFC 3948 section 2.3) and an IKE message behind the non-ESP marker.
    send("keepalive", b"\xff")
    send("ike", b"\x00\x00\x00\x00" + os.urandom(8) + b"\x00" * 8 + b"\x21\x20\x22\x08" + b"\x00" * 8)
    for k, v in sorted(sent.items()):
        print(k, v)


def main():
    cmd = sys.argv[1]
    if cmd == "tcp-server":
        tcp_server(int(sys.argv[2]))
    elif cmd == "tcp-client":
        tcp_client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif cmd == "inject":
        inject(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
