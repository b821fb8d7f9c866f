# ESP seal/open, the raw AEAD underneath, and the replay window (docs/performance.md).
braid_add_bench(esp_bench LIBS braid_ipsec_esp OpenSSL::Crypto SOURCES esp_bench.cpp)
