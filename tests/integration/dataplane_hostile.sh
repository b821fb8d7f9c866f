#!/usr/bin/env bash
# Hostile input at braidd's UDP port 4500 (also run in the ASan build, label asan):
# replayed ESP, flipped bits, truncated packets, random garbage, too-short datagrams, a
# NAT-keepalive and an IKE message, sent from the peer gateway's namespace; plus inner
# packets that fail the SA policy check and TUN packets with no route. Every one must be
# dropped and counted under its reason, braidd must survive, and the tunnel keep working.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../support/netns.sh"
. "$HERE/dataplane_lib.sh"

nn_init
[ -x "$BRAIDD" ] || nn_die "braidd not built: $BRAIDD"
dp_topology
dp_config A aes256gcm16 >"$NN_TMP/a.toml"
dp_config B aes256gcm16 >"$NN_TMP/b.toml"
dp_start A "$NN_TMP/a.toml"
dp_start B "$NN_TMP/b.toml"
nn_check "tunnel up" nn_exec lanA ping -q -c 2 -i 0.2 -W 2 10.98.2.2

# Capture genuine ESP from B to A (pings and their replies), to replay and mangle.
dp_capture_start "$NN_TMP/b2a.pcap" 'udp and src host 10.99.0.2 and dst port 4500'
nn_exec lanB ping -q -c 12 -i 0.1 -W 2 10.98.1.2 >/dev/null
dp_capture_stop

dp_refresh A
declare -A before
for k in rx.drop.esp_replay rx.drop.esp_icv rx.drop.esp_too_short rx.drop.esp_bad_spi \
         rx.drop.invalid rx.keepalives rx.drop.no_ike_handler rx.drop.policy tx.drop.no_route; do
  before[$k]=$(dp_counter A $k)
done

# Sent from gwB's namespace, like a peer (or an attacker on its path) would.
nn_exec gwB python3 "$HERE/dataplane_tool.py" inject "$NN_TMP/b2a.pcap" 10.99.0.1 4500 \
  >"$NN_TMP/sent" || nn_die "injector failed"
cat "$NN_TMP/sent"
sent() { awk -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }' "$NN_TMP/sent"; }

# Inner packets outside the SA's selectors (RFC 4301 5.2): gwB's own WAN address as source.
nn_exec gwB ping -q -c 3 -i 0.2 -W 1 -I 10.99.0.2 10.98.1.2 >/dev/null 2>&1
# A TUN packet with no peer: route a foreign subnet into braid0 on gwA.
nn_exec gwA ip route add 10.77.0.0/24 dev braid0
nn_exec gwA ping -q -c 2 -i 0.2 -W 1 10.77.0.1 >/dev/null 2>&1
sleep 0.5

nn_check "braidd A survived" dp_alive A
dp_refresh A
delta() { echo $(( $(dp_counter A "$1") - ${before[$1]} )); }
nn_check "replayed packets counted as replay ($(delta rx.drop.esp_replay) of $(sent replay))" \
  test "$(delta rx.drop.esp_replay)" -eq "$(sent replay)" -a "$(sent replay)" -ge 5
nn_check "flipped bits counted as ICV failures ($(delta rx.drop.esp_icv))" \
  test "$(delta rx.drop.esp_icv)" -eq "$(sent icv)"
nn_check "truncated ESP counted as too short ($(delta rx.drop.esp_too_short))" \
  test "$(delta rx.drop.esp_too_short)" -eq "$(sent too_short)"
nn_check "garbage counted as unknown SPI ($(delta rx.drop.esp_bad_spi) of $(sent bad_spi))" \
  test "$(delta rx.drop.esp_bad_spi)" -eq "$(sent bad_spi)" -a "$(sent bad_spi)" -ge 40
nn_check "too-short datagrams counted as invalid ($(delta rx.drop.invalid))" \
  test "$(delta rx.drop.invalid)" -eq "$(sent invalid)"
nn_check "NAT-keepalive counted and dropped ($(delta rx.keepalives))" \
  test "$(delta rx.keepalives)" -eq "$(sent keepalive)"
nn_check "IKE without a handler counted ($(delta rx.drop.no_ike_handler))" \
  test "$(delta rx.drop.no_ike_handler)" -eq "$(sent ike)"
nn_check "inner source outside the peer's subnets dropped by policy ($(delta rx.drop.policy))" \
  test "$(delta rx.drop.policy)" -ge 3
nn_check "TUN packets to an unrouted subnet counted as no route ($(delta tx.drop.no_route))" \
  test "$(delta tx.drop.no_route)" -ge 2
nn_check "per-SA counters show the replays" \
  test "$(dp_counter A sa.in.0x00002001.drop.replay)" -ge "$(sent replay)"

nn_check "tunnel still works after the hostile input" \
  nn_exec lanA ping -q -c 3 -i 0.2 -W 2 10.98.2.2
nn_check "braidd A exits 0" dp_stop A
nn_check "braidd B exits 0" dp_stop B
nn_check "no sanitizer report" \
  bash -c "! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' '$NN_TMP/braiddA.log' '$NN_TMP/braiddB.log'"
nn_finish
