#!/usr/bin/env bash
# Loss accuracy of braid-wanem, measured through it: random loss within +-20% of the setting
# over 10k packets, Gilbert-Elliott bursts (mean loss and burst length), duplicates,
# reordering and the MTU limit; the emulator's drop counters agree with what arrived.
SRC=${BRAID_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/tests/support/netns.sh"
. "$SRC/deploy/lab/lab-lib.sh"
nn_init
LAB_SEED=${LAB_SEED:-7} lab_up
lab_wanem set fiber reset delay=1ms jitter=0 rate=off >/dev/null
dl() { lab_get fiber:ab "$1"; }

# 1. Random loss 5% over 10k packets.
before=$(dl drop_loss)
lab_wanem set fiber:ab loss=5% >/dev/null
r=$(lab_probe a-gw b-gw 172.16.1.2 5101 --pps 5000 --count 10000)
lost=$(kv lost <<<"$r"); counted=$(( $(dl drop_loss) - before ))
echo "random 5%: $(kv loss_pct <<<"$r")% lost ($lost of 10000), emulator counted $counted"
nn_check "random loss 5% +-20% ($(kv loss_pct <<<"$r")%)" fcmp "$lost >= 400 && $lost <= 600"
nn_check "drop_loss counter matches the probe ($counted vs $lost)" [ "$counted" = "$lost" ]
nn_check "nothing else lost" [ "$(kv received <<<"$r")" = $((10000 - lost)) ]

# 2. Gilbert-Elliott: mean loss 5% in bursts of 4 packets (p = 1.3%, r = 25%), 20k packets.
#    Bursts are geometric, so the total varies more than independent loss: +-25% here.
before=$(dl drop_burst)
lab_wanem set fiber:ab loss=0 burst=5%:4 >/dev/null
r=$(lab_probe a-gw b-gw 172.16.1.2 5102 --pps 10000 --count 20000)
lost=$(kv lost <<<"$r"); counted=$(( $(dl drop_burst) - before ))
echo "burst 5%:4: $(kv loss_pct <<<"$r")% lost in $(kv bursts <<<"$r") bursts of mean $(kv burst_mean <<<"$r")"
nn_check "burst loss 5% +-25% ($(kv loss_pct <<<"$r")%)" fcmp "$lost >= 750 && $lost <= 1250"
nn_check "mean burst length 4 +-25% ($(kv burst_mean <<<"$r"))" fcmp "$(kv burst_mean <<<"$r") >= 3 && $(kv burst_mean <<<"$r") <= 5"
nn_check "drop_burst counter matches the probe ($counted vs $lost)" [ "$counted" = "$lost" ]

# 3. Duplicates 10% of 3000.
lab_wanem set fiber:ab burst=off dup=10% >/dev/null
r=$(lab_probe a-gw b-gw 172.16.1.2 5103 --pps 5000 --count 3000)
echo "dup 10%: $(kv dup <<<"$r") duplicates"
nn_check "duplicates 10% +-20% ($(kv dup <<<"$r"))" fcmp "$(kv dup <<<"$r") >= 240 && $(kv dup <<<"$r") <= 360"
nn_check "duplicates lose nothing" [ "$(kv lost <<<"$r")" = 0 ]

# 4. Reorder 10%: those packets skip the 10 ms delay line and overtake the ones in flight.
before=$(dl reordered)
lab_wanem set fiber:ab dup=0 reorder=10% delay=10ms >/dev/null
r=$(lab_probe a-gw b-gw 172.16.1.2 5104 --pps 1000 --count 3000)
jumped=$(( $(dl reordered) - before ))
echo "reorder 10%: $jumped packets jumped ahead, receiver saw $(kv reordered <<<"$r") late arrivals"
nn_check "reorder 10% +-20% ($jumped)" fcmp "$jumped >= 240 && $jumped <= 360"
nn_check "receiver sees out-of-order arrivals" fcmp "$(kv reordered <<<"$r") > 0"
nn_check "reordering loses nothing" [ "$(kv lost <<<"$r")" = 0 ]

# 5. MTU 1000: 1072-byte IP packets are dropped and counted, 972-byte ones pass.
before=$(dl drop_mtu)
lab_wanem set fiber:ab reorder=0 delay=1ms mtu=1000 >/dev/null
r=$(LAB_PROBE_MAX=2s lab_probe a-gw b-gw 172.16.1.2 5105 --pps 1000 --count 200 --size 1044)
nn_check "oversize packets dropped ($(kv received <<<"$r") arrived)" [ "$(kv received <<<"$r")" = 0 ]
nn_check "drop_mtu counted them" [ $(( $(dl drop_mtu) - before )) = 200 ]
r=$(lab_probe a-gw b-gw 172.16.1.2 5106 --pps 1000 --count 200 --size 944)
nn_check "packets within the MTU pass" [ "$(kv received <<<"$r")" = 200 ]
nn_finish
