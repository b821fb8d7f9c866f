# IKEv2 setup rate (IKE SA + first Child SA per second, braid to braid over UDP on 127.0.0.1)
# and the crypto steps behind it. docs/performance.md "IKEv2 setup"; bench/e2e/ike_setup.sh
# runs it side by side with strongSwan.
braid_add_bench(ike_setup_bench LIBS braid_ipsec_ike OpenSSL::Crypto
                SOURCES ike_setup_bench.cpp ike_setup_micro.cpp ike_setup_support.cpp)
