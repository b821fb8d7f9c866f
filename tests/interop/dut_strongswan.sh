# DUT driver: a second strongSwan charon in gwA. Used to check the harness itself (the case
# table, the REF configuration and the REF-side assertions) against a known-good peer:
#   DUT=strongswan tests/interop/interop.sh all
# Interface (every DUT driver provides it; see dut_braid.sh):
#   dut_setup                      once per run
#   dut_case ROLE AUTH IKE ESP PSK ID PEERID LTS RTS   configure (and start) for one case
#   dut_initiate                   DUT is the initiator: start the IKE SA (no wait)
#   dut_log                        DUT log lines of the current case (stdout)
#   dut_expect ROLE OUTCOME        regexes that must appear in dut_log
#   dut_forbid ROLE OUTCOME        regexes that must not appear
#   dut_alive                      DUT process still running
#   dut_end_case                   tear the case down (SAs, process)
#   dut_describe                   one line for the report
DUT_DIR=""
# shellcheck disable=SC2034  # used by interop.sh
DUT_SHORT="strongSwan(DUT)"
DUT_MARK=0

dut_describe() { echo "strongSwan $(/usr/lib/ipsec/charon --version 2>&1 | awk '{print $NF}') (harness self-test)"; }

dut_setup() {
  DUT_DIR=$NN_TMP/dut-charon
  io_start_charon A "$DUT_DIR"
  DUT_PID=$LAB_LAST_PID
}

dut_case() {
  local role=$1 auth=$2 ike=$3 esp=$4 psk=$5 id=$6 peerid=$7 lts=$8 rts=$9
  io_charon_reset "$DUT_DIR"
  io_swanctl_conf dut A "$role" "$auth" "$ike" "$esp" "$psk" "$id" "$peerid" "$lts" "$rts" yes \
    >"$DUT_DIR/swanctl/swanctl.conf"
  io_charon_load "$DUT_DIR"
  DUT_MARK=$(io_charon_log_mark "$DUT_DIR")
}

dut_initiate() {
  (ss_swanctl "$DUT_DIR" --initiate --child net --timeout 15 >"$NN_TMP/dut-initiate.out" 2>&1 &)
}

dut_log() { io_charon_since "$DUT_DIR" "$DUT_MARK"; }
dut_expect() {
  case $2 in
    # lifecycle steps driven by REF (see interop.sh lifecycle)
    child-rekeyed) printf '%s\n' 'inbound CHILD_SA net\{[0-9]+\} established' \
      'closing CHILD_SA net\{[0-9]+\}' ;;
    child-added) printf '%s\n' 'CHILD_SA net\{[0-9]+\} established with SPIs .* 10\.98\.1\.0/25 === 10\.98\.2\.0/25' ;;
    ike-rekey-ref) printf '%s\n' 'IKE_SA ref\[[0-9]+\] rekeyed between' 'deleting IKE_SA ref\[[0-9]+\]' ;;
    ike-rekey) printf '%s\n' 'IKE_SA dut\[[0-9]+\] rekeyed between' ;;
    *) io_ss_expect "$@" ;;
  esac
}
dut_forbid() { io_ss_forbid "$@"; }
dut_alive() { kill -0 "$DUT_PID" 2>/dev/null; }
dut_end_case() { io_charon_reset "$DUT_DIR"; }
# The DUT-side view of the negotiated suite for positive cases.
dut_sas() { ss_swanctl "$DUT_DIR" --list-sas 2>/dev/null; }
dut_checks() { :; }
dut_ike_keys() { io_charon_since "$DUT_DIR" "$DUT_MARK" | python3 "$HERE/ike_keys.py" "$1" "$2" | sed "s/^uat://"; }
dut_lifecycle_checks() { :; }
