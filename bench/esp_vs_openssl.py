#!/usr/bin/env python3
"""Runs esp_bench and `openssl speed` in one sitting and prints the markdown table kept in
docs/performance.md ("ESP microbenchmarks").

usage: bench/esp_vs_openssl.py BUILD_DIR/bench/esp_bench [--seconds N] [--reps N]

Rates are decimal GB/s (10^9 bytes per second of CPU time) of inner-packet bytes;
openssl speed's "k" columns are 1000 bytes per second.
"""
import argparse
import json
import os
import subprocess
import sys

CIPHERS = [("aes128gcm16", "aes-128-gcm"), ("aes256gcm16", "aes-256-gcm"),
           ("chacha20poly1305", "chacha20-poly1305")]
SIZES = [64, 512, 1400, 8000]


def openssl_speed(evp, size, seconds, aead):
    cmd = ["openssl", "speed", "-seconds", str(seconds), "-bytes", str(size), "-evp", evp]
    if aead:
        cmd.insert(2, "-aead")
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    last = out.strip().splitlines()[-1].split()
    return float(last[-1].rstrip("k")) * 1000 / 1e9


def esp_bench(binary, reps):
    out = subprocess.run([binary, "--benchmark_format=json", f"--benchmark_repetitions={reps}",
                          "--benchmark_report_aggregates_only=true",
                          "--benchmark_min_time=0.5"], capture_output=True, text=True,
                         check=True).stdout
    rates = {}
    for b in json.loads(out)["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        name = b["run_name"]
        if "bytes_per_second" in b:
            rates[name] = b["bytes_per_second"] / 1e9
        elif "items_per_second" in b:
            rates[name] = b["items_per_second"] / 1e6
    return rates


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--seconds", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    load_before = os.getloadavg()[0]
    speed = {}
    for _, evp in CIPHERS:
        for size in SIZES:
            speed[(evp, size, False)] = openssl_speed(evp, size, args.seconds, False)
            speed[(evp, size, True)] = openssl_speed(evp, size, args.seconds, True)
    rates = esp_bench(args.binary, args.reps)
    load_after = os.getloadavg()[0]
    print(f"load average (1 min) before/after: {load_before:.2f} / {load_after:.2f}\n")
    print("| cipher | bytes | seal GB/s | open GB/s | raw AEAD GB/s | openssl speed GB/s "
          "| openssl speed -aead GB/s | seal / speed | open / speed | seal / raw |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, evp in CIPHERS:
        for size in SIZES:
            seal = rates[f"seal/{name}/{size}"]
            opn = rates[f"open/{name}/{size}"]
            raw = rates[f"raw/{name}/{size}"]
            plain = speed[(evp, size, False)]
            aead = speed[(evp, size, True)]
            print(f"| {name} | {size} | {seal:.2f} | {opn:.2f} | {raw:.2f} | {plain:.2f} "
                  f"| {aead:.2f} | {seal / plain:.2f} | {opn / plain:.2f} | {seal / raw:.2f} |")
    print("\n| replay window | size | M packets/s |")
    print("|---|---:|---:|")
    for kind in ("in_order", "reordered"):
        for size in (64, 1024, 4096):
            print(f"| {kind} | {size} | {rates[f'replay/{kind}/{size}']:.0f} |")


if __name__ == "__main__":
    sys.exit(main())
