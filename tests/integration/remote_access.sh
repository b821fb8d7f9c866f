#!/usr/bin/env bash
# strongSwan road-warrior clients against braidd's [[remote_access]] (RFC 7296 2.19, 3.15):
#   lanA 10.98.1.2 --+
#                    gwA (braidd) 10.99.0.1 -- wan -- 10.99.0.2 gwB (client 1: charon)
#   lanC 10.97.1.2 --+                                     |  NAT (masquerade)
#                                                       lanB 10.98.2.2 (client 2: charon)
# Clients authenticate with certificates from the lab CA and ask for a virtual IP (vips).
# braidd may be reached at 10.98.1.0/24 (allowed_subnets) but not at 10.97.1.0/24, which is
# also behind gwA. Checks: each client gets an address of the pool and the DNS server; it
# pings lanA from its virtual IP and cannot reach lanC; the second client, behind a NAT, gets
# another address; a client with a certificate from another CA is refused; a client that
# reconnects gets its address back; carol, behind the same NAT address as bob, connects at
# the same time on another NAT port; braidd logs the clients and exits 0. Groups from the
# certificate: alice's OU (staff) has no [[remote_access.group]] and gets the section's
# subnets; bob's OU lab names a group and he reaches lanC only.
set -u
. "$(cd "$(dirname "$0")" && pwd)/remote_access_lib.sh"

nn_init
[ -x "$BRAIDD" ] || nn_die "braidd not built: $BRAIDD"
ss_check_deps
ra_topology  # lanC, and the NAT client 2 sits behind
# carol sits behind the same NAT as bob (lanB2, masqueraded to 10.99.0.2 as well): two
# clients share one public address, told apart by their NAT ports and SPIs.
nn_add lanB2
nn_veth gwB lan1 10.98.3.1/24 lanB2 eth0 10.98.3.2/24
nn_exec lanB2 ip route add default via 10.98.3.1
nn_exec gwB nft add rule ip rwnat post oifname "wan0" ip saddr 10.98.3.0/24 masquerade ||
  nn_die "cannot extend the NAT on gwB"

# ---- PKI: the lab CA (gateway and clients) and a rogue CA ------------------------------------
P=$NN_TMP/pki
ike_pki "$P" || nn_die "cannot make the test PKI"
issue() {  # issue CA_DIR NAME [OU]
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/C=CH/O=braid lab${3:+/OU=$3}/CN=$2" \
    -keyout "$1/$2.key" -out "$1/$2.csr" >/dev/null 2>&1 || return 1
  printf 'subjectAltName=DNS:%s\nkeyUsage=critical,digitalSignature\n' "$2" >"$1/$2.ext"
  openssl x509 -req -in "$1/$2.csr" -CA "$1/ca.pem" -CAkey "$1/ca.key" -CAcreateserial -days 2 \
    -extfile "$1/$2.ext" -out "$1/$2.pem" >/dev/null 2>&1
}
issue "$P" alice.lab staff && issue "$P" bob.lab lab && issue "$P" carol.lab staff ||
  nn_die "cannot issue client certificates"
mkdir -p "$NN_TMP/rogue"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=rogue CA" \
  -keyout "$NN_TMP/rogue/ca.key" -out "$NN_TMP/rogue/ca.pem" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign >/dev/null 2>&1
issue "$NN_TMP/rogue" mallory.lab || nn_die "cannot issue the rogue certificate"
chmod 600 "$P"/*.key

# ---- braidd on gwA ----------------------------------------------------------------------------
ra_gateway_conf "$P" '' '"aes256gcm16-prfsha256-x25519"' >"$NN_TMP/a.toml"
nn_check "config is valid" "$BRAIDD" --check --config "$NN_TMP/a.toml"
dp_start A "$NN_TMP/a.toml"

# ---- strongSwan clients -----------------------------------------------------------------------
# client NAME NS CERTDIR ADDR: a charon in NS with a swanctl.conf for connection "rw".
client() {
  local name=$1 ns=$2 certs=$3 addr=$4 d=$NN_TMP/$1
  ss_conf "$d" 2
  # The resolve plugin writes the DNS servers the gateway sent into a file of ours.
  sed -i "s/^  load = \(.*\)$/  load = \1 resolve/; s|^  plugins {$|  plugins {\n    resolve { file = $d/resolv.conf }|" "$d/strongswan.conf"
  cp "$P/ca.pem" "$d/swanctl/x509ca/ca.pem"
  cp "$certs/$name.pem" "$d/swanctl/x509/$name.pem"
  cp "$certs/$name.key" "$d/swanctl/private/$name.key"
  cat >"$d/swanctl/swanctl.conf" <<SW
connections {
  rw {
    version = 2
    local_addrs = $addr
    remote_addrs = 10.99.0.1
    encap = yes
    mobike = no
    vips = 0.0.0.0
    proposals = aes256gcm16-prfsha256-x25519
    dpd_delay = 0
    local {
      auth = pubkey
      certs = $name.pem
      id = $name
    }
    remote {
      auth = pubkey
      id = gwA.lab
      cacerts = ca.pem
    }
    children {
      rw {
        remote_ts = 10.98.1.0/24,10.97.1.0/24
        esp_proposals = aes256gcm16
        start_action = none
      }
    }
  }
}
SW
  ss_start "$(nn "$ns")" "$d"
  NN_PIDS+=("$LAB_LAST_PID")
  ss_load "$d" >/dev/null
}
up() { ss_swanctl "$NN_TMP/$1" --initiate --child rw --timeout 15 >"$NN_TMP/$1-initiate.out" 2>&1; }
down() { ss_swanctl "$NN_TMP/$1" --terminate --ike rw --timeout 10 >"$NN_TMP/$1-terminate.out" 2>&1; }
vip() { grep -o 'installing new virtual IP [0-9.]*' "$NN_TMP/$1/charon.log" | tail -1 | awk '{print $NF}'; }

client alice.lab gwB "$P" 10.99.0.2
nn_check "alice: IKE and Child SA up" up alice.lab
VIP1=$(vip alice.lab)
nn_check "alice: virtual IP from the pool ($VIP1)" bash -c "[[ '$VIP1' == 10.90.0.* ]]"
nn_check "alice: DNS server from the gateway" grep -q "10.98.1.53" "$NN_TMP/alice.lab/resolv.conf"
nn_check "alice: TSr narrowed to the allowed subnet" \
  grep -q "CHILD_SA rw{[0-9]*} established .* $VIP1/32 === 10.98.1.0/24\$" "$NN_TMP/alice.lab/charon.log"
nn_check "alice pings lanA from its virtual IP" nn_exec gwB ping -q -c 3 -i 0.2 -W 2 10.98.1.2
nn_check "lanA pings alice's virtual IP" nn_exec lanA ping -q -c 3 -i 0.2 -W 2 "$VIP1"
nn_check "alice cannot reach lanC (not allowed)" \
  bash -c "! ip netns exec $(nn gwB) ping -q -c 2 -i 0.2 -W 1 10.97.1.2 >/dev/null 2>&1"
nn_check "gwA: client installed" grep -q "remote access staff: client $VIP1 (staff#0/wan0) ESP SAs installed" "$NN_TMP/braiddA.log"

client bob.lab lanB "$P" 10.98.2.2
nn_check "bob (behind NAT): IKE and Child SA up" up bob.lab
VIP2=$(vip bob.lab)
nn_check "bob: another virtual IP ($VIP2)" bash -c "[[ '$VIP2' == 10.90.0.* && '$VIP2' != '$VIP1' ]]"
nn_check "gwA: bob's ESP goes to his NAT mapping of 10.99.0.2, not to port 4500" \
  grep -Eq "client $VIP2 \(staff#1/wan0\) ESP SAs installed .*sending to 10\.99\.0\.2:[0-9]+$" "$NN_TMP/braiddA.log"
nn_check "  (bob's port is not 4500)" bash -c "! grep -q 'client $VIP2 .*sending to 10.99.0.2:4500' '$NN_TMP/braiddA.log'"
nn_check "gwA: bob's group from his certificate's OU" \
  grep -q "bob.lab gets virtual IP $VIP2 (group lab)" "$NN_TMP/braiddA.log"
nn_check "bob: TSr narrowed to his group's subnet (OU lab)" \
  grep -q "CHILD_SA rw{[0-9]*} established .* $VIP2/32 === 10.97.1.0/24\$" "$NN_TMP/bob.lab/charon.log"
nn_check "bob pings lanC (his group's subnet)" nn_exec lanB ping -q -c 3 -i 0.2 -W 2 10.97.1.2
nn_check "bob cannot reach lanA (not his group's)" \
  bash -c "! ip netns exec $(nn lanB) ping -q -c 2 -i 0.2 -W 1 10.98.1.2 >/dev/null 2>&1"

# carol behind the same NAT address as bob, both connected at once.
client carol.lab lanB2 "$P" 10.98.3.2
nn_check "carol (behind bob's NAT): IKE and Child SA up" up carol.lab
VIP3=$(vip carol.lab)
nn_check "carol: a third virtual IP ($VIP3)" \
  bash -c "[[ '$VIP3' == 10.90.0.* && '$VIP3' != '$VIP1' && '$VIP3' != '$VIP2' ]]"
BOBPORT=$(grep -Eo "client $VIP2 \(staff#1/wan0\) ESP SAs installed .*sending to 10\.99\.0\.2:[0-9]+$" "$NN_TMP/braiddA.log" | grep -Eo '[0-9]+$' | tail -1)
CAROLPORT=$(grep -Eo "client $VIP3 \(staff#2/wan0\) ESP SAs installed .*sending to 10\.99\.0\.2:[0-9]+$" "$NN_TMP/braiddA.log" | grep -Eo '[0-9]+$' | tail -1)
nn_check "gwA: bob and carol share 10.99.0.2 on ports ${BOBPORT:-?} and ${CAROLPORT:-?}" \
  bash -c "[ -n '$BOBPORT' ] && [ -n '$CAROLPORT' ] && [ '$BOBPORT' != '$CAROLPORT' ]"
nn_check "carol pings lanA and bob lanC, at the same time" \
  bash -c "ip netns exec $(nn lanB2) ping -q -c 5 -i 0.2 -W 2 10.98.1.2 >/dev/null & c=\$!; ip netns exec $(nn lanB) ping -q -c 5 -i 0.2 -W 2 10.97.1.2 >/dev/null && wait \$c"
nn_check "carol cannot reach lanC (staff's subnets only)" \
  bash -c "! ip netns exec $(nn lanB2) ping -q -c 2 -i 0.2 -W 1 10.97.1.2 >/dev/null 2>&1"
nn_check "lanA pings carol's virtual IP" nn_exec lanA ping -q -c 2 -W 2 "$VIP3"
nn_check "carol: terminate" down carol.lab
nn_check "gwA: carol's client gone" nn_wait_for 5 grep -q "client $VIP3 (staff#2/wan0) gone" "$NN_TMP/braiddA.log"
nn_check "bob still pings lanC after carol left" nn_exec lanB ping -q -c 2 -i 0.2 -W 2 10.97.1.2

nn_check "alice still pings lanA" nn_exec gwB ping -q -c 2 -i 0.2 -W 2 10.98.1.2
nn_check "alice still cannot reach lanC" \
  bash -c "! ip netns exec $(nn gwB) ping -q -c 2 -i 0.2 -W 1 10.97.1.2 >/dev/null 2>&1"
nn_check "lanA pings alice's and lanC bob's virtual IP" \
  bash -c "ip netns exec $(nn lanA) ping -q -c 2 -W 2 $VIP1 >/dev/null && ip netns exec $(nn lanC) ping -q -c 2 -W 2 $VIP2 >/dev/null"

# Reconnect: the same identity gets its address back.
nn_check "alice: terminate" down alice.lab
nn_check "gwA: alice's client gone" nn_wait_for 5 grep -q "client $VIP1 (staff#0/wan0) gone" "$NN_TMP/braiddA.log"
nn_check "alice: up again" up alice.lab
VIP1B=$(vip alice.lab)
nn_check "alice: same virtual IP after reconnecting ($VIP1B)" test "$VIP1B" = "$VIP1"
nn_check "alice pings lanA again" nn_exec gwB ping -q -c 2 -i 0.2 -W 2 10.98.1.2

nn_check "bob: terminate" down bob.lab
nn_check "gwA: bob's client gone" nn_wait_for 5 grep -q "client $VIP2 (staff#1/wan0) gone" "$NN_TMP/braiddA.log"

# A certificate from another CA: refused, no address.
refused() { ! up "$1"; }
client mallory.lab lanA "$NN_TMP/rogue" 10.98.1.2
nn_check "mallory (another CA): refused" refused mallory.lab
nn_check "mallory: AUTHENTICATION_FAILED from the gateway" \
  grep -q "received AUTHENTICATION_FAILED" "$NN_TMP/mallory.lab/charon.log"
nn_check "gwA: mallory's certificate not trusted" grep -q "not trusted" "$NN_TMP/braiddA.log"

# Figures: IKE_SA_INIT + IKE_AUTH with CP, as each client's charon timed it (1 ms resolution).
for c in alice.lab bob.lab carol.lab; do
  echo "figure: $c connection set-up $(ss_log_setup_ms "$NN_TMP/$c/charon.log" rw 1) ms"
done
dp_refresh A
nn_check "gwA: opened ESP from the clients ($(dp_counter A rx.opened))" test "$(dp_counter A rx.opened)" -gt 10
nn_check "gwA: no spoofed-source or policy drops of the clients' traffic" \
  test "$(dp_counter A rx.drop.spoofed_source) $(dp_counter A rx.drop.policy)" = "0 0"
# alice is connected; bob's and carol's leases went offline with their IKE SAs, reserved.
nn_check "gwA: 1 client connected ($(dp_counter A ike.remote_access.clients))" \
  test "$(dp_counter A ike.remote_access.clients)" -eq 1
nn_check "gwA: pool 1 online, 2 offline leases" \
  test "$(dp_counter A ike.remote_access.staff.pool.10.90.0.0/24.online) $(dp_counter A ike.remote_access.staff.pool.10.90.0.0/24.offline)" = "1 2"
nn_check "braidd exits 0 on SIGTERM" dp_stop A
nn_finish
