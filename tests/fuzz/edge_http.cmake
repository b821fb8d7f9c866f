# libFuzzer target for the scrape endpoint's request handling (edge/metrics_server.hpp):
# request line, header fields, bearer token, Accept negotiation.
braid_add_fuzzer(edge_http LIBS braid_edge)
