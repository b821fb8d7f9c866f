# Remote access: Configuration payload codec, address pools, road-warrior exchanges (CP
# request/reply, pool exhaustion, reconnect, wrong CA) in simulated time.
braid_add_test(ike_remote_access_test
  LIBS braid_ike_harness braid_ipsec_ike
  LABELS unit asan
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/ike_cp_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/address_pool_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/ike_remote_access_test.cpp)
target_include_directories(ike_remote_access_test PRIVATE ${BRAID_ROOT})
