# CPU cost of Child SA rekeys (CREATE_CHILD_SA with REKEY_SA + the Delete of the old SA),
# two SaManagers in memory. docs/performance.md "SA lifecycle: rekeys under traffic".
braid_add_bench(ike_rekey_bench LIBS braid_ipsec_ike OpenSSL::Crypto
                SOURCES ike_rekey_bench.cpp ike_setup_support.cpp)
