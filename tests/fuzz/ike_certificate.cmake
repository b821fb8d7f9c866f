# libFuzzer target: Certificate::fromDer on CERT payload data, identity matching, chain checks.
braid_add_fuzzer(ike_certificate LIBS braid_ipsec_ike)
