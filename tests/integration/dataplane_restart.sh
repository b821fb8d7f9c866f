#!/usr/bin/env bash
# Manual keys across a restart (issue 11): the ESP sequence number is the AES-GCM nonce, so a
# restarted braidd must continue above every number it sent before under the same key.
#   dataplane_restart.sh
# Traffic, restart braidd A (SIGTERM), more traffic, kill it (SIGKILL) and start it again, more
# traffic; from the WAN capture (tshark) every sequence number of A's outbound SPI after each
# restart is above every one before it, and B accepts them (no replay drops, the transfers
# arrive). Small reservation blocks (1024) make braidd reserve
# more at run time too. A corrupt state file or an unsafe state directory keeps braidd from
# starting (exit 2, no TUN device created).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../support/netns.sh"
. "$HERE/dataplane_lib.sh"

nn_init
[ -x "$BRAIDD" ] || nn_die "braidd not built: $BRAIDD"
command -v tshark >/dev/null || nn_die "tshark not installed"
dp_topology
export DP_SEQ_BLOCK=1024
dp_config A aes256gcm16 >"$NN_TMP/a.toml"
dp_config B aes256gcm16 >"$NN_TMP/b.toml"
dp_check_configs

dp_wan_udp_segmentation off
dp_capture_start
dp_start A "$NN_TMP/a.toml"
dp_start B "$NN_TMP/b.toml"
nn_check "ping LAN A -> LAN B" nn_exec lanA ping -q -c 3 -i 0.2 -W 2 10.98.2.2
nn_check "3 MB TCP transfer before the restart" dp_transfer lanA lanB 10.98.2.2 5001 3000000

state=$(ls "$NN_TMP"/stateA/esp-out-*.seq 2>/dev/null | head -1)
nn_check "gwA wrote a sequence state file" test -n "$state"
reserved=$(awk '$1 == "reserved" { print $2 }' "$state" 2>/dev/null)
nn_check "reservations grew at run time (reserved $reserved > 2 blocks)" test "${reserved:-0}" -gt 2048
nn_check "state file is mode 600" test "$(stat -c %a "$state")" = 600
nn_check "state file does not hold the key" bash -c "! grep -qi '$(dp_key AB aes256gcm16)' '$state'"
dp_refresh A
nn_log "gwA before restart: tx.sealed $(dp_counter A tx.sealed), tx.drop.seq_reserve $(dp_counter A tx.drop.seq_reserve)"

nn_check "braidd A exits 0 on SIGTERM" dp_stop A
cut=$(date +%s.%N)
sleep 0.2
dp_start A "$NN_TMP/a.toml"
nn_check "ping LAN A -> LAN B after the restart" nn_exec lanA ping -q -c 3 -i 0.2 -W 2 10.98.2.2
nn_check "3 MB TCP transfer after the restart" dp_transfer lanA lanB 10.98.2.2 5002 3000000

# A crash (SIGKILL: no clean shutdown, reservations in flight) must not rewind either.
kill -KILL "${DP_PID[A]}"
wait "${DP_PID[A]}" 2>/dev/null
cut2=$(date +%s.%N)
sleep 0.2
dp_start A "$NN_TMP/a.toml"
nn_check "3 MB TCP transfer after a SIGKILL restart" dp_transfer lanA lanB 10.98.2.2 5003 3000000
dp_capture_stop

# Every ESP packet A sent with its outbound SPI, as "time sequence".
tshark -r "$NN_TMP/wan.pcap" -Y "esp.spi == $DP_SPI_AB && ip.src == 10.99.0.1" \
  -T fields -e frame.time_epoch -e esp.sequence 2>/dev/null >"$NN_TMP/seq.txt"
# phase FROM TO: "count lowest highest" of the sequence numbers sent in [FROM, TO).
phase() {
  awk -v a="$1" -v b="$2" '$1 >= a && $1 < b { n++; if (lo == "" || $2 < lo) lo = $2; if ($2 > hi) hi = $2 }
    END { print n + 0, (lo == "" ? 0 : lo), hi + 0 }' "$NN_TMP/seq.txt"
}
read -r n1 lo1 hi1 < <(phase 0 "$cut")
read -r n2 lo2 hi2 < <(phase "$cut" "$cut2")
read -r n3 lo3 hi3 < <(phase "$cut2" 9999999999)
nn_log "SPI $DP_SPI_AB sequence numbers: first run $n1 packets $lo1..$hi1; after SIGTERM restart $n2 packets $lo2..$hi2; after SIGKILL restart $n3 packets $lo3..$hi3"
nn_check "capture: A sent ESP in each of the three runs ($n1, $n2, $n3)" \
  test "$n1" -gt 1000 -a "$n2" -gt 1000 -a "$n3" -gt 1000
nn_check "every sequence number after the restart ($lo2..) is above every one before (..$hi1)" \
  test "$lo2" -gt "$hi1"
nn_check "every sequence number after the SIGKILL restart ($lo3..) is above every one before (..$hi2)" \
  test "$lo3" -gt "$hi2"

dp_refresh B
replay=$(dp_counter B "sa.in.$DP_SPI_AB.drop.replay")
nn_check "gwB dropped nothing as replay ($replay)" test "$replay" -eq 0
nn_check "gwB opened what arrived ($(dp_counter B rx.opened))" \
  test "$(dp_counter B rx.opened)" -eq "$(dp_counter B rx.esp_packets)"

# No guarantee, no start: a corrupt state file, or a directory others could write.
nn_check "braidd A exits 0 on SIGTERM (second run)" dp_stop A
cp "$state" "$NN_TMP/state.good"
sed -i 's/^reserved .*/reserved 1/' "$state"  # a lowered mark: the checksum no longer matches
rc=0
nn_exec gwA timeout 10 "$BRAIDD" --config "$NN_TMP/a.toml" >"$NN_TMP/corrupt.out" 2>&1 || rc=$?
nn_check "corrupt state file: braidd exits 2 ($rc)" test "$rc" -eq 2
nn_check "corrupt state file: the error names the file" grep -q "is corrupt" "$NN_TMP/corrupt.out"
nn_check "corrupt state file: no TUN device was created" \
  bash -c "! ip -n $(nn gwA) link show braid0 >/dev/null 2>&1"
cp "$NN_TMP/state.good" "$state"
chmod 777 "$NN_TMP/stateA"
rc=0
nn_exec gwA timeout 10 "$BRAIDD" --config "$NN_TMP/a.toml" >"$NN_TMP/unsafe.out" 2>&1 || rc=$?
nn_check "state directory writable by others: braidd exits 2 ($rc)" test "$rc" -eq 2
chmod 700 "$NN_TMP/stateA"

nn_check "braidd B exits 0 on SIGTERM" dp_stop B
nn_finish
