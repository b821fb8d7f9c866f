# IKEv2 (braidd's control plane) integration tests: two braidd sites in network namespaces.
set(ike_dir ${CMAKE_CURRENT_SOURCE_DIR})
braid_add_shell_test(ike_tunnel_psk_aes256_x25519 ${ike_dir}/ike_tunnel.sh
  ARGS psk aes256gcm16 x25519 LABELS asan TIMEOUT 120)
braid_add_shell_test(ike_tunnel_psk_chacha20_ecp256 ${ike_dir}/ike_tunnel.sh
  ARGS psk chacha20poly1305 ecp256 TIMEOUT 120)
braid_add_shell_test(ike_tunnel_cert_aes128_ecp256 ${ike_dir}/ike_tunnel.sh
  ARGS cert aes128gcm16 ecp256 TIMEOUT 120)
braid_add_shell_test(ike_tunnel_cert_chacha20_x25519 ${ike_dir}/ike_tunnel.sh
  ARGS cert chacha20poly1305 x25519 TIMEOUT 120)
braid_add_shell_test(ike_failures ${ike_dir}/ike_failures.sh LABELS asan TIMEOUT 240)
braid_add_shell_test(ike_oracle_tshark ${ike_dir}/ike_oracle.sh ARGS aes256gcm16 TIMEOUT 120)
# Hostile IKE at a running responder: "tasks" lifts the DoS limits so that hostile IKE_SA_INITs
# reach the IKE_SA_INIT task (also under ASan); "defences" keeps them.
braid_add_shell_test(ike_hostile ${ike_dir}/ike_hostile.sh ARGS tasks LABELS asan TIMEOUT 400)
braid_add_shell_test(ike_hostile_defences ${ike_dir}/ike_hostile.sh ARGS defences TIMEOUT 300)
# Spoofed IKE_SA_INIT flood (5000/s for 10 s) at braidd B with default DoS limits; RSS/CPU
# figures printed (docs/performance.md "IKE flood"). SERIAL: it measures CPU and memory.
braid_add_shell_test(ike_flood ${ike_dir}/ike_flood.sh SERIAL TIMEOUT 180)
