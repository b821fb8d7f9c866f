# bench/e2e/braid.sh - braid (braidd) as a system for bench/e2e/throughput.sh. Sourced.
#
# Two braidd, one per gateway namespace, with manually keyed SAs (AES-256-GCM, one SA per
# direction, fresh random keys every run) over the WAN veth: ESP-in-UDP on port 4500, the
# same encapsulation strongSwan's kernel-libipsec uses. Config format: docs/configuration.md.
#
# braidd is $BRAIDD, else build/default/edge/braidd, else the newest build/*/edge/braidd.

e2e_find_braidd() {
  if [ -n "${BRAIDD:-}" ]; then
    [ -x "$BRAIDD" ] || nn_die "braid: BRAIDD=$BRAIDD is not executable"
    echo "$BRAIDD"
    return
  fi
  if [ -x "$E2E_REPO/build/default/edge/braidd" ]; then
    echo "$E2E_REPO/build/default/edge/braidd"
    return
  fi
  local f best=""
  for f in "$E2E_REPO"/build/*/edge/braidd; do
    [ -x "$f" ] || continue
    case $f in */build/asan/*|*/build/fuzz/*) continue ;; esac  # sanitizers distort speed
    if [ -z "$best" ] || [ "$f" -nt "$best" ]; then best=$f; fi
  done
  [ -n "$best" ] || nn_die "braid: no braidd found; build it (cmake --build --preset default --target braidd) or set BRAIDD"
  echo "$best"
}

# e2e_braid_conf FILE MY_WAN PEER_WAN MY_LAN PEER_LAN OUT_SPI OUT_KEY IN_SPI IN_KEY
e2e_braid_conf() {
  cat >"$1" <<EOF
# written by bench/e2e/braid.sh
[log]
level = "${E2E_BRAID_LOG:-warn}"

[state]
directory = "${1%.toml}-state"

[overlay]
device = "braid0"
local_subnets = ["$4"]

[[uplink]]
name = "wan"
local_address = "$2"

[[peer]]
name = "peer"
remote_subnets = ["$5"]

[[peer.path]]
uplink = "wan"
remote_address = "$3"

[peer.path.manual]
cipher = "aes256gcm16"
outbound = { spi = $6, key = "$7" }
inbound = { spi = $8, key = "$9" }
EOF
}

e2e_randhex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

# braidd brings the overlay up and routes the remote subnets into it (edge/netlink.hpp);
# waits for that, and only if it never happens does the route itself, saying so.
e2e_braid_route() {  # e2e_braid_route NS PREFIX SRC
  local ns; ns=$(nn "$1")
  if ! nn_wait_for 5 sh -c "ip -n '$ns' route show '$2' | grep -q 'dev braid0'"; then
    nn_log "braid: braidd did not route $2 into braid0 in $1; adding the route"
    nn_exec "$1" ip link set braid0 up
    nn_exec "$1" ip route replace "$2" dev braid0 src "$3" || nn_die "braid: route $2 in $1"
  fi
}

sys_braid_up() {
  local t=$1 d=$NN_TMP/$1 bin pa pb k_ab k_ba
  bin=$(e2e_find_braidd) || exit 1
  mkdir -p "$d"
  k_ab=$(e2e_randhex 36)   # AES-256 key || 4-byte salt (RFC 4106 section 4)
  k_ba=$(e2e_randhex 36)
  (
    umask 077
    e2e_braid_conf "$d/gwA.toml" 10.99.0.1 10.99.0.2 "$E2E_LAN_A" "$E2E_LAN_B" 0x1a000001 "$k_ab" 0x1b000001 "$k_ba"
    e2e_braid_conf "$d/gwB.toml" 10.99.0.2 10.99.0.1 "$E2E_LAN_B" "$E2E_LAN_A" 0x1b000001 "$k_ba" 0x1a000001 "$k_ab"
  )
  nn_bg "$t-gwA" "$d/braidd-A.log" "$bin" --config "$d/gwA.toml" --stats-file "$d/stats-A.txt"
  pa=$NN_LAST_PID
  nn_bg "$t-gwB" "$d/braidd-B.log" "$bin" --config "$d/gwB.toml" --stats-file "$d/stats-B.txt"
  pb=$NN_LAST_PID
  local side p i rc
  for side in A B; do
    [ $side = A ] && p=$pa || p=$pb
    for i in $(seq 1 200); do   # up to 10 s; stop early if braidd exits (bad config: code 2)
      nn_exec "$t-gw$side" ip link show braid0 >/dev/null 2>&1 && break
      if ! kill -0 "$p" 2>/dev/null; then
        wait "$p"; rc=$?
        cat "$d/braidd-$side.log" >&2
        nn_die "braid: braidd in gw$side exited with code $rc before creating braid0"
      fi
      sleep 0.05
    done
    nn_exec "$t-gw$side" ip link show braid0 >/dev/null 2>&1 || {
      cat "$d/braidd-$side.log" >&2
      nn_die "braid: braidd in gw$side did not create braid0"
    }
  done
  e2e_braid_route "$t-gwA" "$E2E_LAN_B" 10.98.1.1
  e2e_braid_route "$t-gwB" "$E2E_LAN_A" 10.98.2.1
  e2e_wait_ping "$t" 5 || {
    cat "$d/braidd-A.log" "$d/braidd-B.log" >&2
    nn_die "braid: no LAN A -> LAN B connectivity through the tunnel"
  }
  e2e_wire_check "$t" 'UDP-encap: ESP\(spi=0x1[ab]000001'
  E2E_DAEMON_PIDS="$pa $pb"
  E2E_NOTE="braidd ($bin, built $(date -r "$bin" '+%F %T')),"
  E2E_NOTE+=" manual keys, ESP AES-256-GCM in UDP 4500, inner MTU $(e2e_mtu "$t-gwA" braid0)"
}

# After the runs: braidd's data-plane counters (SIGUSR1 rewrites --stats-file), so that the
# report shows the traffic really went through ESP and where packets were dropped.
sys_braid_report() {
  local t=$1 d=$NN_TMP/$1 side p
  set -- ${PIDS[braid]}
  for side in A B; do
    p=$1; shift
    kill -USR1 "$p" 2>/dev/null || continue
    sleep 0.3
    awk -v side="gw$side" '
      $2 != 0 && ($1 ~ /drop/ || $1 ~ /^(tx\.(tun_packets|gso_super_packets|sealed|datagrams_sent|send_calls|bytes_sent)|rx\.(datagrams|gro_datagrams|recv_calls|opened|tun_packets|tun_writes))$/) {
        s = s " " $1 "=" $2 }
      END { print "  braidd " side ":" s }' "$d/stats-$side.txt"
  done
}

# braid-policy: the multipath machinery switched on around the same single stream (issue 12,
# "Throughput cost"): three uplinks to the peer (three addresses on the WAN veth, each path
# manually keyed with the braid shim, so the path monitor probes all three), a policy of
# 1 000 rules that the iperf3 flow does not match (each UDP port 20000-20999 of its own
# class), and the flow's class steered to the first uplink. Compared side by side with
# `braid` (one path, no policy) in one run: --only braid,braid-policy.
e2e_braid_policy_conf() {  # FILE SIDE(A|B) LAN PEER_LAN KEYS...
  local f=$1 side=$2 lan=$3 peer_lan=$4 i me peer out in
  shift 4
  {
    printf '# written by bench/e2e/braid.sh (braid-policy)\n[log]\nlevel = "%s"\n\n' "${E2E_BRAID_LOG:-warn}"
    printf '[state]\ndirectory = "%s"\n\n' "${f%.toml}-state"
    printf '[overlay]\ndevice = "braid0"\nlocal_subnets = ["%s"]\n\n' "$lan"
    for i in 0 1 2; do
      if [ "$side" = A ]; then me=10.99.0.$((1 + 10 * i)); else me=10.99.0.$((2 + 10 * i)); fi
      printf '[[uplink]]\nname = "up%d"\nlocal_address = "%s"\n\n' "$i" "$me"
    done
    printf '[[peer]]\nname = "peer"\nremote_subnets = ["%s"]\n\n' "$peer_lan"
    for i in 0 1 2; do
      if [ "$side" = A ]; then
        peer=10.99.0.$((2 + 10 * i)) out=0x1a00000$((i + 1)) in=0x1b00000$((i + 1))
      else
        peer=10.99.0.$((1 + 10 * i)) out=0x1b00000$((i + 1)) in=0x1a00000$((i + 1))
      fi
      printf '[[peer.path]]\nuplink = "up%d"\nremote_address = "%s"\n\n' "$i" "$peer"
      printf '[peer.path.manual]\ncipher = "aes256gcm16"\nbraid_shim = true\n'
      if [ "$side" = A ]; then
        printf 'outbound = { spi = %s, key = "%s" }\ninbound = { spi = %s, key = "%s" }\n\n' \
          "$out" "$1" "$in" "$2"
      else
        printf 'outbound = { spi = %s, key = "%s" }\ninbound = { spi = %s, key = "%s" }\n\n' \
          "$out" "$2" "$in" "$1"
      fi
      shift 2
    done
    printf '[[class]]\nname = "default"\nmode = "steer"\nprefer = ["up0", "up1", "up2"]\n\n'
    for i in $(seq 0 999); do
      printf '[[class]]\nname = "c%d"\nmode = "steer"\nprefer = ["up%d"]\n\n' "$i" $((i % 3))
    done
    for i in $(seq 0 999); do
      printf '[[rule]]\nclass = "c%d"\nprotocol = "udp"\ndst_ports = [%d]\n\n' "$i" $((20000 + i))
    done
  } >"$f"
}

sys_braid_policy_up() {
  local t=$1 d=$NN_TMP/$1 bin pa pb i keys=() side p n
  bin=$(e2e_find_braidd) || exit 1
  mkdir -p "$d"
  for i in 0 1 2; do
    nn_exec "$t-gwA" ip addr add 10.99.0.$((11 + 10 * i - 10))/24 dev gwA-wan 2>/dev/null
    nn_exec "$t-gwB" ip addr add 10.99.0.$((12 + 10 * i - 10))/24 dev gwB-wan 2>/dev/null
    keys+=("$(e2e_randhex 36)" "$(e2e_randhex 36)")
  done
  (
    umask 077
    e2e_braid_policy_conf "$d/gwA.toml" A "$E2E_LAN_A" "$E2E_LAN_B" "${keys[@]}"
    e2e_braid_policy_conf "$d/gwB.toml" B "$E2E_LAN_B" "$E2E_LAN_A" "${keys[@]}"
  )
  "$bin" --check --config "$d/gwA.toml" >/dev/null || nn_die "braid-policy: gwA config refused"
  nn_bg "$t-gwA" "$d/braidd-A.log" "$bin" --config "$d/gwA.toml" --stats-file "$d/stats-A.txt"
  pa=$NN_LAST_PID
  nn_bg "$t-gwB" "$d/braidd-B.log" "$bin" --config "$d/gwB.toml" --stats-file "$d/stats-B.txt"
  pb=$NN_LAST_PID
  for side in A B; do
    [ $side = A ] && p=$pa || p=$pb
    nn_wait_for 10 nn_exec "$t-gw$side" ip link show braid0 >/dev/null 2>&1 || {
      cat "$d/braidd-$side.log" >&2
      nn_die "braid-policy: braidd in gw$side did not create braid0"
    }
  done
  e2e_braid_route "$t-gwA" "$E2E_LAN_B" 10.98.1.1
  e2e_braid_route "$t-gwB" "$E2E_LAN_A" 10.98.2.1
  e2e_wait_ping "$t" 5 || {
    cat "$d/braidd-A.log" "$d/braidd-B.log" >&2
    nn_die "braid-policy: no LAN A -> LAN B connectivity through the tunnel"
  }
  sleep 1  # the path monitor brings the three paths up
  E2E_DAEMON_PIDS="$pa $pb"
  n=$(grep -c '^\[\[rule\]\]' "$d/gwA.toml")
  E2E_NOTE="braidd ($bin), 3 manually keyed paths with the shim (probed), $n rules,"
  E2E_NOTE+=" the flow's class steered to up0"
}
sys_braid_policy_report() {
  local t=$1 d=$NN_TMP/$1 p
  set -- ${PIDS[braid-policy]}
  p=$1
  kill -USR1 "$p" 2>/dev/null || return 0
  sleep 0.3
  awk '$1 ~ /^path\..*\.(state|probes_sent)$/ || $1 ~ /^tx\.(sealed|bytes_sent)$/ { s = s " " $1 "=" $2 }
       END { print "  braidd gwA:" s }' "$d/stats-A.txt"
}
