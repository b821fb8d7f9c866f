# bench/e2e/systems.sh - the systems bench/e2e/throughput.sh compares. Sourced, not run.
#
# Each system X gets its own copy of the 4-namespace topology (made by e2e_topology) with
# namespaces "<prefix>X-lanA", "X-gwA", "X-gwB", "X-lanB":
#
#   X-lanA            X-gwA                        X-gwB              X-lanB
#   10.98.1.2 --veth-- 10.98.1.1 | 10.99.0.1 --veth-- 10.99.0.2 | 10.98.2.1 --veth-- 10.98.2.2
#
# The gateways have no route to the remote LAN until the system under test installs one
# (a tunnel device route, or for "veth" a plain route over the WAN link).
#
# sys_<name>_up TAG brings the system up in TAG's namespaces and sets E2E_DAEMON_PIDS (the
# tunnel daemons whose CPU time is measured) and E2E_NOTE (one line: version, cipher, MTU).

E2E_LAN_A=10.98.1.0/24
E2E_LAN_B=10.98.2.0/24
E2E_HOST_B=10.98.2.2

# e2e_topology TAG [WAN_MTU]
e2e_topology() {
  local t=$1 mtu=${2:-1500}
  local n
  for n in lanA gwA gwB lanB; do nn_add "$t-$n"; done
  nn_veth "$t-lanA" lanA0 10.98.1.2/24 "$t-gwA" gwA-lan 10.98.1.1/24
  nn_veth "$t-gwA" gwA-wan 10.99.0.1/24 "$t-gwB" gwB-wan 10.99.0.2/24
  nn_veth "$t-gwB" gwB-lan 10.98.2.1/24 "$t-lanB" lanB0 10.98.2.2/24
  nn_exec "$t-gwA" ip link set gwA-wan mtu "$mtu"
  nn_exec "$t-gwB" ip link set gwB-wan mtu "$mtu"
  nn_exec "$t-lanA" ip route add default via 10.98.1.1
  nn_exec "$t-lanB" ip route add default via 10.98.2.1
  nn_forwarding "$t-gwA"
  nn_forwarding "$t-gwB"
  # The whole point of the topology: without the system under test the LANs are apart.
  if nn_exec "$t-lanA" ping -c1 -W1 "$E2E_HOST_B" >/dev/null 2>&1; then
    nn_die "$t: LAN B reachable before the tunnel is up - topology is wrong"
  fi
}

# e2e_wait_ping TAG SECS: LAN A host reaches LAN B host
e2e_wait_ping() {
  nn_wait_for "$2" nn_exec "$1-lanA" ping -c1 -W1 "$E2E_HOST_B"
}

# e2e_wire_check TAG REGEX: while LAN A pings LAN B, every IPv4 packet on gwB's WAN link must
# match REGEX (tcpdump -nn text), i.e. the traffic really crosses in the tunnel; prints one.
e2e_wire_check() {
  local t=$1 re=$2 cap=$NN_TMP/$1-wire.txt tp n bad
  command -v tcpdump >/dev/null || { nn_log "tcpdump missing: wire check skipped"; return 0; }
  nn_exec "$t-gwB" timeout 5 tcpdump -nni gwB-wan -c 6 ip >"$cap" 2>/dev/null &
  tp=$!
  sleep 0.5
  nn_exec "$t-lanA" ping -c 4 -i 0.1 -W 1 "$E2E_HOST_B" >/dev/null 2>&1
  wait "$tp" 2>/dev/null
  n=$(grep -c . "$cap"); bad=$(grep -cvE "$re" "$cap")
  [ "$n" -gt 0 ] && [ "$bad" -eq 0 ] ||
    nn_die "$t: wire check failed ($n packets on the WAN, $bad not matching /$re/): $(head -3 "$cap")"
  echo "  on the wire: $(head -1 "$cap" | cut -c1-110)"
}

e2e_mtu() { nn_exec "$1" cat "/sys/class/net/$2/mtu" 2>/dev/null || echo '?'; }

# --- plain routed veth: the ceiling --------------------------------------------------------
sys_veth_up() {
  local t=$1
  nn_exec "$t-gwA" ip route add "$E2E_LAN_B" via 10.99.0.2
  nn_exec "$t-gwB" ip route add "$E2E_LAN_A" via 10.99.0.1
  e2e_wait_ping "$t" 5 || nn_die "veth: no LAN A -> LAN B connectivity"
  e2e_wire_check "$t" 'ICMP echo'
  E2E_DAEMON_PIDS=""
  E2E_NOTE="routed veth, no tunnel, MTU $(e2e_mtu "$t-gwA" gwA-wan), kernel offloads as default"
}

# --- strongSwan charon with kernel-libipsec -------------------------------------------------
# Two charons in one machine need separate config, vici socket and /run (charon's pid file
# path is compiled in): each runs in a private mount namespace with its own /run bind-mounted
# from the scratch dir. Nothing under /etc is read (load_modular = no, explicit plugins,
# kernel-libipsec listed before kernel-netlink so it wins as the IPsec backend).
E2E_CHARON=/usr/lib/ipsec/charon
E2E_CHARON_PLUGINS="random nonce openssl aes sha1 sha2 hmac gcm curve25519 pem pkcs1 pubkey kdf kernel-libipsec kernel-netlink socket-default vici updown"
E2E_PSK=e2e-bench-psk-5c0f7a3e91d24b6a8e0d7f2c

e2e_charon_files() {  # e2e_charon_files DIR ME PEER MY_ADDR PEER_ADDR MY_TS PEER_TS
  local d=$1
  mkdir -p "$d/run" "$d/swanctl/conf.d" "$d/swanctl/x509" "$d/swanctl/x509ca" "$d/swanctl/private"
  cat >"$d/strongswan.conf" <<EOF
charon {
  load_modular = no
  load = $E2E_CHARON_PLUGINS
  install_routes = yes
  plugins {
    vici { socket = unix://$d/charon.vici }
  }
  filelog {
    bench {
      path = $d/charon.log
      time_format = %H:%M:%S
      append = no
      flush_line = yes
      default = 1
    }
  }
}
swanctl { load = random nonce openssl pem pkcs1 pubkey }
EOF
  # encap = yes: kernel-libipsec only speaks ESP-in-UDP (RFC 3948), which is also what
  # braid does, so both carry the same bytes on the wire.
  cat >"$d/swanctl/swanctl.conf" <<EOF
connections {
  bench {
    version = 2
    local_addrs = $4
    remote_addrs = $5
    encap = yes
    mobike = no
    proposals = aes256gcm16-prfsha256-x25519
    local { auth = psk
            id = $2 }
    remote { auth = psk
             id = $3 }
    children {
      net {
        local_ts = $6
        remote_ts = $7
        esp_proposals = aes256gcm16
        mode = tunnel
        start_action = none
      }
    }
  }
}
secrets {
  ike-bench { id-a = gwA.bench
              id-b = gwB.bench
              secret = "$E2E_PSK" }
}
EOF
}

e2e_swanctl() {  # e2e_swanctl DIR args...
  local d=$1; shift
  STRONGSWAN_CONF="$d/strongswan.conf" SWANCTL_DIR="$d/swanctl" swanctl "$@" --uri "unix://$d/charon.vici"
}

e2e_charon_start() {  # e2e_charon_start NS DIR ; PID in NN_LAST_PID
  local d=$2
  nn_bg "$1" "$d/charon.stdout" env STRONGSWAN_CONF="$d/strongswan.conf" \
    unshare -m --propagation private sh -c "mount --bind '$d/run' /run && exec $E2E_CHARON"
  nn_wait_for 10 test -S "$d/charon.vici" || {
    cat "$d/charon.stdout" "$d/charon.log" >&2 2>/dev/null
    nn_die "charon in $1 did not come up"
  }
}

sys_strongswan_up() {
  local t=$1 a=$NN_TMP/$1-A b=$NN_TMP/$1-B pa pb out
  [ -x "$E2E_CHARON" ] || nn_die "strongswan: $E2E_CHARON missing (scripts/install-deps.sh)"
  [ -e /usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so ] ||
    nn_die "strongswan: kernel-libipsec plugin missing (libcharon-extra-plugins)"
  e2e_charon_files "$a" gwA.bench gwB.bench 10.99.0.1 10.99.0.2 "$E2E_LAN_A" "$E2E_LAN_B"
  e2e_charon_files "$b" gwB.bench gwA.bench 10.99.0.2 10.99.0.1 "$E2E_LAN_B" "$E2E_LAN_A"
  e2e_charon_start "$t-gwA" "$a"; pa=$NN_LAST_PID
  e2e_charon_start "$t-gwB" "$b"; pb=$NN_LAST_PID
  e2e_swanctl "$a" --load-all >"$a/load.txt" 2>&1 || nn_die "strongswan: swanctl --load-all (A)"
  e2e_swanctl "$b" --load-all >"$b/load.txt" 2>&1 || nn_die "strongswan: swanctl --load-all (B)"
  out=$(e2e_swanctl "$a" --initiate --ike bench --child net --timeout 20 2>&1)
  echo "$out" | grep -q "CHILD_SA net{.*} established" || {
    echo "$out" | tail -20 >&2
    nn_die "strongswan: IKE_SA/CHILD_SA did not come up"
  }
  e2e_wait_ping "$t" 5 || nn_die "strongswan: no LAN A -> LAN B connectivity through the tunnel"
  e2e_wire_check "$t" 'UDP-encap: ESP'
  E2E_DAEMON_PIDS="$pa $pb"
  E2E_NOTE="$("$E2E_CHARON" --version 2>/dev/null | head -1 | sed "s/^Linux //")"
  E2E_NOTE="${E2E_NOTE:-strongSwan} charon + kernel-libipsec, ESP AES-256-GCM in UDP 4500,"
  E2E_NOTE+=" inner MTU $(e2e_mtu "$t-gwA" ipsec0) (ipsec0)"
}

# --- wireguard-go ---------------------------------------------------------------------------
# Its UAPI socket is /var/run/wireguard/<ifname>.sock on the shared filesystem, so interface
# names must be unique machine-wide: they carry this run's PID. -f keeps the PID ours.
sys_wireguard_go_up() {
  local t=$1 d=$NN_TMP/$1 ia="ewA$$" ib="ewB$$" pa pb
  command -v wireguard-go >/dev/null || nn_die "wireguard-go: apt-get install wireguard-go"
  command -v wg >/dev/null || nn_die "wireguard-go: apt-get install wireguard-tools"
  for i in "$ia" "$ib"; do
    [ -e "/var/run/wireguard/$i.sock" ] && nn_die "/var/run/wireguard/$i.sock exists"
    nn_on_cleanup "rm -f /var/run/wireguard/$i.sock"
  done
  mkdir -p "$d"
  (umask 077; wg genkey >"$d/A.key"; wg genkey >"$d/B.key")
  wg pubkey <"$d/A.key" >"$d/A.pub"; wg pubkey <"$d/B.key" >"$d/B.pub"
  nn_bg "$t-gwA" "$d/wg-A.log" wireguard-go -f "$ia"; pa=$NN_LAST_PID
  nn_bg "$t-gwB" "$d/wg-B.log" wireguard-go -f "$ib"; pb=$NN_LAST_PID
  nn_wait_for 5 test -S "/var/run/wireguard/$ia.sock" || nn_die "wireguard-go A did not start"
  nn_wait_for 5 test -S "/var/run/wireguard/$ib.sock" || nn_die "wireguard-go B did not start"
  nn_exec "$t-gwA" wg set "$ia" private-key "$d/A.key" listen-port 51820 \
    peer "$(cat "$d/B.pub")" endpoint 10.99.0.2:51820 allowed-ips "$E2E_LAN_B" || nn_die "wg set A"
  nn_exec "$t-gwB" wg set "$ib" private-key "$d/B.key" listen-port 51820 \
    peer "$(cat "$d/A.pub")" endpoint 10.99.0.1:51820 allowed-ips "$E2E_LAN_A" || nn_die "wg set B"
  # wireguard-go's default inner MTU (1420); the routes send each LAN through the tunnel.
  nn_exec "$t-gwA" ip link set "$ia" mtu 1420 up
  nn_exec "$t-gwB" ip link set "$ib" mtu 1420 up
  nn_exec "$t-gwA" ip route add "$E2E_LAN_B" dev "$ia" src 10.98.1.1
  nn_exec "$t-gwB" ip route add "$E2E_LAN_A" dev "$ib" src 10.98.2.1
  e2e_wait_ping "$t" 5 || nn_die "wireguard-go: no LAN A -> LAN B connectivity through the tunnel"
  e2e_wire_check "$t" '\.51820 > .*UDP'
  E2E_DAEMON_PIDS="$pa $pb"
  E2E_NOTE="wireguard-go $(wireguard-go --version 2>/dev/null | head -1 | awk '{print $2}'),"
  E2E_NOTE+=" ChaCha20-Poly1305 in UDP 51820, inner MTU $(e2e_mtu "$t-gwA" "$ia")"
}

# shellcheck source=bench/e2e/braid.sh
. "$E2E_HERE/braid.sh"
