# Remote access at scale: 1000 road-warrior clients (braid-ra-load) against one braidd
# (docs/performance.md "Remote access scale"). SERIAL: it loads both cores for a while.
braid_add_shell_test(ra_scale ${CMAKE_CURRENT_SOURCE_DIR}/ra_scale.sh
  LABELS lab SERIAL TIMEOUT 300)
