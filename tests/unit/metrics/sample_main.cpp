// metrics_sample FORMAT: writes the sample registry (sample_registry.hpp) in FORMAT
// (prometheus, openmetrics, stats or json) to stdout, for promtool and parser checks.
#include <cstdio>
#include <string_view>

#include "tests/unit/metrics/sample_registry.hpp"

int main(int argc, char** argv) {
  using namespace braid::metrics;
  if (argc != 2) {
    std::fprintf(stderr, "usage: metrics_sample prometheus|openmetrics|stats|json\n");
    return 2;
  }
  std::string_view f = argv[1];
  Format fmt = f == "openmetrics" ? Format::kOpenMetrics
               : f == "stats"     ? Format::kStatsFile
               : f == "json"      ? Format::kJson
                                  : Format::kPrometheus;
  Registry r;
  if (auto s = testing::fillSample(r); !s) {
    std::fprintf(stderr, "metrics_sample: %s\n", s.message().c_str());
    return 1;
  }
  std::string out = r.format(fmt);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}
