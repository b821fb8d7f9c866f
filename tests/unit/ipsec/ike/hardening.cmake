# IKE hardening: unauthenticated and out-of-state input against a real responder/initiator.
braid_add_test(ike_hardening_test
  LIBS braid_ike_harness braid_ipsec_ike
  LABELS unit asan
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/ike_hardening_test.cpp)
target_include_directories(ike_hardening_test PRIVATE ${BRAID_ROOT})
