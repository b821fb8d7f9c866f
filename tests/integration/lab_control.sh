#!/usr/bin/env bash
# Run-time control of braid-wanem: down/up, per-direction settings, timed reverts, errors,
# and a scenario file whose blackout is seen by traffic at the right time.
SRC=${BRAID_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/tests/support/netns.sh"
. "$SRC/deploy/lab/lab-lib.sh"
nn_init
lab_up
fib() { lab_exec a-gw ping -c 3 -i 0.05 -W 1 -q 172.16.1.2 >/dev/null 2>&1; }
nofib() { ! lab_exec a-gw ping -c 3 -i 0.05 -W 1 -q 172.16.1.2 >/dev/null 2>&1; }

nn_check "fiber passes traffic" fib
d0=$(lab_get fiber:ab drop_down)
lab_wanem set fiber down >/dev/null
nn_check "set fiber down: traffic stops" nofib
nn_check "blackout drops are counted" fcmp "$(lab_get fiber:ab drop_down) > $d0"
nn_check "show reports state=down" bash -c "bash '$LAB_SH' wanem show fiber | grep -q 'state=down'"
lab_wanem set fiber up >/dev/null
nn_check "set fiber up: traffic resumes" fib

lab_wanem set fiber:ab delay=30ms >/dev/null
nn_check "fiber:ab takes a one-direction change" [ "$(lab_get fiber:ab delay)" = 30ms ]
nn_check "fiber:ba keeps the profile" [ "$(lab_get fiber:ba delay)" = 4ms ]
lab_wanem set fiber dir=ba jitter=2ms >/dev/null
nn_check "dir=ba selects a direction" [ "$(lab_get fiber:ba jitter)/$(lab_get fiber:ab jitter)" = 2ms/500us ]
lab_wanem set fiber reset >/dev/null
nn_check "reset restores the start-up profile" [ "$(lab_get fiber:ab delay)" = 4ms ]

lab_wanem set lte loss 20% for 700ms >/dev/null
nn_check "timed change applies" [ "$(lab_get lte:ab loss)" = 20% ]
sleep 1
nn_check "timed change reverts after its duration" [ "$(lab_get lte:ab loss)" = 0% ]

nn_check "unknown key is refused" bash -c "! bash '$LAB_SH' wanem set fiber colour=blue 2>/dev/null"
nn_check "unknown link is refused" bash -c "! bash '$LAB_SH' wanem set dsl down 2>/dev/null"
nn_check "bad value is refused" bash -c "! bash '$LAB_SH' wanem set fiber loss=150% 2>/dev/null"
nn_check "a refused change changes nothing" [ "$(lab_get fiber:ab loss)" = 0% ]

# Scenario: a 1 s fiber blackout 0.5 s into a 2.5 s stream at 200 pps -> one gap of ~200.
cat >"$NN_TMP/flap.scn" <<'SCN'
# test scenario
t=500ms fiber blackout 1s
t=1s    lte loss 50% for 1s; broadband:ab delay=70ms
SCN
nn_check "scenario is accepted" lab_wanem run "$NN_TMP/flap.scn"
r=$(LAB_PROBE_IDLE=2s lab_probe a-gw b-gw 172.16.1.2 5301 --pps 200 --count 500)
echo "scenario: lost $(kv lost <<<"$r") in $(kv bursts <<<"$r") burst(s)"
nn_check "the blackout is one gap" [ "$(kv bursts <<<"$r")" = 1 ]
nn_check "the gap lasts ~1 s (200 +-30 packets: $(kv lost <<<"$r"))" fcmp "$(kv lost <<<"$r") >= 170 && $(kv lost <<<"$r") <= 230"
nn_check "scenario changes stayed where told (broadband:ab 70ms)" [ "$(lab_get broadband:ab delay)" = 70ms ]
nn_check "scenario reverts ran (lte loss back to 0%)" [ "$(lab_get lte:ab loss)" = 0% ]
printf 't=2s fiber down\n' >"$NN_TMP/stop.scn"
lab_wanem run "$NN_TMP/stop.scn" >/dev/null
nn_check "stop cancels a running scenario" lab_wanem stop
sleep 2.2
nn_check "cancelled events never fire" [ "$(lab_get fiber:ab state)" = up ]
printf 't=1s fiber sideways\n' >"$NN_TMP/bad.scn"
nn_check "a bad scenario is refused with its line number" \
  bash -c "bash '$LAB_SH' wanem run '$NN_TMP/bad.scn' 2>&1 | grep -q 'bad.scn:1:'"
nn_finish
