# libFuzzer target: SK payload open/decrypt (openMessage) with fixed keys for every IKE cipher suite.
braid_add_fuzzer(ike_sk_open LIBS braid_ipsec_ike)
