# MOBIKE (RFC 4555) and uplink address changes, in simulated time.
braid_add_test(ike_mobike_test
  LIBS braid_ike_harness braid_ipsec_ike
  LABELS unit asan
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/ike_mobike_test.cpp)
target_include_directories(ike_mobike_test PRIVATE ${BRAID_ROOT})
