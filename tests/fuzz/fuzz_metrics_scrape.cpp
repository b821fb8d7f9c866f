// Fuzzes what a scrape takes from outside or from configuration: the HTTP Accept header
// (negotiate) and label values (validateLabelValue, escaping, the four output formats).
// Invariants: the content type matches the format; an accepted label value never yields a
// raw newline inside a text-format sample or a stats-file key, and the stats file stays
// `key value` lines.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "metrics/registry.hpp"

using namespace braid::metrics;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  Negotiated n = negotiate(in);
  if (n.format == Format::kOpenMetrics && n.contentType != kOpenMetricsContentType) std::abort();
  if (n.format == Format::kPrometheus && n.contentType != kPrometheusContentType) std::abort();
  if (n.format != Format::kOpenMetrics && n.format != Format::kPrometheus) std::abort();

  if (!validateLabelValue(in)) return 0;
  for (char c : escapeLabelValue(in)) {
    if (c == '\n') std::abort();
  }
  Registry r;
  auto f = r.addFamily({"braid_fuzz_total", "Fuzz.", Type::kCounter, "", {"path"}, {}});
  if (!f) std::abort();
  auto s = r.addSeries(*f, {std::string(in)});
  if (!s) std::abort();
  r.set(*s, uint64_t{1});
  for (Format fmt : {Format::kPrometheus, Format::kOpenMetrics}) {
    std::string text = r.format(fmt);
    // HELP, TYPE, one sample (and # EOF): the label value added no line.
    size_t lines = 0;
    for (char c : text) lines += c == '\n';
    if (lines != (fmt == Format::kOpenMetrics ? 4u : 3u)) std::abort();
  }
  std::string stats = r.statsFile();
  size_t blank = stats.find(' ');
  if (blank == std::string::npos || stats.substr(blank) != " 1\n") std::abort();
  if (stats.substr(0, blank).find_first_of(" \t\n\r") != std::string::npos) std::abort();
  if (r.json().find('\n') != r.json().size() - 1) std::abort();
  return 0;
}
