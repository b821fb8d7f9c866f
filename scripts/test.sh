#!/usr/bin/env bash
# The test command: installs what is missing, builds every preset and runs every test.
#   sudo scripts/test.sh            # everything (what CI runs)
#   sudo scripts/test.sh --quick    # default preset only
set -euo pipefail
cd "$(dirname "$0")/.."
QUICK=0
[ "${1:-}" = --quick ] && QUICK=1
JOBS=${JOBS:-$(nproc)}

step() { printf '\n=== %s ===\n' "$*"; }

step "dependencies"
scripts/install-deps.sh

step "build: default (RelWithDebInfo)"
cmake --preset default >/dev/null
cmake --build --preset default -j "$JOBS"
step "tests: default"
ctest --preset default -j "$JOBS"

if [ "$QUICK" = 0 ]; then
  step "build: asan (ASan + UBSan)"
  cmake --preset asan >/dev/null
  cmake --build --preset asan -j "$JOBS"
  step "tests: asan (unit tests, fuzz corpora, and braidd under ASan: hostile ESP, IKE tunnel and failures, IPv6)"
  ctest --preset asan -j "$JOBS" -L 'unit|fuzz|asan'

  step "build: fuzz (clang-14 libFuzzer)"
  cmake --preset fuzz >/dev/null
  cmake --build --preset fuzz -j "$JOBS" --target fuzzers
  step "fuzz: short run of every target, $JOBS at a time"
  # Each target is one process on one core for FUZZ_SECONDS, so they run side by side.
  fuzz_one() {
    local f=$1 name corpus work
    name=$(basename "$f")
    corpus=tests/fuzz/corpus/${name#fuzz_}
    work=$(mktemp -d)
    "$f" -max_total_time="${FUZZ_SECONDS:-10}" -print_final_stats=0 "$work" "$corpus" >/tmp/$name.log 2>&1 \
      || { tail -40 /tmp/$name.log; rm -rf "$work"; return 1; }
    rm -rf "$work"
    echo "$name: ok ($(grep -o 'cov: [0-9]*' /tmp/$name.log | tail -1))"
  }
  export -f fuzz_one
  for f in build/fuzz/tests/fuzz/fuzz_*; do if [ -x "$f" ]; then echo "$f"; fi; done \
    | xargs -P "$JOBS" -I{} bash -c 'fuzz_one "$1"' _ {}
fi
step "all tests passed"
