# EAP-MSCHAPv2: MD4 (RFC 1320), MS-CHAPv2 (RFC 2759 9) and MSK (RFC 3079) vectors, the EAP
# codec with hostile packets, both EAP state machines, and IKE_AUTH with EAP (RFC 7296 2.16)
# in simulated time; EAP-TLS (RFC 5216, RFC 9190) sessions and IKE_AUTH with EAP-TLS.
braid_add_test(ike_eap_test
  LIBS braid_ike_harness braid_ipsec_ike
  LABELS unit asan
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/eap_crypto_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/eap_codec_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/ike_eap_exchange_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/eap_tls_test.cpp)
target_include_directories(ike_eap_test PRIVATE ${BRAID_ROOT})
