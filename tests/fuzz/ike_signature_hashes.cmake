# libFuzzer target: SIGNATURE_HASH_ALGORITHMS notify parsing and AUTH signature verification.
braid_add_fuzzer(ike_signature_hashes LIBS braid_ipsec_ike)
