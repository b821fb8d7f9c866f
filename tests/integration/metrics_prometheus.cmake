# Issue 13: deploy/prometheus (scrape config, alert rules) and deploy/grafana (dashboard).
# Unit checks (no root, no network): promtool on the shipped files, and the dashboard's
# structure (tests/integration/metrics_prometheus.py, standard library only).
# promtool (Debian's prometheus package) comes with scripts/install-deps.sh.
add_test(NAME metrics_prometheus_rules
         COMMAND promtool check rules ${BRAID_ROOT}/deploy/prometheus/braid-rules.yml)
# `check config` also checks the rule files the config names (relative to its directory).
add_test(NAME metrics_prometheus_config
         COMMAND promtool check config ${BRAID_ROOT}/deploy/prometheus/prometheus.yml)
add_test(NAME metrics_prometheus_dashboard
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/metrics_prometheus.py
                 check-dashboard ${BRAID_ROOT}/deploy/grafana/braid-dashboard.json --self-test)
set_tests_properties(metrics_prometheus_rules metrics_prometheus_config
                     metrics_prometheus_dashboard PROPERTIES LABELS unit)
# Real Prometheus scraping two lab edges (emulated 10 ms / 40 ms uplinks): RTTs against the
# emulator, and every dashboard and alert expression returns data. Serial like every lab
# test; skips (77) only while edge/braidd is not built.
braid_add_shell_test(metrics_prometheus ${CMAKE_CURRENT_SOURCE_DIR}/metrics_prometheus.sh
                     LABELS lab SERIAL TIMEOUT 180)
set_tests_properties(metrics_prometheus PROPERTIES SKIP_RETURN_CODE 77)
