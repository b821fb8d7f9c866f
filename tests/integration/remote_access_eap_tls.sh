#!/usr/bin/env bash
# strongSwan road-warrior clients with EAP-TLS (RFC 5216) against braidd (RFC 7296 2.16):
#   lanA 10.98.1.2 --+
#                    gwA (braidd) 10.99.0.1 -- wan -- 10.99.0.2 gwB (alice: charon)
#   lanC 10.97.1.2 --+                                     |  NAT (masquerade)
#                                                       lanB 10.98.2.2 (bob: charon)
# The gateway authenticates with its certificate in IKE and is the TLS server inside EAP;
# the clients show their certificates in TLS only (openssl-issued, OU = group, rfc822Name
# SAN = EAP identity). Checks: alice (OU staff) gets a virtual IP, reaches lanA (the
# section's allowed_subnets) and not lanC; bob (OU lab, [[remote_access.group]]) behind the
# NAT gets another address and sees lanC only; a client whose certificate another CA issued
# and one that shows no certificate (its EAP identity is not in it) get EAP-Failure /
# AUTHENTICATION_FAILED and no lease; braidd logs the users, certificates and groups and
# exits 0. TLS 1.2, strongSwan's default. BOB_TLS_MAX=1.3 lets bob offer TLS 1.3: strongSwan
# 5.9.8's experimental TLS 1.3 EAP-TLS client (pre-RFC 9190) then crashes on the gateway's
# RFC 9190 2.5 commitment message, so that is not part of the test.
set -u
. "$(cd "$(dirname "$0")" && pwd)/remote_access_lib.sh"
[ -r /usr/lib/ipsec/plugins/libstrongswan-eap-tls.so ] ||
  { echo "SKIP: strongSwan eap-tls plugin missing (apt-get install libcharon-extra-plugins)"; exit 0; }
SS_PLUGINS="$SS_PLUGINS eap-identity eap-tls"

nn_init
[ -x "$BRAIDD" ] || nn_die "braidd not built: $BRAIDD"
ss_check_deps
ra_topology

P=$NN_TMP/pki
ike_pki "$P" || nn_die "cannot make the test PKI"
# issue CA NAME EMAIL OU: a client certificate (clientAuth) for NAME signed by CA.
issue() {
  local ca=$1 name=$2 email=$3 ou=$4
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/C=CH/O=braid lab/OU=$ou/CN=$name" -keyout "$P/$name.key" -out "$P/$name.csr" \
    >/dev/null 2>&1 || return 1
  printf 'subjectAltName=email:%s\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' \
    "$email" >"$P/$name.ext"
  openssl x509 -req -in "$P/$name.csr" -CA "$P/$ca.pem" -CAkey "$P/$ca.key" -CAcreateserial \
    -days 2 -extfile "$P/$name.ext" -out "$P/$name.pem" >/dev/null 2>&1
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/C=CH/O=elsewhere/CN=other CA" -keyout "$P/other.key" -out "$P/other.pem" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
  >/dev/null 2>&1 || nn_die "cannot make the other CA"
issue ca alice alice@lab staff || nn_die "cannot issue alice's certificate"
issue ca bob bob@lab lab || nn_die "cannot issue bob's certificate"
issue other mallory alice@lab staff || nn_die "cannot issue mallory's certificate"
chmod 600 "$P"/*.key

ra_gateway_conf "$P" 'eap = "tls"' '["aes256gcm16-prfsha256-x25519"]' >"$NN_TMP/a.toml"
nn_check "config is valid" "$BRAIDD" --check --config "$NN_TMP/a.toml"
grep -v '^ca_certificates' "$NN_TMP/a.toml" >"$NN_TMP/a-noca.toml"
nn_check "eap = \"tls\" without ca_certificates: an error at file:line:col" \
  bash -c "'$BRAIDD' --check --config '$NN_TMP/a-noca.toml' 2>&1 | grep -q 'a-noca.toml:[0-9]*:[0-9]*: .*ca_certificates'"
nn_check "eap = \"tls\" without ca_certificates: exit 2" \
  bash -c "'$BRAIDD' --check --config '$NN_TMP/a-noca.toml' >/dev/null 2>&1; test \$? -eq 2"
dp_start A "$NN_TMP/a.toml"

# client NAME NS CERT EAP_ID ADDR [TLS_MAX]: a charon in NS whose connection "rw"
# authenticates with EAP-TLS using CERT.pem/CERT.key.
client() {
  local name=$1 ns=$2 cert=$3 eapid=$4 addr=$5 tlsmax=${6:-1.2} d=$NN_TMP/$1
  ss_conf "$d" 2
  # libtls reads charon.tls.version_max (strongSwan merges the second charon section).
  printf 'charon {\n  tls {\n    version_max = %s\n  }\n}\n' "$tlsmax" >>"$d/strongswan.conf"
  cp "$P/ca.pem" "$d/swanctl/x509ca/ca.pem"
  cp "$P/$cert.pem" "$d/swanctl/x509/"
  cp "$P/$cert.key" "$d/swanctl/private/"
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
      auth = eap-tls
      certs = $cert.pem
      id = $eapid
      eap_id = $eapid
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
vip() { grep -o 'installing new virtual IP [0-9.]*' "$NN_TMP/$1/charon.log" | tail -1 | awk '{print $NF}'; }
refused() { ! up "$1"; }

client alice gwB alice alice@lab 10.99.0.2
nn_check "alice: IKE and Child SA up with EAP-TLS" up alice
nn_check "alice: EAP-TLS succeeded with an MSK" \
  grep -q "EAP method EAP_TLS succeeded, MSK established" "$NN_TMP/alice/charon.log"
nn_check "alice: the gateway's AUTH over the MSK verified" \
  grep -q "authentication of 'gwA.lab' with EAP successful" "$NN_TMP/alice/charon.log"
VIP1=$(vip alice)
nn_check "alice: virtual IP from the pool ($VIP1)" bash -c "[[ '$VIP1' == 10.90.0.* ]]"
nn_check "alice: TSr narrowed to the allowed subnet" \
  grep -q "CHILD_SA rw{[0-9]*} established .* $VIP1/32 === 10.98.1.0/24\$" "$NN_TMP/alice/charon.log"
nn_check "alice pings lanA from its virtual IP" nn_exec gwB ping -q -c 3 -i 0.2 -W 2 10.98.1.2
nn_check "lanA pings alice's virtual IP" nn_exec lanA ping -q -c 3 -i 0.2 -W 2 "$VIP1"
nn_check "alice cannot reach lanC (not allowed)" \
  bash -c "! ip netns exec $(nn gwB) ping -q -c 2 -i 0.2 -W 1 10.97.1.2 >/dev/null 2>&1"
nn_check "gwA: EAP-TLS user alice@lab, her certificate, TLS 1.2, group staff" \
  grep -q "EAP-TLS user 'alice@lab' (certificate 'CN=alice,OU=staff,O=braid lab,C=CH', TLSv1.2) (group staff) authenticated" "$NN_TMP/braiddA.log"
nn_check "gwA: alice's lease is keyed by her EAP identity" \
  grep -q "alice@lab gets virtual IP $VIP1" "$NN_TMP/braiddA.log"

client bob lanB bob bob@lab 10.98.2.2 "${BOB_TLS_MAX:-1.2}"
nn_check "bob (behind NAT): up with EAP-TLS" up bob
VIP2=$(vip bob)
nn_check "bob: another virtual IP ($VIP2)" bash -c "[[ '$VIP2' == 10.90.0.* && '$VIP2' != '$VIP1' ]]"
nn_check "bob: TSr narrowed to his group's subnet (OU lab)" \
  grep -q "CHILD_SA rw{[0-9]*} established .* $VIP2/32 === 10.97.1.0/24\$" "$NN_TMP/bob/charon.log"
nn_check "bob pings lanC (his group's subnet)" nn_exec lanB ping -q -c 3 -i 0.2 -W 2 10.97.1.2
nn_check "bob cannot reach lanA (not his group's)" \
  bash -c "! ip netns exec $(nn lanB) ping -q -c 2 -i 0.2 -W 1 10.98.1.2 >/dev/null 2>&1"
echo "figure: alice EAP-TLS connection set-up $(ss_log_setup_ms "$NN_TMP/alice/charon.log" rw 1) ms"
echo "figure: bob EAP-TLS connection set-up $(ss_log_setup_ms "$NN_TMP/bob/charon.log" rw 1) ms"
ss_swanctl "$NN_TMP/bob" --terminate --ike rw --timeout 10 >/dev/null 2>&1
nn_check "gwA: bob's client gone" nn_wait_for 5 grep -q "client $VIP2 (staff#1/wan0) gone" "$NN_TMP/braiddA.log"

# A certificate from another CA.
client mallory lanC mallory alice@lab 10.97.1.2
nn_check "certificate from another CA: refused" refused mallory
nn_check "mallory: EAP-Failure and AUTHENTICATION_FAILED" \
  grep -q "EAP/FAIL N(AUTH_FAILED)" "$NN_TMP/mallory/charon.log"
nn_check "gwA: the certificate does not verify" \
  grep -q "EAP-TLS of .* failed: EAP-TLS: certificate 'CN=mallory" "$NN_TMP/braiddA.log"
# strongSwan shows no certificate for an EAP identity its certificate does not name: the
# gateway's TLS server insists on one (RFC 5216 5.3).
client eve lanA bob alice@lab 10.98.1.2
nn_check "EAP identity not in the certificate (no certificate sent): refused" refused eve
nn_check "gwA: eve sent no client certificate" \
  grep -q "EAP-TLS of alice@lab failed: EAP-TLS: .*peer did not return a certificate" "$NN_TMP/braiddA.log"

dp_refresh A
nn_check "gwA: 1 client connected ($(dp_counter A ike.remote_access.clients))" \
  test "$(dp_counter A ike.remote_access.clients)" -eq 1
nn_check "gwA: pool 1 online, 1 offline lease" \
  test "$(dp_counter A ike.remote_access.staff.pool.10.90.0.0/24.online) $(dp_counter A ike.remote_access.staff.pool.10.90.0.0/24.offline)" = "1 1"
nn_check "gwA: no oversize EAP-TLS message" test "$(dp_counter A ike.drop.eap_tls_oversize)" -eq 0
nn_check "braidd exits 0 on SIGTERM" dp_stop A
nn_finish
