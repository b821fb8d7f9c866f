# deploy/lab/tunnel.sh - "lab.sh tunnel": braidd on the gateways. Sourced by lab.sh.
cmd_tunnel() { lab_die "tunnel: not implemented yet"; }
