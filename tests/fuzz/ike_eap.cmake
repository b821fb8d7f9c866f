# libFuzzer target: EAP packets (RFC 3748 4) and EAP-MSCHAPv2 messages, and both EAP state
# machines fed with them (eap.hpp, eap_auth.hpp).
braid_add_fuzzer(ike_eap LIBS braid_ipsec_ike)
