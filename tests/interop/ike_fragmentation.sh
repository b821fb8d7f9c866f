#!/usr/bin/env bash
# IKE fragmentation (RFC 7383) against strongSwan: an RSA-4096 certificate chain (root,
# intermediate, leaf) on both ends makes each IKE_AUTH message several kB; the WAN veths have
# MTU 576 and both gateways drop IP fragments (nftables), so IKE_AUTH only gets through as
# IKE fragments. braidd (gwA) with fragment_size = 576, charon (gwB) with fragmentation = yes
# and fragment_size = 576. Both directions: braid initiator, then braid responder. Per case:
# tunnel up in both logs, ping both ways, braid's "in N fragments" and charon's reassembly log
# lines, SKF payloads (53) and no IP fragment or datagram over 576 bytes in the capture.
# Case pmtu (RFC 7383 2.5.2): braid's wan0 says MTU 1500 and fragment_size is left unset, so
# braid cuts its first IKE_AUTH for 1500 bytes; gwB silently drops UDP datagrams over 576
# bytes (a smaller hop upstream, no ICMP). braid splits the retransmissions smaller (1280,
# then 576) and comes up.
#   ike_fragmentation.sh [init|resp|pmtu|all]
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NN_PREFIX=${NN_PREFIX:-fr$$-}
. "$HERE/../support/netns.sh"
. "$HERE/../integration/dataplane_lib.sh"
. "$HERE/interop_lib.sh"
GROUP=${1:-all}
MTU=576

# fr_pki DIR: RSA-4096 root and intermediate CAs, an RSA-4096 leaf per gateway (openssl).
# DIR/gwX.lab.chain.pem is leaf + intermediate (what braidd sends); charon gets the leaf in
# x509/ and both CAs in x509ca/ and sends the intermediate itself.
fr_pki() {
  local d=$1 gw
  mkdir -p "$d"
  openssl req -x509 -newkey rsa:4096 -nodes -days 2 -subj "/C=CH/O=braid lab/CN=braid frag root" \
    -keyout "$d/root.key" -out "$d/root.pem" -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign >/dev/null 2>&1 || return 1
  openssl req -newkey rsa:4096 -nodes -subj "/C=CH/O=braid lab/CN=braid frag intermediate" \
    -keyout "$d/inter.key" -out "$d/inter.csr" >/dev/null 2>&1 || return 1
  printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' >"$d/inter.ext"
  openssl x509 -req -in "$d/inter.csr" -CA "$d/root.pem" -CAkey "$d/root.key" -CAcreateserial \
    -days 2 -extfile "$d/inter.ext" -out "$d/inter.pem" >/dev/null 2>&1 || return 1
  for gw in gwA gwB; do
    openssl req -newkey rsa:4096 -nodes -subj "/C=CH/O=braid lab/CN=$gw.lab" \
      -keyout "$d/$gw.lab.key" -out "$d/$gw.csr" >/dev/null 2>&1 || return 1
    printf 'subjectAltName=DNS:%s.lab\nkeyUsage=critical,digitalSignature\n' "$gw" >"$d/$gw.ext"
    openssl x509 -req -in "$d/$gw.csr" -CA "$d/inter.pem" -CAkey "$d/inter.key" -CAcreateserial \
      -days 2 -extfile "$d/$gw.ext" -out "$d/$gw.lab.pem" >/dev/null 2>&1 || return 1
    cat "$d/$gw.lab.pem" "$d/inter.pem" >"$d/$gw.lab.chain.pem"
  done
  chmod 600 "$d"/*.key
}

# The path: MTU 576 on both WAN ends, IP fragments dropped on arrival (before any defrag),
# counted, so an IKE message bigger than the path is lost unless IKE fragments it.
fr_path() {
  local gw
  for gw in gwA gwB; do
    nn_exec $gw ip link set wan0 mtu $MTU
    nn_exec $gw nft delete table ip fr_path 2>/dev/null
    nn_exec $gw nft -f - <<'NFT'
table ip fr_path {
  chain pre { type filter hook prerouting priority -450; ip frag-off & 0x3fff != 0 counter drop; }
}
NFT
  done
}
fr_frag_drops() { nn_exec "$1" nft list table ip fr_path | awk '/counter/ { for (i = 1; i <= NF; i++) if ($i == "packets") print $(i + 1) }'; }

fr_start_charon() {
  local d=$1
  ss_conf "$d" 2
  sed -i "s/^charon {\$/charon {\n  fragment_size = $MTU\n  retransmit_timeout = 1.0\n  retransmit_base = 1.4\n  retransmit_tries = 3/" \
    "$d/strongswan.conf"
  cp "$PKI/root.pem" "$d/swanctl/x509ca/root.pem"
  cp "$PKI/inter.pem" "$d/swanctl/x509ca/inter.pem"
  cp "$PKI/gwB.lab.pem" "$d/swanctl/x509/gwB.pem"
  cp "$PKI/gwB.lab.key" "$d/swanctl/private/gwB.key"
  ss_start "$(nn gwB)" "$d"
  NN_PIDS+=("$LAB_LAST_PID")
}

fr_swanctl_conf() {   # fr_swanctl_conf ROLE(init|resp)
  local remote=10.99.0.1
  [ "$1" = resp ] && remote=%any
  cat <<EOF
connections {
  ref {
    version = 2
    local_addrs = 10.99.0.2
    remote_addrs = $remote
    encap = yes
    mobike = no
    fragmentation = yes
    proposals = aes256gcm16-prfsha256-x25519
    dpd_delay = 0
    rekey_time = 0
    local {
      auth = pubkey
      certs = gwB.pem
      id = gwB.lab
    }
    remote {
      auth = pubkey
      cacerts = root.pem
      id = gwA.lab
    }
    children {
      net {
        local_ts = 10.98.2.0/24
        remote_ts = 10.98.1.0/24
        esp_proposals = aes256gcm16
        mode = tunnel
        rekey_time = 0
        start_action = none
      }
    }
  }
}
EOF
}

fr_braid_conf() {   # fr_braid_conf ROLE(init|resp) [FRAGMENTATION(true|false)] [FRAGMENT_SIZE|auto]
  local initiate=true remote=10.99.0.2 fragmentation=${2:-true} size="fragment_size = $MTU"
  [ "$1" = resp ] && { initiate=false remote=%any; }
  [ "${3:-}" = auto ] && size="# fragment_size unset: the uplink's MTU"
  cat <<EOF
[log]
level = "debug"

[overlay]
device = "braid0"
mtu = 1400
local_subnets = ["10.98.1.0/24"]

[[uplink]]
name = "wan0"
local_address = "10.99.0.1"

[[peer]]
name = "ref"
remote_subnets = ["10.98.2.0/24"]

[peer.ike]
proposals = "aes256gcm16-prfsha256-x25519"
esp_proposals = "aes256gcm16"
auth = "pubkey"
certificate = "$PKI/gwA.lab.chain.pem"
private_key = "$PKI/gwA.lab.key"
ca_certificates = "$PKI/root.pem"
local_id = "gwA.lab"
remote_id = "gwB.lab"
initiate = $initiate
fragmentation = $fragmentation
$size
retransmit_timeout = 1
retransmit_base = 1.5
retransmit_tries = 3
retry_initial = 2
retry_max = 4

[[peer.path]]
uplink = "wan0"
remote_address = "$remote"
EOF
}

ref_log() { io_charon_since "$REF" "$REF_MARK"; }
dut_log() { cat "$LOG" 2>/dev/null; }

run_case() {
  local role=$1 ref_role=init pcap cap pid n
  [ "$role" = init ] && ref_role=resp
  io_case_begin "fragmentation-$role"
  io_charon_reset "$REF"
  fr_swanctl_conf "$ref_role" >"$REF/swanctl/swanctl.conf"
  io_charon_load "$REF"
  REF_MARK=$(io_charon_log_mark "$REF")
  pcap=$NN_TMP/frag-$role.pcap
  nn_bg gwB "$NN_TMP/tcpdump-$role.log" tcpdump -i wan0 -n -s 0 -U --immediate-mode -w "$pcap" \
    'udp port 500 or udp port 4500 or (ip[6:2] & 0x3fff != 0)'
  cap=$NN_LAST_PID
  nn_wait_for 5 grep -q listening "$NN_TMP/tcpdump-$role.log" || io_bad "tcpdump did not start"
  LOG=$NN_TMP/braid-$role.log
  fr_braid_conf "$role" >"$NN_TMP/braid-$role.toml"
  io_check "braidd --check accepts fragmentation/fragment_size" \
    "$BRAIDD" --check --config "$NN_TMP/braid-$role.toml"
  nn_bg gwA "$LOG" "$BRAIDD" --config "$NN_TMP/braid-$role.toml"
  pid=$NN_LAST_PID
  if [ "$role" = resp ]; then
    nn_wait_for 5 grep -q "listening\|IKE" "$LOG"
    sleep 0.5
    (ss_swanctl "$REF" --initiate --child net --timeout 20 >"$NN_TMP/ref-initiate.out" 2>&1 &)
  fi
  io_expect_log REF ref_log 25 < <(printf '%s\n' 'IKE_SA ref\[[0-9]+\] established between' \
    'CHILD_SA net\{[0-9]+\} established' \
    'splitting IKE message \([0-9]+ bytes\) into [0-9]+ fragments' \
    'received fragment #[0-9]+ of [0-9]+, reassembled fragmented IKE message')
  io_expect_log DUT dut_log 10 < <(printf '%s\n' 'IKE SA established \((initiator|responder), gwB\.lab' \
    "Child SA '[^']*' up, SPIs in" \
    "IKE_AUTH (request|response) 1 in [0-9]+ fragments \(RFC 7383\)" \
    "reassembled IKE_AUTH (request|response) 1 from fragments")
  io_check "ping lanA -> lanB" nn_exec lanA ping -q -c 3 -i 0.2 -W 2 10.98.2.2
  io_check "ping lanB -> lanA" nn_exec lanB ping -q -c 3 -i 0.2 -W 2 10.98.1.2
  sleep 0.3
  nn_kill_pid "$cap"
  # The capture: SKF payloads (next payload 53) from both sides, no IP fragment, nothing
  # bigger than the path.
  local a b frags big
  a=$(tshark -r "$pcap" -Y 'ip.src == 10.99.0.1 && isakmp.nextpayload == 53' 2>/dev/null | wc -l)
  b=$(tshark -r "$pcap" -Y 'ip.src == 10.99.0.2 && isakmp.nextpayload == 53' 2>/dev/null | wc -l)
  frags=$(tshark -r "$pcap" -Y 'ip.flags.mf == 1 || ip.frag_offset > 0' 2>/dev/null | wc -l)
  big=$(tshark -r "$pcap" -Y "ip.len > $MTU" 2>/dev/null | wc -l)
  io_check "capture: braid sent $a SKF fragments (>= 2)" test "$a" -ge 2
  io_check "capture: strongSwan sent $b SKF fragments (>= 2)" test "$b" -ge 2
  io_check "capture: no IP fragments ($frags) and no datagram over $MTU bytes ($big)" \
    test "$frags$big" = 00
  n=$(dut_log | grep -Eo 'IKE_AUTH (request|response) 1 in [0-9]+ fragments[^,]*, [0-9]+ in all' | head -1)
  io_ok "braid: $n; strongSwan: $(ref_log | grep -Eo 'splitting IKE message \([0-9]+ bytes\) into [0-9]+ fragments' | head -1)"
  io_check "no IP fragment dropped on gwA ($(fr_frag_drops gwA)) or gwB ($(fr_frag_drops gwB))" \
    test "$(fr_frag_drops gwA)$(fr_frag_drops gwB)" = 00
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    local rc=0
    wait "$pid" || rc=$?
    io_check "braidd exits cleanly on SIGTERM (rc $rc)" test "$rc" = 0
  else
    io_bad "braidd died: $(tail -3 "$LOG" | tr '\n' ' ')"
  fi
  io_charon_reset "$REF"
  io_case_end "braid $role, RSA-4096 chains both ways, path MTU $MTU, IP fragments dropped"
}

# The control: braid without fragmentation on this path. Its IKE_AUTH (some 4 kB) leaves as
# IP fragments, which gwB drops; no IKE SA comes up.
control_case() {
  local pid drops
  io_case_begin "control-no-fragmentation"
  io_charon_reset "$REF"
  fr_swanctl_conf resp >"$REF/swanctl/swanctl.conf"
  io_charon_load "$REF"
  REF_MARK=$(io_charon_log_mark "$REF")
  LOG=$NN_TMP/braid-control.log
  fr_braid_conf init false >"$NN_TMP/braid-control.toml"
  nn_bg gwA "$LOG" "$BRAIDD" --config "$NN_TMP/braid-control.toml"
  pid=$NN_LAST_PID
  nn_wait_for 10 bash -c "[ \"\$(ip netns exec $(nn gwB) nft list table ip fr_path | grep -o 'packets [1-9][0-9]*')\" ]"
  drops=$(fr_frag_drops gwB)
  io_check "gwB dropped $drops IP fragments of braid's IKE_AUTH" test "${drops:-0}" -ge 2
  sleep 1
  io_check "no IKE SA established on strongSwan" bash -c "! grep -q 'IKE_SA ref\[[0-9]*\] established' <<<\"\$(cat '$REF/charon.log' | tail -n +$((REF_MARK + 1)))\""
  io_check "braid did not fragment" bash -c "! grep -q 'fragments (RFC 7383)' '$LOG'"
  nn_kill_pid "$pid"
  io_charon_reset "$REF"
  fr_path   # fresh drop counters for the cases
  io_case_end "braid init without fragmentation: IKE_AUTH lost to IP fragment drops"
}

# RFC 7383 2.5.2: braid's uplink MTU is 1500 (what it reads from wan0), the path takes 576.
pmtu_case() {
  local pid drops n
  io_case_begin "fragmentation-pmtu"
  nn_exec gwA ip link set wan0 mtu 1500
  nn_exec gwB ip link set wan0 mtu 1500
  nn_exec gwB nft add chain ip fr_path big '{ type filter hook prerouting priority -440; }'
  nn_exec gwB nft add rule ip fr_path big udp dport '{ 500, 4500 }' ip length '>' $MTU counter drop
  io_charon_reset "$REF"
  fr_swanctl_conf resp >"$REF/swanctl/swanctl.conf"
  io_charon_load "$REF"
  REF_MARK=$(io_charon_log_mark "$REF")
  LOG=$NN_TMP/braid-pmtu.log
  fr_braid_conf init true auto >"$NN_TMP/braid-pmtu.toml"
  nn_bg gwA "$LOG" "$BRAIDD" --config "$NN_TMP/braid-pmtu.toml"
  pid=$NN_LAST_PID
  io_expect_log REF ref_log 25 < <(printf '%s\n' 'IKE_SA ref\[[0-9]+\] established between' \
    'CHILD_SA net\{[0-9]+\} established')
  io_expect_log DUT dut_log 10 < <(printf '%s\n' 'interface MTU 1500' \
    'IKE_AUTH request 1 in [0-9]+ fragments \(RFC 7383\) of at most 14(68|72) bytes' \
    'IKE_AUTH request 1 split again \(RFC 7383 2.5.2\): [0-9]+ fragments of at most 5(44|48) bytes' \
    'IKE SA established \(initiator, gwB\.lab')
  drops=$(nn_exec gwB nft list chain ip fr_path big | awk '/counter/ { for (i = 1; i <= NF; i++) if ($i == "packets") print $(i + 1) }')
  io_check "the path dropped braid's datagrams over $MTU bytes ($drops)" test "${drops:-0}" -ge 1
  io_check "ping lanA -> lanB" nn_exec lanA ping -q -c 3 -i 0.2 -W 2 10.98.2.2
  n=$(dut_log | grep -c 'split again (RFC 7383 2.5.2)')
  io_ok "braid split IKE_AUTH again $n times: $(dut_log | grep -Eo 'split again \(RFC 7383 2.5.2\): .*' | tail -1)"
  nn_kill_pid "$pid"
  io_charon_reset "$REF"
  nn_exec gwB nft delete chain ip fr_path big
  fr_path
  io_case_end "braid init, fragment_size unset on a 1500-MTU uplink, 576-byte path: shrinks and comes up"
}

nn_init
REF=$NN_TMP/ref-charon
PKI=$NN_TMP/pki
ss_check_deps
command -v tshark >/dev/null || nn_die "tshark missing"
[ -x "$BRAIDD" ] || nn_die "braidd not built: $BRAIDD"
t0=$(date +%s)
dp_topology
fr_path
fr_pki "$PKI" || nn_die "openssl: cannot make the RSA-4096 chain"
fr_start_charon "$REF"
control_case
for r in init resp; do
  [ "$GROUP" = all ] || [ "$GROUP" = "$r" ] || continue
  run_case "$r"
done
if [ "$GROUP" = all ] || [ "$GROUP" = pmtu ]; then pmtu_case; fi
io_summary "IKE fragmentation, $(($(date +%s) - t0)) s"
nn_finish
