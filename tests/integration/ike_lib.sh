# Helpers for the IKEv2 integration tests (sourced after netns.sh and dataplane_lib.sh, whose
# topology, dp_start/dp_stop/dp_refresh/dp_counter helpers they reuse):
#   lanA 10.98.1.2 -- gwA 10.98.1.1 | wan0 10.99.0.1 -- 10.99.0.2 wan0 | gwB 10.98.2.1 -- lanB 10.98.2.2
IKE_PSK=${IKE_PSK:-braid-lab-psk-0123456789abcdef0123}

# ike_pki DIR: an ECDSA P-256 CA and one certificate per gateway (openssl), in DIR:
#   ca.pem, gwA.pem/gwA.key (CN=gwA.lab, SAN DNS gwA.lab), gwB.pem/gwB.key.
ike_pki() {
  local d=$1 gw
  mkdir -p "$d"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/C=CH/O=braid lab/CN=braid lab CA" -keyout "$d/ca.key" -out "$d/ca.pem" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    >/dev/null 2>&1 || return 1
  for gw in gwA gwB; do
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
      -subj "/C=CH/O=braid lab/CN=$gw.lab" -keyout "$d/$gw.key" -out "$d/$gw.csr" >/dev/null 2>&1 || return 1
    printf 'subjectAltName=DNS:%s.lab\nkeyUsage=critical,digitalSignature\n' "$gw" >"$d/$gw.ext"
    openssl x509 -req -in "$d/$gw.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
      -days 2 -extfile "$d/$gw.ext" -out "$d/$gw.pem" >/dev/null 2>&1 || return 1
  done
}

# ike_config SITE(A|B) [key=value lines for [peer.ike]...] -> prints a braidd config with one
# IKE path. Environment knobs: IKE_GLOBAL (extra [ike] lines), IKE_REMOTE_ADDRESS (path
# remote_address), IKE_PEER_SUBNETS (peer remote_subnets TOML array), IKE_LOCAL_SUBNETS
# (overlay local_subnets TOML array); dataplane_lib.sh's DP_WAN_A / DP_WAN_B (uplink
# addresses) and DP_MTU (empty: no mtu line) apply too.
ike_config() {
  local site=$1; shift
  local local_net remote_net me peer
  if [ "$site" = A ]; then
    local_net=10.98.1.0/24 remote_net=10.98.2.0/24 me=${DP_WAN_A:-10.99.0.1} peer=${DP_WAN_B:-10.99.0.2}
  else
    local_net=10.98.2.0/24 remote_net=10.98.1.0/24 me=${DP_WAN_B:-10.99.0.2} peer=${DP_WAN_A:-10.99.0.1}
  fi
  local mtu_line="mtu = ${DP_MTU-1438}"
  [ -z "${DP_MTU-1438}" ] && mtu_line=""
  cat <<CFG
[log]
level = "${IKE_LOGLEVEL:-info}"

[overlay]
device = "braid0"
$mtu_line
local_subnets = ${IKE_LOCAL_SUBNETS:-[\"$local_net\"]}

[ike]
${IKE_GLOBAL:-}

[[uplink]]
name = "wan0"
local_address = "$me"

[[peer]]
name = "site-$site-peer"
remote_subnets = ${IKE_PEER_SUBNETS:-[\"$remote_net\"]}

[peer.ike]
$(printf '%s\n' "$@")

[[peer.path]]
uplink = "wan0"
remote_address = "${IKE_REMOTE_ADDRESS:-$peer}"
CFG
}

# ike_state SITE: the path's IKE state word from a fresh stats file.
ike_state() {
  dp_refresh "$1" >/dev/null 2>&1
  awk '$1 ~ /^ike\.path\..*\.state$/ { print $2; exit }' "$NN_TMP/stats$1"
}

# ike_wait_up SITE SECS: until the path has a Child SA installed.
ike_wait_up() {
  local site=$1 secs=$2 i
  for i in $(seq 1 $((secs * 4))); do
    dp_refresh "$site" >/dev/null 2>&1
    if [ "$(awk '$1 ~ /^ike\.path\..*\.child_sas$/ { print $2; exit }' "$NN_TMP/stats$site")" -ge 1 ] 2>/dev/null; then
      return 0
    fi
    sleep 0.25
  done
  return 1
}

# ike_check_child_up: a Child SA is installed on both sites (A initiates, B responds).
ike_check_child_up() {
  nn_check "gwA: Child SA installed" ike_wait_up A 10
  nn_check "gwB: Child SA installed" ike_wait_up B 5
}

# ike_check_path_healthy SITE: one Child SA up and no IKE failures (last stats file).
ike_check_path_healthy() {
  nn_check "gw$1: ike.child_sa_up = 1" test "$(dp_counter "$1" ike.child_sa_up)" -eq 1
  nn_check "gw$1: no IKE failures" \
    test "$(awk '$1 ~ /^ike\.path\..*\.failures$/ { print $2 }' "$NN_TMP/stats$1")" = 0
}

# ike_check_stop_a_deletes: braidd A exits 0 on SIGTERM and its Delete takes the IKE SA down
# on gwB (RFC 7296 1.4.1).
ike_check_stop_a_deletes() {
  nn_check "braidd A exits 0 on SIGTERM" dp_stop A
  nn_check "gwB: IKE SA down after A's Delete" nn_wait_for 5 grep -q "IKE SA down" "$NN_TMP/braiddB.log"
}
