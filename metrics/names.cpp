// Naming rules, escaping and content negotiation. Names follow the Prometheus conventions
// (https://prometheus.io/docs/practices/naming/); the text formats are Prometheus 0.0.4 and
// OpenMetrics 1.0.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "metrics/metric.hpp"

namespace braid::metrics {

std::string_view typeName(Type t) {
  switch (t) {
    case Type::kCounter:
      return "counter";
    case Type::kGauge:
      return "gauge";
    case Type::kHistogram:
      return "histogram";
    case Type::kInfo:
      return "info";
  }
  return "unknown";
}

namespace {

Status bad(std::string msg) {
  return errorStatus(ErrorCode::kInvalidArgument, std::move(msg));
}

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool isAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool isAlnum(char c) {
  return isAlpha(c) || (c >= '0' && c <= '9');
}

// Suffixes that name a non-base unit: the base unit must be used instead.
constexpr std::array<std::string_view, 12> kNonBaseUnits = {
    "_milliseconds", "_microseconds", "_nanoseconds", "_ms",   "_us",      "_minutes",
    "_hours",        "_kilobytes",    "_megabytes",   "_bits", "_percent", "_millis"};

// Suffixes the formats generate themselves (histogram/summary samples, OpenMetrics _created).
constexpr std::array<std::string_view, 5> kReserved = {"_count", "_sum", "_bucket", "_created",
                                                       "_gcount"};

// RFC 3629 section 4: shortest forms only, no surrogates, at most U+10FFFF.
bool validUtf8(std::string_view s) {
  static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;  // continuation bytes
    if (c < 0x80) {
      n = 0;
    } else if ((c >> 5) == 6) {
      n = 1;
    } else if ((c >> 4) == 14) {
      n = 2;
    } else if ((c >> 3) == 30) {
      n = 3;
    } else {
      return false;
    }
    if (s.size() - i <= n) return false;
    uint32_t cp = n == 0 ? c : c & (0x3f >> n);
    for (size_t k = 1; k <= n; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 2) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

}  // namespace

Status validateMetricName(std::string_view name) {
  if (name.empty() || !isAlpha(name[0])) return bad("metric name must start with [a-zA-Z_]");
  for (char c : name) {
    if (!isAlnum(c)) {
      // Colons are legal in the format but reserved for recording rules.
      return bad("metric name '" + std::string(name) + "' has a character outside [a-zA-Z0-9_]");
    }
  }
  if (!name.starts_with("braid_") && !name.starts_with("process_")) {
    return bad("metric name '" + std::string(name) + "' lacks the braid_ (or process_) prefix");
  }
  if (name.find("__") != std::string_view::npos) {
    return bad("metric name '" + std::string(name) + "' has a double underscore");
  }
  for (auto s : kNonBaseUnits) {
    if (endsWith(name, s) || endsWith(name, std::string(s) + "_total")) {
      return bad("metric name '" + std::string(name) + "' uses a non-base unit (" +
                 std::string(s.substr(1)) + ")");
    }
  }
  return {};
}

Status validateLabelName(std::string_view name) {
  if (name.empty() || !isAlpha(name[0])) return bad("label name must start with [a-zA-Z_]");
  for (char c : name) {
    if (!isAlnum(c)) return bad("label name '" + std::string(name) + "' has a bad character");
  }
  if (name.starts_with("__")) return bad("label names starting with __ are reserved");
  return {};
}

Status validateLabelValue(std::string_view value) {
  // Empty means "label absent" to Prometheus; a series must not depend on that.
  if (value.empty()) return bad("empty label value");
  if (value.size() > 128) return bad("label value longer than 128 bytes");
  if (!validUtf8(value)) return bad("label value is not valid UTF-8");
  return {};
}

Status validateFamily(const FamilyDesc& d) {
  if (auto s = validateMetricName(d.name); !s) return s;
  std::string_view name = d.name;
  bool total = endsWith(name, "_total");
  if (d.type == Type::kCounter && !total) return bad("counter '" + d.name + "' must end in _total");
  if (d.type != Type::kCounter && total) return bad("only counters end in _total: " + d.name);
  if (d.type == Type::kInfo && !endsWith(name, "_info")) {
    return bad("info metric '" + d.name + "' must end in _info");
  }
  for (auto s : kReserved) {
    if (endsWith(name, s))
      return bad("metric name '" + d.name + "' ends in reserved " + std::string(s));
  }
  std::string_view base = total ? name.substr(0, name.size() - 6) : name;
  if (!d.unit.empty()) {
    if (std::find(kBaseUnits.begin(), kBaseUnits.end(), d.unit) == kBaseUnits.end()) {
      return bad("unit '" + d.unit + "' is not a base unit");
    }
    // OpenMetrics: the unit must be a suffix of the family name.
    if (!endsWith(base, "_" + d.unit)) {
      return bad("metric name '" + d.name + "' must end in _" + d.unit + " for its unit");
    }
  } else {
    for (auto u : kBaseUnits) {
      if (endsWith(base, "_" + std::string(u))) {
        return bad("metric name '" + d.name + "' ends in _" + std::string(u) +
                   " but declares no unit");
      }
    }
  }
  if (d.help.empty()) return bad("metric '" + d.name + "' has no help text");
  std::set<std::string_view> seen;
  for (auto& l : d.labelNames) {
    if (auto s = validateLabelName(l); !s) return s;
    if (!seen.insert(l).second) return bad("duplicate label '" + l + "' on " + d.name);
    if (d.type == Type::kHistogram && l == "le") return bad("label 'le' is reserved for buckets");
    if (l == "quantile") return bad("label 'quantile' is reserved");
  }
  if (d.type == Type::kHistogram) {
    if (d.buckets.empty() || d.buckets.size() > Histogram::kMaxBuckets) {
      return bad("histogram '" + d.name + "' needs 1.." + std::to_string(Histogram::kMaxBuckets) +
                 " buckets");
    }
    for (size_t i = 0; i < d.buckets.size(); ++i) {
      if (!std::isfinite(d.buckets[i]) || (i > 0 && d.buckets[i] <= d.buckets[i - 1])) {
        return bad("histogram '" + d.name + "' buckets must be finite and ascending");
      }
    }
  } else if (!d.buckets.empty()) {
    return bad("only histograms have buckets: " + d.name);
  }
  return {};
}

std::string escapeLabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string escapeHelp(std::string_view v, Format f) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && f == Format::kOpenMetrics) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

std::string formatDouble(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

// RFC 9110 section 12.5.1: media-range *( ";" parameter ), q weight in [0, 1].
Negotiated negotiate(std::string_view accept) {
  double bestOm = -1, bestText = -1;
  while (!accept.empty()) {
    size_t comma = accept.find(',');
    std::string_view item = accept.substr(0, comma);
    accept = comma == std::string_view::npos ? std::string_view{} : accept.substr(comma + 1);
    size_t semi = item.find(';');
    std::string type = lower(trim(item.substr(0, semi)));
    double q = 1.0;
    std::string version;
    std::string_view params =
        semi == std::string_view::npos ? std::string_view{} : item.substr(semi + 1);
    while (!params.empty()) {
      size_t s = params.find(';');
      std::string_view p = trim(params.substr(0, s));
      params = s == std::string_view::npos ? std::string_view{} : params.substr(s + 1);
      size_t eq = p.find('=');
      if (eq == std::string_view::npos) continue;
      std::string key = lower(trim(p.substr(0, eq)));
      std::string_view val = trim(p.substr(eq + 1));
      if (key == "q") {
        double parsed = 0;
        auto r = std::from_chars(val.data(), val.data() + val.size(), parsed);
        q = (r.ec == std::errc{} && parsed >= 0 && parsed <= 1) ? parsed : 0;
      } else if (key == "version") {
        version = std::string(val);
      }
    }
    if (type == "application/openmetrics-text") {
      if (version.empty() || version == "1.0.0" || version == "0.0.1") bestOm = std::max(bestOm, q);
    } else if (type == "text/plain" || type == "text/*" || type == "*/*") {
      bestText = std::max(bestText, q);
    }
  }
  if (bestOm > 0 && bestOm >= bestText) return {Format::kOpenMetrics, kOpenMetricsContentType};
  return {Format::kPrometheus, kPrometheusContentType};
}

}  // namespace braid::metrics
