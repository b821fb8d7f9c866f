# Stateful IKE fuzzer: an initiator and a responder SaManager driven by a program of
# operations (ike_sa_world.cpp). ike_sa_seeds writes the seed corpus (non-fuzz builds).
braid_add_fuzzer(ike_sa LIBS braid_ipsec_ike)
target_sources(fuzz_ike_sa PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/ike_sa_world.cpp)
target_include_directories(fuzz_ike_sa PRIVATE ${BRAID_ROOT})
if(NOT BRAID_FUZZ)
  add_executable(ike_sa_seeds ike_sa_seeds.cpp ike_sa_world.cpp)
  target_link_libraries(ike_sa_seeds PRIVATE braid_ipsec_ike)
  target_include_directories(ike_sa_seeds PRIVATE ${BRAID_ROOT})
endif()
