# Remote access with EAP-MSCHAPv2: strongSwan road-warrior clients (charon + kernel-libipsec,
# eap-mschapv2 from libcharon-extauth-plugins) against braidd's [[remote_access]] section with
# a credentials file written by braidctl user add (docs/remote-access.md). SERIAL: charons.
braid_add_shell_test(remote_access_eap_strongswan ${CMAKE_CURRENT_SOURCE_DIR}/remote_access_eap.sh
  LABELS interop SERIAL TIMEOUT 240)
