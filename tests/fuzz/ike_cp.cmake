# libFuzzer target: the Configuration payload body (RFC 7296 3.15) and its typed attributes.
braid_add_fuzzer(ike_cp LIBS braid_ipsec_ike)
