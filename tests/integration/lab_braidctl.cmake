# braidctl against braidd in the WAN lab (issue 13; docs/operations.md "braidctl"): status,
# sas, --json, path down/up under voice traffic, reload (valid and refused), check, and a
# non-root user refused by the socket's mode. Serial like every lab test; skips (77) until
# edge/braidd and edge/braidctl are built.
braid_add_shell_test(lab_braidctl ${CMAKE_CURRENT_SOURCE_DIR}/lab_braidctl.sh LABELS lab SERIAL TIMEOUT 180)
set_tests_properties(lab_braidctl PROPERTIES SKIP_RETURN_CODE 77)
