# libFuzzer target for the braid shim data header decoder (policy/shim.hpp).
braid_add_fuzzer(policy_shim LIBS braid_policy)
