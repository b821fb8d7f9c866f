# bench/e2e/braid.sh - braid (braidd) as a system for bench/e2e/throughput.sh. Sourced.

sys_braid_up() {
  nn_die "braid: not integrated yet"
}
