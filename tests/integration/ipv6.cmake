# IPv6 end to end (inner IPv6 over IPv4 and IPv6 uplinks, IKEv2 with IPv6 selectors): two
# braidd sites in network namespaces with dual-stack LANs (dataplane_lib.sh dp_topology_dual).
set(ipv6_dir ${CMAKE_CURRENT_SOURCE_DIR})
braid_add_shell_test(ipv6_dual_stack ${ipv6_dir}/ipv6_dual_stack.sh TIMEOUT 90)
# Also in the ASan stage (label asan): IPv6 TSO split / coalescing and UDP GSO/GRO.
braid_add_shell_test(ipv6_uplink_offload ${ipv6_dir}/ipv6_uplink.sh ARGS offload LABELS asan
  TIMEOUT 120)
braid_add_shell_test(ipv6_uplink_plain ${ipv6_dir}/ipv6_uplink.sh ARGS plain TIMEOUT 90)
braid_add_shell_test(ipv6_ike_psk ${ipv6_dir}/ipv6_ike.sh TIMEOUT 90)
braid_add_shell_test(ipv6_ike_psk_any ${ipv6_dir}/ipv6_ike.sh ARGS %any TIMEOUT 90)
