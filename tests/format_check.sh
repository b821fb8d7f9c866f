#!/usr/bin/env bash
# Fails if any tracked C++ file differs from what clang-format (root .clang-format) makes of it.
set -euo pipefail
cd "${BRAID_SOURCE_DIR:-$(dirname "$0")/..}"
command -v clang-format >/dev/null || { echo "clang-format missing (scripts/install-deps.sh)"; exit 1; }
mapfile -t files < <(git ls-files '*.cpp' '*.hpp')
if ! out=$(clang-format --dry-run -Werror "${files[@]}" 2>&1); then
  printf '%s\n' "$out" | grep -E '^[^ ].*(warning|error):' | cut -d: -f1 | sort -u | sed 's/^/needs clang-format: /'
  exit 1
fi
echo "clang-format: ${#files[@]} files clean"
