#!/usr/bin/env python3
"""Paced TCP stream for tests/interop/lifecycle_strongswan.sh: keeps one TCP connection busy
across rekeys and checks that every byte arrived, in order, without a reset.

  lifecycle_stream.py server BIND_ADDR PORT
      accepts one connection, reads to EOF, answers "<bytes> <sha256>" and prints the same
      (or "error <what>") on stdout.
  lifecycle_stream.py client ADDR PORT RATE_BYTES_PER_S STOP_FILE
      sends pseudo-random data at RATE until STOP_FILE exists (at most 600 s), half-closes,
      and compares the server's answer with what it sent. Prints "connected", then one line:
      "ok bytes=N sha256=H secs=S" or "MISMATCH ..." / "error ..." (exit code 1).
"""
import hashlib
import os
import random
import socket
import sys
import time

CHUNK = 16384


def server(addr, port):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(1)
    ls.settimeout(60)
    try:
        c, _ = ls.accept()
        h, n = hashlib.sha256(), 0
        c.settimeout(30)  # no byte for 30 s: the tunnel is gone
        while True:
            d = c.recv(65536)
            if not d:
                break
            h.update(d)
            n += len(d)
        line = "%d %s" % (n, h.hexdigest())
        c.sendall(line.encode() + b"\n")
        c.close()
        print(line, flush=True)
    except OSError as e:
        print("error %s" % e.__class__.__name__ + ": " + str(e), flush=True)
        sys.exit(1)


def client(addr, port, rate, stop):
    rng = random.Random(20261207)  # incompressible, reproducible
    h, n = hashlib.sha256(), 0
    t0 = time.monotonic()
    try:
        for attempt in range(40):  # the server may still be starting on a loaded machine
            try:
                s = socket.create_connection((addr, port), timeout=10)
                break
            except ConnectionRefusedError:
                if attempt == 39:
                    raise
                time.sleep(0.5)
        s.settimeout(30)
        print("connected", flush=True)
        t0 = time.monotonic()
        while not os.path.exists(stop) and time.monotonic() - t0 < 600:
            buf = rng.randbytes(CHUNK)
            s.sendall(buf)
            h.update(buf)
            n += len(buf)
            # Pace: sleep until this many bytes are due at RATE.
            ahead = n / rate - (time.monotonic() - t0)
            if ahead > 0:
                time.sleep(ahead)
        s.shutdown(socket.SHUT_WR)
        answer = b""
        while not answer.endswith(b"\n"):
            d = s.recv(256)
            if not d:
                break
            answer += d
        s.close()
    except OSError as e:
        print("error after %d bytes: %s: %s" % (n, e.__class__.__name__, e), flush=True)
        return 1
    secs = time.monotonic() - t0
    want = "%d %s" % (n, h.hexdigest())
    got = answer.decode(errors="replace").strip()
    if got != want:
        print("MISMATCH sent '%s' server '%s'" % (want, got), flush=True)
        return 1
    print("ok bytes=%d sha256=%s secs=%.1f" % (n, h.hexdigest()[:16], secs), flush=True)
    return 0


def main():
    if sys.argv[1] == "server":
        server(sys.argv[2], int(sys.argv[3]))
        return 0
    return client(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5])


if __name__ == "__main__":
    sys.exit(main())
