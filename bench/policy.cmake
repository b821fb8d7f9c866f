# Multipath per-packet costs: classifier, flow table, Engine::decide, dedup, reorder, FEC, probes.
braid_add_bench(policy_bench LIBS braid_policy braid_pathmon SOURCES policy_bench.cpp)
