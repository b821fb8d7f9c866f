# libFuzzer target for the scrape-side text handling (metrics/): Accept-header negotiation and
# label value validation and escaping.
braid_add_fuzzer(metrics_scrape LIBS braid_metrics)
