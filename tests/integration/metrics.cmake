# braidd's Prometheus scrape endpoint ([metrics]): two IKEv2 sites in network namespaces,
# scraped with curl (HTTP + bearer token, HTTPS) and checked with promtool.
braid_add_shell_test(metrics_scrape ${CMAKE_CURRENT_SOURCE_DIR}/metrics_scrape.sh TIMEOUT 120)
