# Shared by the road-warrior tests (remote_access.sh, remote_access_eap.sh): the test
# libraries, the strongSwan lab recipe (lib.sh; SKIP when it is missing) and ra_topology.
# shellcheck shell=bash
HERE=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
. "$HERE/../support/netns.sh"
. "$HERE/dataplane_lib.sh"
. "$HERE/ike_lib.sh"
for d in "${BRAID_INTEROP_DIR:-}" "$DP_SRC/../shared/interop" /work/shared/interop; do
  if [ -n "$d" ] && [ -r "$d/lib.sh" ]; then IO_SHARED=$d; break; fi
done
[ -n "${IO_SHARED:-}" ] || { echo "SKIP: strongSwan lab recipe (lib.sh) not found"; exit 0; }
# shellcheck disable=SC2034  # read by lib.sh
LAB_PREFIX=${NN_PREFIX:-}
# shellcheck source=/dev/null
. "$IO_SHARED/lib.sh"

# ra_topology: dp_topology plus lanC (10.97.1.0/24, behind gwA but outside the clients'
# allowed subnets) and a masquerading NAT on gwB, so that the client in lanB sits behind
# a NAT (10.99.0.2) as laptops behind a home router do.
ra_topology() {
  dp_topology
  nn_add lanC
  nn_veth gwA lan1 10.97.1.1/24 lanC eth0 10.97.1.2/24
  nn_exec lanC ip route add default via 10.97.1.1
  nn_exec gwB nft -f - <<'NFT' || nn_die "cannot set up the NAT on gwB"
table ip rwnat {
  chain post {
    type nat hook postrouting priority 100;
    oifname "wan0" ip saddr 10.98.2.0/24 masquerade
  }
}
NFT
}

# ra_gateway_conf PKI_DIR SECTION_LINE PROPOSALS: braidd's config on gwA for the road-warrior
# tests: section "staff" (pool 10.90.0.0/24, DNS 10.98.1.53, lanA allowed), group "lab"
# (lanC), the gateway certificate from PKI_DIR. SECTION_LINE adds the section's auth key
# (credentials = "...", eap = "tls", or nothing); PROPOSALS is the TOML value of proposals.
ra_gateway_conf() {
  cat <<CFG
[log]
level = "info"

[overlay]
device = "braid0"
local_subnets = ["10.98.1.0/24", "10.97.1.0/24"]

[[uplink]]
name = "wan0"
local_address = "10.99.0.1"

[[remote_access]]
name = "staff"
pools = ["10.90.0.0/24"]
dns = ["10.98.1.53"]
allowed_subnets = ["10.98.1.0/24"]
max_clients = 4
$2

[[remote_access.group]]
name = "lab"
allowed_subnets = ["10.97.1.0/24"]

[remote_access.ike]
certificate = "$1/gwA.pem"
private_key = "$1/gwA.key"
ca_certificates = "$1/ca.pem"
local_id = "gwA.lab"
proposals = $3
esp_proposals = "aes256gcm16"
CFG
}
