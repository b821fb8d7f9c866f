# libFuzzer target: SK payload open/decrypt (openMessage) with fixed keys for every IKE cipher suite.
if(BRAID_FUZZ)
  # The IKE crypto layer compiled with the fuzzer's coverage and sanitizers (braid_ipsec_ike
  # is built without them); one object library shared by the ike_* crypto fuzzers.
  if(NOT TARGET braid_fuzz_ike_crypto)
    set(ike_crypto_dir ${BRAID_ROOT}/ipsec/ike)
    add_library(braid_fuzz_ike_crypto OBJECT ${ike_crypto_dir}/proposal.cpp ${ike_crypto_dir}/crypto_cipher.cpp
                ${ike_crypto_dir}/crypto_keys.cpp ${ike_crypto_dir}/crypto_prf.cpp ${ike_crypto_dir}/auth_psk.cpp
                ${ike_crypto_dir}/auth_signature.cpp ${ike_crypto_dir}/auth_cert.cpp)
    target_compile_options(braid_fuzz_ike_crypto PRIVATE -fsanitize=fuzzer-no-link,address,undefined)
    target_link_libraries(braid_fuzz_ike_crypto PUBLIC braid_core OpenSSL::Crypto)
  endif()
  braid_add_fuzzer(ike_sk_open LIBS braid_fuzz_ike_crypto braid_core OpenSSL::Crypto)
else()
  braid_add_fuzzer(ike_sk_open LIBS braid_ipsec_ike)
endif()
