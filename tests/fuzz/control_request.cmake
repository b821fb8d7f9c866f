# libFuzzer target for braidd's control socket (edge/control_commands.hpp): the request
# line parser, and braidctl's reading of a response line.
braid_add_fuzzer(control_request LIBS braid_edge)
