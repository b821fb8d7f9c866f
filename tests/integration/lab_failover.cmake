# Multipath acceptance in the WAN lab (issue 12; docs/lab.md "Multipath failover"): steer
# failover, duplication, metered last resort, bond (beside kernel MPTCP), brownout, FEC and
# priority (egress shaping under saturation).
# Each 60-80 s, serial like every lab test; skip (77) only while edge/braidd is not built,
# so a braidd without multipath fails them.
foreach(_t lab_failover lab_failover_dup lab_failover_lte lab_bond lab_brownout lab_priority)
  braid_add_shell_test(${_t} ${CMAKE_CURRENT_SOURCE_DIR}/${_t}.sh LABELS lab SERIAL TIMEOUT 240)
  set_tests_properties(${_t} PROPERTIES SKIP_RETURN_CODE 77)
endforeach()
