# IKE protocol core: two-party exchanges in simulated time, codec and rule tables.
braid_add_test(ike_core_test
  LIBS braid_ike_harness braid_ipsec_ike
  LABELS unit asan
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/ike_exchange_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/ike_rekey_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/ike_auth_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/ike_groups_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/ike_cert_policy_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/ike_codec_test.cpp)
target_include_directories(ike_core_test PRIVATE ${BRAID_ROOT})
