# libFuzzer target: EAP-TLS framing (RFC 5216 3.1) and reassembly, fed to both EapTlsSession
# ends and to the EAP authenticator offering EAP-TLS (eap_tls.hpp).
braid_add_fuzzer(ike_eap_tls LIBS braid_ipsec_ike)
