# libFuzzer target for the braid shim probe decoder (pathmon/probe.hpp).
braid_add_fuzzer(pathmon_probe LIBS braid_pathmon)
