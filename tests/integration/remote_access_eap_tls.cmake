# Remote access with EAP-TLS (RFC 5216): strongSwan road-warrior clients (charon +
# kernel-libipsec, eap-tls from libcharon-extra-plugins) with openssl-issued client
# certificates against braidd's [[remote_access]] section with eap = "tls"
# (docs/remote-access.md). SERIAL: charons.
braid_add_shell_test(remote_access_eap_tls_strongswan ${CMAKE_CURRENT_SOURCE_DIR}/remote_access_eap_tls.sh
  LABELS interop SERIAL TIMEOUT 240)
