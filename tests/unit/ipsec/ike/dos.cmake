# Responder DoS defences: cookies, half-open caps and expiry, IKE_SA_INIT rate limit, flood.
braid_add_test(ike_dos_test
  LIBS braid_ike_harness braid_ipsec_ike
  LABELS unit asan
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/ike_dos_test.cpp)
target_include_directories(ike_dos_test PRIVATE ${BRAID_ROOT})
