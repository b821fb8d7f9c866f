# Per-packet cost of the traffic selectors' protocol/port check (edge/ts_match.hpp).
braid_add_bench(ts_match_bench LIBS braid_edge SOURCES ts_match_bench.cpp)
