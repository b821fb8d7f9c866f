# IKE cryptography: proposals, DH, key schedule, SK payload ciphers, authentication, X.509.
braid_add_test(ike_crypto_test
  LIBS braid_ipsec_ike
  LABELS unit asan
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/crypto_proposal_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/crypto_kdf_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/crypto_dh_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/crypto_cipher_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/crypto_auth_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/crypto_cert_test.cpp)
target_include_directories(ike_crypto_test PRIVATE ${BRAID_ROOT})
