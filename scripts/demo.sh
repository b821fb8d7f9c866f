#!/usr/bin/env bash
# The lab demo: installs what is missing, builds braidd and the WAN emulator, brings up
# the two-site, three-uplink lab, runs braid's tunnel across it, sends traffic, cuts and
# restores a link, prints what happened, and tears everything down again.
#   sudo scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "demo: run as root (network namespaces)" >&2; exit 1; }
scripts/install-deps.sh
cmake --preset default >/dev/null
cmake --build --preset default -j "$(nproc)" --target braidd braid-wanem braid-wanem-probe
export BRAID_BUILD_DIR=$PWD/build/default
exec deploy/lab/demo.sh all
