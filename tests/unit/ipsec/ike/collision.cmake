# IKEv2 collisions (RFC 7296 2.8.1, 2.8.2, 2.25), start-up duplicates, INITIAL_CONTACT, SPIs,
# PFS rekeys.
braid_add_test(ike_collision_test
  LIBS braid_ike_harness braid_ipsec_ike
  LABELS unit asan
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/ike_collision_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/ike_uniqueness_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/ike_spi_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/ike_pfs_test.cpp)
target_include_directories(ike_collision_test PRIVATE ${BRAID_ROOT})
