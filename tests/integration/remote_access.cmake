# Remote access: strongSwan road-warrior clients (charon + kernel-libipsec) with certificates
# against braidd's [[remote_access]] section (docs/remote-access.md). SERIAL: two charons.
braid_add_shell_test(remote_access_strongswan ${CMAKE_CURRENT_SOURCE_DIR}/remote_access.sh
  LABELS interop SERIAL TIMEOUT 240)
