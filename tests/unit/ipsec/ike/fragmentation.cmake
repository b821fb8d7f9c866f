# IKE fragmentation (RFC 7383): the fragmenter/reassembler core and two-party exchanges.
braid_add_test(ike_fragment_test
  LIBS braid_ike_harness braid_ipsec_ike
  LABELS unit asan
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/fragmentation_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/ike_fragment_exchange_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/ike_fragment_pmtu_test.cpp)
target_include_directories(ike_fragment_test PRIVATE ${BRAID_ROOT})
