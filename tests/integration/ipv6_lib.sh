# Helpers for the IPv6 integration tests (sourced after netns.sh and dataplane_lib.sh, whose
# dp_topology_dual / dp_config / dp_start / dp_transfer / dp_iperf helpers they use). Only
# IPv6-specific values live here; the topology and traffic helpers are dataplane_lib.sh's.
IPV6_NETS_A='"10.98.1.0/24", "fd00:a::/64"'
IPV6_NETS_B='"10.98.2.0/24", "fd00:b::/64"'
# tshark filter for neighbour discovery and MLDv2 (RS, RA, NS, NA; MLDv2 report), which an
# IPv6 WAN carries besides the tunnel.
IPV6_ND='icmpv6.type == 133 || icmpv6.type == 134 || icmpv6.type == 135 || icmpv6.type == 136 || icmpv6.type == 143'

# v6_delta SITE NAME BEFORE: counter growth since BEFORE (from the last stats file).
v6_delta() { echo $(($(dp_counter "$1" "$2") - $3)); }
