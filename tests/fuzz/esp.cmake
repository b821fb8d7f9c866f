# libFuzzer target for the ESP receive path: classifyUdpEncap and EspInboundTable::open.
braid_add_fuzzer(esp LIBS braid_ipsec_esp)
