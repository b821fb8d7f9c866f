# libFuzzer target for the ESP receive path: classifyUdpEncap and EspInboundTable::open.
if(BRAID_FUZZ)
  # Compile the ESP sources into the fuzzer so that they carry its coverage and sanitizer
  # instrumentation (the braid_ipsec_esp library is built without them).
  braid_add_fuzzer(esp LIBS braid_core OpenSSL::Crypto)
  target_sources(fuzz_esp PRIVATE ${BRAID_ROOT}/ipsec/esp.cpp ${BRAID_ROOT}/ipsec/replay_window.cpp)
else()
  braid_add_fuzzer(esp LIBS braid_ipsec_esp)
endif()
