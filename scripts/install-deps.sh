#!/usr/bin/env bash
# Installs exactly the Debian 12 packages braid needs that are missing. Idempotent, and
# silent when there is nothing to do.
set -eu
PKGS=(
  # build
  g++ cmake ninja-build pkg-config git clang-format clang-14 libfuzzer-14-dev libclang-rt-14-dev
  lld  # the linker CMakeLists.txt picks when present (faster links than ld.bfd)
  libboost1.81-dev libssl-dev libnl-3-dev libnl-route-3-dev libtomlplusplus-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # lab, tests and oracles
  iproute2 iputils-ping nftables conntrack tcpdump tshark iperf3 ethtool python3 openssl
  strongswan-charon strongswan-swanctl strongswan-pki libcharon-extra-plugins
  libcharon-extauth-plugins  # eap-mschapv2 for the EAP road-warrior test
  python3-gi gir1.2-nm-1.0  # libnm's keyfile reader for the NetworkManager profile (no daemon)
  libstrongswan-standard-plugins libstrongswan-extra-plugins
  wireguard-go wireguard-tools openvpn prometheus python3-prometheus-client linux-perf gnuplot-nox
  mptcpize  # the kernel MPTCP baseline of lab_bond (only a recommendation of mptcpd)
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
[ "$(id -u)" = 0 ] || { echo "install-deps: run as root to install: ${missing[*]}" >&2; exit 1; }
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# wireshark-common asks whether non-root users may capture; the answer does not matter here.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
