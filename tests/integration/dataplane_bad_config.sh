#!/usr/bin/env bash
# A bad configuration makes braidd exit with code 2 and a file:line:col message before it
# creates any device or socket; --check validates without touching anything.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../support/netns.sh"
. "$HERE/dataplane_lib.sh"

nn_init
[ -x "$BRAIDD" ] || nn_die "braidd not built: $BRAIDD"
nn_add gwA
nn_add gwB
nn_veth gwA wan0 10.99.0.1/24 gwB wan0 10.99.0.2/24
dp_config A aes256gcm16 >"$NN_TMP/good.toml"
sed -i 's/device = "braid0"/device = "braidchk0"/' "$NN_TMP/good.toml"

nothing_created() {
  ! nn_exec gwA ip link show braidchk0 >/dev/null 2>&1 &&
    [ -z "$(nn_exec gwA ss -uanH 'sport = :4500')" ] && [ ! -e "$NN_TMP/stats" ]
}

# expect_bad NAME SED-EXPRESSION EXPECTED-MESSAGE-REGEX
expect_bad() {
  local name=$1 expr=$2 want=$3 cfg=$NN_TMP/$1.toml rc=0
  if [ -n "$expr" ]; then sed -e "$expr" "$NN_TMP/good.toml" >"$cfg"; else cp "$NN_TMP/two-peers.toml" "$cfg"; fi
  nn_exec gwA timeout 10 "$BRAIDD" --config "$cfg" --stats-file "$NN_TMP/stats" >"$NN_TMP/$name.out" 2>&1 || rc=$?
  nn_check "$name: exit code 2 (got $rc)" test "$rc" -eq 2
  nn_check "$name: message '$(head -1 "$NN_TMP/$name.out")'" grep -qE "^$cfg:[0-9]+:[0-9]+: .*$want" "$NN_TMP/$name.out"
  nn_check "$name: no TUN device, socket or stats file" nothing_created
}

expect_bad unknown_key 's/^mtu = 1438/mtu = 1438\nmtu_typo = 1/' "unknown key 'overlay.mtu_typo'"
expect_bad wrong_type 's/^mtu = 1438/mtu = "1438"/' "'overlay.mtu' is a string; expected an integer"
expect_bad bad_prefix 's|remote_subnets = \["10.98.2.0/24"\]|remote_subnets = ["10.98.2.1/24"]|' "not a valid prefix"
expect_bad bad_address 's/local_address = "10.99.0.1"/local_address = "10.99.0"/' "is not a usable address"
expect_bad short_key "s/outbound = { spi = 0x00001001, key = \"0102/outbound = { spi = 0x00001001, key = \"/" "has 34 bytes; aes256gcm16 expects 36 bytes"
expect_bad overlap 's|remote_subnets = \["10.98.2.0/24"\]|remote_subnets = ["10.98.0.0/16"]|' "overlaps 'overlay.local_subnets\[0\]'"
# Two peers with the same inbound SPI: inbound ESP is demultiplexed by SPI alone.
{ cat "$NN_TMP/good.toml"; sed -n '/^\[\[peer\]\]/,$p' "$NN_TMP/good.toml" |
    sed 's/10.98.2.0/10.96.2.0/; s/10.99.0.2/10.99.0.3/; s/name = "site-A-peer"/name = "other"/'
} >"$NN_TMP/two-peers.toml"
expect_bad duplicate_spi "" "is already used at"
expect_bad missing_key '/^remote_address = /d' "missing required key 'peer\[0\].path\[0\].remote_address'"
expect_bad replay_window 's/replay_window = 1024/replay_window = 10000/' "out of range; expected an integer in 64..4096"
expect_bad mtu_range 's/^mtu = 1438/mtu = 100000/' "out of range; expected an integer in 576..9000"

rc=0
nn_exec gwA "$BRAIDD" --check --config "$NN_TMP/good.toml" >"$NN_TMP/check.out" 2>&1 || rc=$?
nn_check "--check on a valid config exits 0 ($rc)" test "$rc" -eq 0
nn_check "--check creates nothing" nothing_created
rc=0
nn_exec gwA "$BRAIDD" --check --config "$NN_TMP/overlap.toml" >/dev/null 2>&1 || rc=$?
nn_check "--check on a bad config exits 2 ($rc)" test "$rc" -eq 2
# The examples as a deployment has them: private keys mode 600 (git keeps them 644).
cp -r "$DP_SRC/deploy/examples" "$NN_TMP/examples"
chmod 644 "$NN_TMP"/examples/pki/*.key
rc=0
"$BRAIDD" --check --config "$NN_TMP/examples/ike-cert-a.toml" >"$NN_TMP/keymode.out" 2>&1 || rc=$?
nn_check "a private key that others may read is refused, exit 2 ($rc)" \
  bash -c "[ $rc -eq 2 ] && grep -q 'has mode 0644' '$NN_TMP/keymode.out'"
chmod 600 "$NN_TMP"/examples/pki/*.key
for f in "$NN_TMP"/examples/*.toml; do
  nn_check "example $(basename "$f") is valid" "$BRAIDD" --check --config "$f"
done
# A valid file that fails at run time (the uplink address is not on this host): exit 1,
# and the TUN device and routes created before the failure are gone again.
sed 's/local_address = "10.99.0.1"/local_address = "10.99.0.77"/' "$NN_TMP/good.toml" >"$NN_TMP/nobind.toml"
rc=0
nn_exec gwA timeout 10 "$BRAIDD" --config "$NN_TMP/nobind.toml" >"$NN_TMP/nobind.out" 2>&1 || rc=$?
nn_check "start-up failure exits 1 ($rc): $(grep -o 'uplink.*' "$NN_TMP/nobind.out" | head -1)" test "$rc" -eq 1
nn_check "start-up failure removes the TUN device" nothing_created
nn_check "start-up failure removes the routes" bash -c "! ip -n $(nn gwA) route | grep -q 10.98.2.0"
rc=0
"$BRAIDD" --config "$NN_TMP/missing.toml" >/dev/null 2>&1 || rc=$?
nn_check "missing config file exits 2 ($rc)" test "$rc" -eq 2
rc=0
"$BRAIDD" --bogus >/dev/null 2>&1 || rc=$?
nn_check "usage error exits 2 ($rc)" test "$rc" -eq 2
nn_finish
