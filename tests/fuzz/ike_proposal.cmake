# libFuzzer target: proposal strings (parseProposals) and selectProposal against a fixed list.
braid_add_fuzzer(ike_proposal LIBS braid_ipsec_ike)
