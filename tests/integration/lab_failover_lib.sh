# tests/integration/lab_failover_lib.sh - shared by the multipath acceptance tests
# (lab_failover*.sh, issue 12): braidd over fiber, broadband and lte with a policy written
# by the test, voice-like UDP from LAN A to LAN B, and impairments from braid-wanem and, so
# that braid is not only tested against its own emulator, from nftables in the WAN namespace.
# Source after tests/support/netns.sh and deploy/lab/lab-lib.sh.
#
# Which uplink carried a voice packet is read from its one-way delay: the tests give fiber
# 4 ms and broadband 25 ms (lte keeps its 45 +- 15 ms), so below MP_FIBER_OWD_MS is fiber.
# The emulator's per-link byte counters say the same from the other end.

MP_FIBER_OWD_MS=${MP_FIBER_OWD_MS:-14}
MP_VOICE_SIZE=172  # G.711 20 ms frame + RTP header, as UDP payload

# mp_links: the tests' delays (clean fiber, slower broadband); losses off so that a lost
# voice packet is the failover's doing, not the profile's 0.1 % (lte keeps its 1 % bursts).
mp_links() {
  lab_wanem set fiber reset delay=4ms jitter=0.5ms rate=500mbit >/dev/null &&
    lab_wanem set broadband reset delay=25ms jitter=1ms rate=100mbit >/dev/null
}

# mp_policy FILE PROBE_MS [EXTRA_PATHMON_LINES]: [pathmon], the voice class whose TOML
# comes from stdin, a default class, and the rule putting UDP to ports 5500-5600 in voice.
mp_policy() {
  local f=$1 ms=$2 extra=${3:-}
  {
    printf '[pathmon]\nprobe_interval_ms = %s\nidle_interval_ms = 100\n' "$ms"
    printf 'detect_multiplier = 3\nhold_down_ms = 1000\nrecover_probes = 5\n'
    [ -n "$extra" ] && printf '%s\n' "$extra" | tr ';' '\n' | sed 's/^ *//'
    printf '\n'
    cat
    printf '\n[[class]]\nname = "default"\nmode = "steer"\n'
    printf '\n[[rule]]\nclass = "voice"\nprotocol = "udp"\ndst_ports = ["5500-5600"]\n'
  } >"$f"
}

# mp_tunnel POLICY_FILE: braidd with IKEv2 over the three uplinks, lte metered, and the
# policy; waits for every Child SA (lab.sh), then MP_SETTLE seconds for the path monitor
# to bring every path Up. braidd runs at SCHED_FIFO like the emulator and the probes
# (LAB_BRAIDD_RT=0 to change): with 20 ms probes a path is dead after ~60 ms of silence,
# and on a loaded 2-core VM a normal-priority braidd was once not scheduled for ~70 ms and
# declared every path dead at once (docs/performance.md, "What the tests found").
mp_tunnel() {
  export LAB_BRAIDD_RT=${LAB_BRAIDD_RT:-1}
  # MP_LTE_EXTRA, MP_FIBER_EXTRA: more keys for that [[uplink]] (a budget, shape), ';' separated.
  export LAB_POLICY=$1 LAB_UPLINK_LTE="metered = true; egress_kbps = 30000${MP_LTE_EXTRA:+; $MP_LTE_EXTRA}"
  export LAB_UPLINK_FIBER="egress_kbps = ${MP_FIBER_KBPS:-500000}${MP_FIBER_EXTRA:+; $MP_FIBER_EXTRA}"
  export LAB_UPLINK_BROADBAND="egress_kbps = ${MP_BROADBAND_KBPS:-100000}"
  mp_save_logs
  lab tunnel down >/dev/null 2>&1
  if ! lab tunnel up; then
    lab tunnel status 2>&1 | grep -E 'site |/' | head -8
    echo "--- generated config of site a:"
    cat "$LAB_STATE_DIR/braidd-a.toml" 2>/dev/null | sed -n '/LAB_POLICY/,$p'
    return 1
  fi
  sleep "${MP_SETTLE:-1.5}"
}

# mp_voice PORT COUNT [SEND_ARGS...]: COUNT packets at 50/s LAN A -> LAN B; the receiver's
# report on stdout, its per-packet dump in $LAB_STATE_DIR/voice-PORT.dump. The receiver
# waits 1.5 s after the last packet: longer than any failover gap the tests accept.
mp_voice() {
  local port=$1 count=$2; shift 2
  LAB_PROBE_DUMP=$LAB_STATE_DIR/voice-$port.dump LAB_PROBE_IDLE=${LAB_PROBE_IDLE:-1500ms} \
    lab_probe a-lan b-lan 10.10.2.10 "$port" --pps 50 --count "$count" --size "$MP_VOICE_SIZE" "$@"
  cp "$LAB_STATE_DIR/voice-$port.dump" "$NN_TMP/" 2>/dev/null  # kept with NN_KEEP=1
}
mp_dump() { printf '%s/voice-%s.dump' "$LAB_STATE_DIR" "$1"; }

# mp_nft_cut on|off: nftables in the WAN namespace drops every frame the fiber bridge
# forwards to or from site A's fiber access link (after braid-wanem, so the emulator's
# counters still show what braidd sent on fiber). Bridge family: the fiber segment is a bridge.
mp_nft_cut() {
  if [ "$1" = on ]; then
    lab_exec wan nft -f - <<'EOF'
table bridge braid_mp_cut {
  chain cut {
    type filter hook forward priority filter; policy accept;
    iifname "a-fib-c" counter drop
    oifname "a-fib-c" counter drop
  }
}
EOF
  else
    mp_nft_packets "bridge braid_mp_cut" >"$LAB_STATE_DIR/nft-cut-dropped"
    lab_exec wan nft delete table bridge braid_mp_cut
  fi
}
# mp_nft_packets "FAMILY TABLE" [CHAIN]: sum of the packet counters there.
mp_nft_packets() {
  local what="table $1"
  [ -n "${2:-}" ] && what="chain $1 $2"
  lab_exec wan nft list $what 2>/dev/null |
    awk '/counter packets/ {for (i = 1; i <= NF; i++) if ($i == "packets") n += $(i + 1)} END {print n + 0}'
}

# mp_count_setup: nftables counters in the WAN namespace of the voice-sized packets (IP
# length >= 200; probes, replies and IKE keepalives are shorter) that each of site A's
# uplinks carried towards B, counted after braid-wanem (what the link delivered).
# mp_voice_pkts fiber|broadband|lte reads one.
mp_count_setup() {
  lab_exec wan nft -f - <<'EOF'
table netdev braid_mp_count {
  chain fiber {
    type filter hook ingress device "a-fib-c" priority filter; policy accept;
    ip length >= 200 counter
  }
  chain broadband {
    type filter hook ingress device "a-bb-c" priority filter; policy accept;
    ip length >= 200 counter
  }
  chain lte {
    type filter hook ingress device "a-lte-c" priority filter; policy accept;
    ip length >= 200 counter
  }
}
EOF
}
mp_voice_pkts() { mp_nft_packets "netdev braid_mp_count" "$1"; }

# mp_timeline DUMP: key=value lines from a receiver dump (first deliveries only), around
# the cut whose CLOCK_REALTIME window mp_bg_cut wrote to $LAB_STATE_DIR/cut-times:
#   failover_gap_ms  the longest gap starting within 40 ms of that window (the failover;
#                    max_gap_ms of the report is over the whole run, stalls of a loaded
#                    machine included)
#   pre_n, pre_fiber_pct  deliveries up to that gap, and the share of them over fiber
#   bb_ms            from the gap's start to the first delivery not over fiber
#   back_ms          from the gap's start to the first of 5 fiber deliveries in a row after
#                    a non-fiber one (-1: fiber never carried voice again)
#   post_fiber_pct   share of deliveries over fiber from that point on
mp_timeline() {
  local before=0 after=0
  read -r before after <"$LAB_STATE_DIR/cut-times" 2>/dev/null
  awk -v thr="$MP_FIBER_OWD_MS" -v lo="$before" -v hi="$after" '
    /^#/ { next }
    !($1 in seen) { seen[$1] = 1; n++; rx[n] = $2; owd[n] = $3 / 1e6 }
    END {
      gi = 0; g = -1
      for (i = 2; i <= n; i++) {
        if (rx[i - 1] < lo - 40e6 || rx[i - 1] > hi + 40e6) continue
        if (rx[i] - rx[i - 1] > g) { g = rx[i] - rx[i - 1]; gi = i - 1 }
      }
      if (!gi) for (i = 1; i <= n; i++) if (rx[i] <= hi) gi = i
      pre = 0; for (i = 1; i <= gi; i++) pre += owd[i] < thr
      back = 0; bb = -1
      for (i = gi + 1; i <= n; i++) {
        if (owd[i] >= thr) { if (bb < 0) bb = (rx[i] - rx[gi]) / 1e6; continue }
        if (bb >= 0 && i + 4 <= n && owd[i+1] < thr && owd[i+2] < thr && owd[i+3] < thr && owd[i+4] < thr) { back = i; break }
      }
      post = 0; if (back) for (i = back; i <= n; i++) post += owd[i] < thr
      printf "failover_gap_ms=%.1f\n", (g > 0 ? g / 1e6 : 0)
      printf "pre_n=%d\npre_fiber_pct=%.1f\n", gi, (gi >= 10 ? 100 * pre / gi : 0)
      printf "bb_ms=%.1f\n", bb
      printf "back_ms=%.1f\n", (back ? (rx[back] - rx[gi]) / 1e6 : -1)
      printf "post_fiber_pct=%.1f\n", (back ? 100 * post / (n - back + 1) : 0)
    }' "$1"
}

# mp_up WHAT POLICY_FILE: mp_tunnel as a check that also returns its status (nn_check
# counts a failure but returns 0, so a test could not stop a section on it).
mp_up() {
  local what=$1; shift
  if mp_tunnel "$@"; then nn_pass "$what"; else nn_fail "$what"; return 1; fi
}

# mp_bytes LINK:DIR -> the emulator's forwarded bytes on that direction.
mp_bytes() { lab_get "$1" fwd_bytes; }

# mp_stats SITE: braidd's multipath lines from a fresh stats file (diagnostics).
mp_stats() {
  bash "$LAB_SH" tunnel status >/dev/null 2>&1
  grep -E '^(pathmon|path|policy|class|mp)\.' "$LAB_STATE_DIR/braidd-$1.stats" 2>/dev/null | head -60
}

# mp_stat SITE KEY: one counter of braidd's stats file of that site, as last written (0 when
# absent); `lab tunnel status` writes fresh ones.
mp_stat() {
  awk -v k="$2" '$1 == k {print $2; f = 1} END {if (!f) print 0}' "$LAB_STATE_DIR/braidd-$1.stats" 2>/dev/null
}

# mp_load: the 1-minute load average, reported with every figure.
mp_load() { cut -d' ' -f1 /proc/loadavg; }

# mp_bg_cut blackout|nft|carrier DELAY_S DURATION_MS: cuts fiber in the background DELAY_S
# from now for DURATION_MS, by a braid-wanem blackout, by mp_nft_cut, or by taking the WAN end
# of A's fiber access link down (carrier loss on fiber0), and writes the CLOCK_REALTIME
# ns just before and after the cut took effect to $LAB_STATE_DIR/cut-times. mp_wait_cut
# waits for it; it is killed by PID on every exit path.
mp_bg_cut() {
  local kind=$1 delay=$2 len=$3
  rm -f "$LAB_STATE_DIR/cut-times" "$LAB_STATE_DIR/nft-cut-dropped"
  (
    sleep "$delay"
    t0=$(date +%s%N)
    if [ "$kind" = blackout ]; then
      lab_wanem set fiber blackout "${len}ms" >/dev/null
      echo "$t0 $(date +%s%N)" >"$LAB_STATE_DIR/cut-times"
    else
      if [ "$kind" = carrier ]; then lab_exec wan ip link set a-fib down; else mp_nft_cut on; fi
      echo "$t0 $(date +%s%N)" >"$LAB_STATE_DIR/cut-times"
      sleep "$(awk -v m="$len" 'BEGIN {print m / 1000}')"
      if [ "$kind" = carrier ]; then lab_exec wan ip link set a-fib up; else mp_nft_cut off; fi
    fi
  ) &
  MP_CUTTER=$!
}
mp_wait_cut() { [ -n "${MP_CUTTER:-}" ] && wait "$MP_CUTTER"; MP_CUTTER=; }
# MP_SECTIONS="1 3": run only those numbered sections of a test (development, and repeated
# measurements for docs/performance.md); default all.
mp_want() { [ -z "${MP_SECTIONS:-}" ] || [[ " $MP_SECTIONS " == *" $1 "* ]]; }
mp_cleanup() {
  [ -n "${MP_CUTTER:-}" ] && nn_kill_pid "$MP_CUTTER"
  MP_CUTTER=
  mp_save_logs
}
# mp_save_logs: braidd's logs of the tunnel about to go, into $NN_TMP (kept with NN_KEEP=1).
MP_RUN=0
mp_save_logs() {
  local s
  [ -n "${NN_TMP:-}" ] && [ -d "${LAB_STATE_DIR:-/nonexistent}" ] || return 0
  MP_RUN=$((MP_RUN + 1))
  for s in a b; do cp "$LAB_STATE_DIR/braidd-$s.log" "$NN_TMP/braidd-$s.$MP_RUN.log" 2>/dev/null; done
  return 0
}
nn_on_cleanup mp_cleanup
