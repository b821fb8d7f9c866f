# WAN lab (deploy/lab): topology and braid-wanem accuracy, measured through the emulator.
# Timing-sensitive, so serial; each brings up its own lab in its own namespace prefix.
set(_lab ${CMAKE_CURRENT_SOURCE_DIR})
braid_add_shell_test(lab_topology ${_lab}/lab_topology.sh LABELS lab SERIAL TIMEOUT 120)
braid_add_shell_test(lab_control ${_lab}/lab_control.sh LABELS lab SERIAL TIMEOUT 120)
braid_add_shell_test(lab_delay ${_lab}/lab_delay.sh LABELS lab SERIAL TIMEOUT 120)
braid_add_shell_test(lab_loss ${_lab}/lab_loss.sh LABELS lab SERIAL TIMEOUT 120)
braid_add_shell_test(lab_rate ${_lab}/lab_rate.sh LABELS lab SERIAL TIMEOUT 120)
# Skips (exit 77) until edge/braidd is built.
braid_add_shell_test(lab_braidd ${_lab}/lab_braidd.sh LABELS lab SERIAL TIMEOUT 120)
set_tests_properties(lab_braidd PROPERTIES SKIP_RETURN_CODE 77)
# IKEv2 through the LTE carrier NAT and a NAT rebinding; skips (77) without edge/braidd.
braid_add_shell_test(lab_ike_nat ${_lab}/lab_ike_nat.sh LABELS lab SERIAL TIMEOUT 180)
set_tests_properties(lab_ike_nat PROPERTIES SKIP_RETURN_CODE 77)
