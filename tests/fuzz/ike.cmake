# IKE codec fuzzers: plaintext parse + rules, and the SK decrypt + parse path.
braid_add_fuzzer(ike_message LIBS braid_ipsec_ike)
braid_add_fuzzer(ike_decrypt LIBS braid_ipsec_ike)
