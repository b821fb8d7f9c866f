# Data plane (edge/braidd) integration tests: two sites in network namespaces.
set(dp_dir ${CMAKE_CURRENT_SOURCE_DIR})
braid_add_shell_test(dataplane_tunnel_aes256_offload ${dp_dir}/dataplane_tunnel.sh
  ARGS aes256gcm16 offload TIMEOUT 120)
braid_add_shell_test(dataplane_tunnel_aes128_plain ${dp_dir}/dataplane_tunnel.sh
  ARGS aes128gcm16 plain TIMEOUT 120)
braid_add_shell_test(dataplane_tunnel_chacha20 ${dp_dir}/dataplane_tunnel.sh
  ARGS chacha20poly1305 offload TIMEOUT 120)
braid_add_shell_test(dataplane_hostile ${dp_dir}/dataplane_hostile.sh LABELS asan TIMEOUT 120)
braid_add_shell_test(dataplane_bad_config ${dp_dir}/dataplane_bad_config.sh TIMEOUT 60)
braid_add_shell_test(dataplane_restart ${dp_dir}/dataplane_restart.sh TIMEOUT 120)
