#!/usr/bin/env bash
# strongSwan road-warrior clients with EAP-MSCHAPv2 against braidd (RFC 7296 2.16):
#   lanA 10.98.1.2 --+
#                    gwA (braidd) 10.99.0.1 -- wan -- 10.99.0.2 gwB (alice: charon)
#   lanC 10.97.1.2 --+                                     |  NAT (masquerade)
#                                                       lanB 10.98.2.2 (bob: charon)
# The gateway authenticates with its certificate, the clients with user name and password
# against a credentials file that braidctl user add wrote (NT hashes only). Checks: alice
# (group staff) gets a virtual IP, reaches lanA (the section's allowed_subnets) and not lanC;
# bob (group lab, [[remote_access.group]]) behind the NAT gets another address and sees lanC
# only; a wrong password and an unknown user get EAP-Failure / AUTHENTICATION_FAILED and no
# lease; braidd logs the EAP users with their group and exits 0.
# Client profiles (braidctl profile): alice's charon runs the generated swanctl.conf as is;
# the NetworkManager keyfile is read by libnm, the .mobileconfig by plistlib and the
# PowerShell script checked against Set-VpnConnectionIPsecConfiguration's values
# (profile_check.py); bob offers exactly the Windows suite and eve the Apple one.
set -u
. "$(cd "$(dirname "$0")" && pwd)/remote_access_lib.sh"
[ -r /usr/lib/ipsec/plugins/libstrongswan-eap-mschapv2.so ] ||
  { echo "SKIP: strongSwan eap-mschapv2 plugin missing (apt-get install libcharon-extauth-plugins)"; exit 0; }
# MD4 and DES for MS-CHAPv2: the openssl plugin's legacy provider, or gcrypt.
SS_PLUGINS="$SS_PLUGINS eap-identity eap-mschapv2 gcrypt"
BRAIDCTL=${BRAIDCTL:-$DP_BUILD/edge/braidctl}

nn_init
[ -x "$BRAIDD" ] || nn_die "braidd not built: $BRAIDD"
[ -x "$BRAIDCTL" ] || nn_die "braidctl not built: $BRAIDCTL"
ss_check_deps
ra_topology

P=$NN_TMP/pki
ike_pki "$P" || nn_die "cannot make the test PKI"
chmod 600 "$P"/*.key

# ---- users: braidctl user add writes NT hashes, never the passwords ---------------------------
U=$NN_TMP/users
nn_check "braidctl user add alice (group staff)" \
  bash -c "printf 'alice pass 1\n' | '$BRAIDCTL' user add '$U' alice --group staff"
nn_check "braidctl user add bob (group lab)" \
  bash -c "printf 'b0b-p\xc3\xa4ss\n' | '$BRAIDCTL' user add '$U' bob --group lab"
nn_check "credentials file: mode 600" test "$(stat -c %a "$U")" = 600
nn_check "credentials file: no password in it" bash -c "! grep -q 'pass 1' '$U'"
nn_check "credentials file: alice's NT hash" \
  grep -Eq '^alice staff [0-9a-f]{32}$' "$U"

ra_gateway_conf "$P" "credentials = \"$U\"" '["aes256gcm16-prfsha256-x25519", "aes128gcm16-prfsha384-ecp384"]' >"$NN_TMP/a.toml"
nn_check "config is valid" "$BRAIDD" --check --config "$NN_TMP/a.toml"
# EAP-MSCHAPv2 alone: the gateway's certificate and key suffice, no clients' CA.
grep -v '^ca_certificates' "$NN_TMP/a.toml" >"$NN_TMP/a-noca.toml"
nn_check "EAP-only config without ca_certificates is valid" \
  "$BRAIDD" --check --config "$NN_TMP/a-noca.toml"

# ---- client profiles ----------------------------------------------------------------------
PR=$NN_TMP/profiles
CHECK="/usr/bin/python3 $DP_SRC/tests/integration/profile_check.py"
for f in swanctl nm mobileconfig powershell; do
  nn_check "braidctl profile alice --format $f" \
    "$BRAIDCTL" profile alice --format "$f" --config "$NN_TMP/a.toml" --out "$PR"
done
nn_check "braidctl profile bob --format powershell" \
  "$BRAIDCTL" profile bob --format powershell --config "$NN_TMP/a.toml" --out "$PR"
nn_check "profile: the CA file is the gateway's CA" cmp "$PR/braid-staff-ca.pem" "$P/ca.pem"
nn_check "profile without a CA for an EAP-only gateway: exit 2" \
  bash -c "'$BRAIDCTL' profile alice --config '$NN_TMP/a-noca.toml' >/dev/null 2>&1; test \$? -eq 2"
nn_check "profile for an EAP-only gateway with --ca" \
  "$BRAIDCTL" profile alice --config "$NN_TMP/a-noca.toml" --ca "$P/ca.pem" --out "$NN_TMP/p2"
if /usr/bin/python3 -c 'import gi; gi.require_version("NM", "1.0")' 2>/dev/null; then
  nn_check "NetworkManager keyfile: libnm's keyfile reader loads and verifies it" \
    $CHECK nm "$PR/braid-staff.nmconnection"
else
  nn_die "gir1.2-nm-1.0 missing (scripts/install-deps.sh)"
fi
nn_check "mobileconfig: plistlib loads it, payloads and Apple's algorithm names" \
  $CHECK mobileconfig "$PR/braid-staff-alice.mobileconfig"
nn_check "PowerShell: documented Set-VpnConnectionIPsecConfiguration values" \
  $CHECK powershell "$PR/braid-staff-bob.ps1"
read -r WIN_IKE WIN_ESP < <($CHECK powershell "$PR/braid-staff-bob.ps1")
read -r APPLE_IKE APPLE_ESP < <($CHECK mobileconfig "$PR/braid-staff-alice.mobileconfig")
echo "profiles: Windows IKE $WIN_IKE ESP $WIN_ESP; Apple IKE $APPLE_IKE ESP $APPLE_ESP"
nn_check "PowerShell: the ECDH suite, not x25519 (Windows has none)" \
  test "$WIN_IKE $WIN_ESP" = "aes128gcm16-prfsha384-ecp384 aes256gcm16"
dp_start A "$NN_TMP/a.toml"

# client DIR NS USER PASSWORD ADDR [IKE ESP]: a charon in NS whose connection "rw" uses
# EAP-MSCHAPv2 and offers the proposals IKE and ESP.
client() {
  local name=$1 ns=$2 user=$3 pw=$4 addr=$5 d=$NN_TMP/$1
  local ike=${6:-aes256gcm16-prfsha256-x25519} esp=${7:-aes256gcm16}
  ss_conf "$d" 2
  cp "$P/ca.pem" "$d/swanctl/x509ca/ca.pem"
  cat >"$d/swanctl/swanctl.conf" <<SW
connections {
  rw {
    version = 2
    local_addrs = $addr
    remote_addrs = 10.99.0.1
    encap = yes
    mobike = no
    vips = 0.0.0.0
    proposals = $ike
    dpd_delay = 0
    local {
      auth = eap-mschapv2
      id = $user
      eap_id = $user
    }
    remote {
      auth = pubkey
      id = gwA.lab
      cacerts = ca.pem
    }
    children {
      rw {
        remote_ts = 10.98.1.0/24,10.97.1.0/24
        esp_proposals = $esp
        start_action = none
      }
    }
  }
}
secrets {
  eap-$name {
    id = $user
    secret = "$pw"
  }
}
SW
  ss_start "$(nn "$ns")" "$d"
  NN_PIDS+=("$LAB_LAST_PID")
  ss_load "$d" >/dev/null
}
# client_profile NAME NS USER PASSWORD: a charon whose swanctl.conf is braidctl's profile
# (connection and child "braid-staff") plus the password, and the profile's CA file.
client_profile() {
  local name=$1 ns=$2 user=$3 pw=$4 d=$NN_TMP/$1
  ss_conf "$d" 2
  cp "$PR/braid-staff-ca.pem" "$d/swanctl/x509ca/"
  { cat "$PR/braid-staff-$user.conf"
    printf 'secrets {\n  eap-%s {\n    id = %s\n    secret = "%s"\n  }\n}\n' "$name" "$user" "$pw"
  } >"$d/swanctl/swanctl.conf"
  ss_start "$(nn "$ns")" "$d"
  NN_PIDS+=("$LAB_LAST_PID")
  ss_load "$d" >/dev/null
}
up() { ss_swanctl "$NN_TMP/$1" --initiate --child "${2:-rw}" --timeout 15 >"$NN_TMP/$1-initiate.out" 2>&1; }
vip() { grep -o 'installing new virtual IP [0-9.]*' "$NN_TMP/$1/charon.log" | tail -1 | awk '{print $NF}'; }
refused() { ! up "$1"; }

client_profile alice gwB alice "alice pass 1"
nn_check "alice (generated swanctl profile): IKE and Child SA up with EAP-MSCHAPv2" up alice braid-staff
nn_check "alice: EAP-MSCHAPv2 succeeded with an MSK" \
  grep -q "EAP method EAP_MSCHAPV2 succeeded, MSK established" "$NN_TMP/alice/charon.log"
nn_check "alice: the gateway's AUTH over the MSK verified" \
  grep -q "authentication of 'gwA.lab' with EAP successful" "$NN_TMP/alice/charon.log"
VIP1=$(vip alice)
nn_check "alice: virtual IP from the pool ($VIP1)" bash -c "[[ '$VIP1' == 10.90.0.* ]]"
nn_check "alice: TSr narrowed to the allowed subnet" \
  grep -q "CHILD_SA braid-staff{[0-9]*} established .* $VIP1/32 === 10.98.1.0/24\$" "$NN_TMP/alice/charon.log"
nn_check "alice pings lanA from its virtual IP" nn_exec gwB ping -q -c 3 -i 0.2 -W 2 10.98.1.2
nn_check "lanA pings alice's virtual IP" nn_exec lanA ping -q -c 3 -i 0.2 -W 2 "$VIP1"
nn_check "alice cannot reach lanC (not allowed)" \
  bash -c "! ip netns exec $(nn gwB) ping -q -c 2 -i 0.2 -W 1 10.97.1.2 >/dev/null 2>&1"
nn_check "gwA: EAP user alice of group staff" \
  grep -q "EAP-MSCHAPv2 user 'alice' (group staff) authenticated" "$NN_TMP/braiddA.log"
nn_check "gwA: alice's lease is keyed by her EAP name" grep -q "alice gets virtual IP $VIP1" "$NN_TMP/braiddA.log"

client bob lanB bob "b0b-päss" 10.98.2.2 "$WIN_IKE" "$WIN_ESP"
nn_check "bob (behind NAT, non-ASCII password, the Windows profile's suite): up" up bob
nn_check "bob: the gateway chose the Windows suite" \
  grep -q "selected proposal: IKE:AES_GCM_16_128/PRF_HMAC_SHA2_384/ECP_384" "$NN_TMP/bob/charon.log"
VIP2=$(vip bob)
nn_check "bob: another virtual IP ($VIP2)" bash -c "[[ '$VIP2' == 10.90.0.* && '$VIP2' != '$VIP1' ]]"
nn_check "bob: TSr narrowed to his group's subnet" \
  grep -q "CHILD_SA rw{[0-9]*} established .* $VIP2/32 === 10.97.1.0/24\$" "$NN_TMP/bob/charon.log"
nn_check "gwA: EAP user bob of group lab" \
  grep -q "EAP-MSCHAPv2 user 'bob' (group lab) authenticated" "$NN_TMP/braiddA.log"
nn_check "bob pings lanC (his group's subnet)" nn_exec lanB ping -q -c 3 -i 0.2 -W 2 10.97.1.2
nn_check "lanC pings bob's virtual IP" nn_exec lanC ping -q -c 2 -i 0.2 -W 2 "$VIP2"
nn_check "bob cannot reach lanA (not his group's)" \
  bash -c "! ip netns exec $(nn lanB) ping -q -c 2 -i 0.2 -W 1 10.98.1.2 >/dev/null 2>&1"
nn_check "alice still cannot reach lanC" \
  bash -c "! ip netns exec $(nn gwB) ping -q -c 2 -i 0.2 -W 1 10.97.1.2 >/dev/null 2>&1"
ss_swanctl "$NN_TMP/bob" --terminate --ike rw --timeout 10 >/dev/null 2>&1
nn_check "gwA: bob's client gone" nn_wait_for 5 grep -q "client $VIP2 (staff#1/wan0) gone" "$NN_TMP/braiddA.log"

# A wrong password and an unknown user: EAP-Failure, AUTHENTICATION_FAILED, no lease.
client eve lanC bob "not bob's password" 10.97.1.2 "$APPLE_IKE" "$APPLE_ESP"
nn_check "wrong password (the Apple profile's suite): refused" refused eve
nn_check "eve: the gateway took the Apple profile's IKE suite" \
  grep -q "selected proposal: IKE:AES_GCM_16_256/PRF_HMAC_SHA2_256/CURVE_25519" "$NN_TMP/eve/charon.log"
nn_check "wrong password: EAP-Failure and AUTHENTICATION_FAILED to the client" \
  grep -q "parsed IKE_AUTH response 3 \[ EAP/FAIL N(AUTH_FAILED) \]" "$NN_TMP/eve/charon.log"
nn_check "gwA: wrong password for 'bob'" grep -q "wrong password for 'bob'" "$NN_TMP/braiddA.log"
client mallory lanA mallory "alice pass 1" 10.98.1.2
nn_check "unknown user: refused" refused mallory
nn_check "gwA: unknown EAP identity 'mallory'" grep -q "unknown EAP identity 'mallory'" "$NN_TMP/braiddA.log"

echo "figure: alice EAP-MSCHAPv2 connection set-up $(ss_log_setup_ms "$NN_TMP/alice/charon.log" braid-staff 1) ms"
echo "figure: bob EAP-MSCHAPv2 connection set-up $(ss_log_setup_ms "$NN_TMP/bob/charon.log" rw 1) ms"
dp_refresh A
nn_check "gwA: 1 client connected ($(dp_counter A ike.remote_access.clients))" \
  test "$(dp_counter A ike.remote_access.clients)" -eq 1
# alice online, bob's lease offline (reserved); the refused clients took none.
nn_check "gwA: pool 1 online, 1 offline lease" \
  test "$(dp_counter A ike.remote_access.staff.pool.10.90.0.0/24.online) $(dp_counter A ike.remote_access.staff.pool.10.90.0.0/24.offline)" = "1 1"
nn_check "braidd exits 0 on SIGTERM" dp_stop A
nn_finish
