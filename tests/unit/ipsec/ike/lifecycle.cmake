# IKEv2 SA lifecycle: Child SA rekey (make-before-break), lifetimes, collisions, in simulated time.
braid_add_test(ike_lifecycle_test
  LIBS braid_ike_harness braid_ipsec_ike
  LABELS unit asan
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/ike_lifecycle_test.cpp)
target_include_directories(ike_lifecycle_test PRIVATE ${BRAID_ROOT})
