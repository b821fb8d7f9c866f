#include "metrics/registry.hpp"

#include <cassert>
#include <cmath>

namespace braid::metrics {

namespace {

Status bad(ErrorCode c, std::string msg) {
  return errorStatus(c, std::move(msg));
}

bool sameDesc(const FamilyDesc& a, const FamilyDesc& b) {
  return a.name == b.name && a.help == b.help && a.type == b.type && a.unit == b.unit &&
         a.labelNames == b.labelNames && a.buckets == b.buckets;
}

std::string_view stripSuffix(std::string_view s, std::string_view suffix) {
  if (s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix) {
    s.remove_suffix(suffix.size());
  }
  return s;
}

// OpenMetrics family name: counters drop _total, info drops _info (OpenMetrics 1.0,
// "Counter" and "Info"); samples carry the suffix.
std::string_view omFamilyName(const FamilyDesc& d) {
  if (d.type == Type::kCounter) return stripSuffix(d.name, "_total");
  if (d.type == Type::kInfo) return stripSuffix(d.name, "_info");
  return d.name;
}

// le values in canonical form ("1.0", not "1"), as OpenMetrics asks; 0.0.4 accepts it too.
std::string leString(double b) {
  std::string s = formatDouble(b);
  if (s.find_first_of(".eEIN") == std::string::npos) s += ".0";
  return s;
}

void writeLabels(std::string& out, const std::vector<std::string>& names,
                 const std::vector<std::string>& values, std::string_view le = {}) {
  if (names.empty() && le.empty()) return;
  out += '{';
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out += ',';
    out += names[i];
    out += "=\"";
    out += escapeLabelValue(values[i]);
    out += '"';
  }
  if (!le.empty()) {
    if (!names.empty()) out += ',';
    out += "le=\"";
    out += le;
    out += '"';
  }
  out += '}';
}

void jsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  out += '"';
}

// JSON has no NaN/Inf: those become strings.
void jsonNumber(std::string& out, double v) {
  if (std::isfinite(v)) {
    out += formatDouble(v);
  } else {
    jsonString(out, formatDouble(v));
  }
}

}  // namespace

Result<FamilyId> Registry::addFamily(FamilyDesc desc) {
  if (auto s = validateFamily(desc); !s) return s;
  for (size_t i = 0; i < families_.size(); ++i) {
    if (families_[i].desc.name != desc.name) continue;
    if (sameDesc(families_[i].desc, desc)) return FamilyId{i};
    return bad(ErrorCode::kAlreadyExists, "metric '" + desc.name + "' declared twice, differently");
  }
  // OpenMetrics names must not collide either (braid_x_total counter vs braid_x gauge).
  std::string_view om = omFamilyName(desc);
  for (auto& f : families_) {
    if (omFamilyName(f.desc) == om) {
      return bad(ErrorCode::kAlreadyExists,
                 "metric '" + desc.name + "' collides with " + f.desc.name);
    }
  }
  families_.push_back(Family{std::move(desc), {}});
  return FamilyId{families_.size() - 1};
}

Result<SeriesId> Registry::addSeries(FamilyId family, std::vector<std::string> labelValues,
                                     std::string statsKey) {
  if (family.index >= families_.size()) return bad(ErrorCode::kNotFound, "no such metric family");
  Family& f = families_[family.index];
  if (labelValues.size() != f.desc.labelNames.size()) {
    return bad(ErrorCode::kInvalidArgument,
               f.desc.name + ": expected " + std::to_string(f.desc.labelNames.size()) +
                   " label values, got " + std::to_string(labelValues.size()));
  }
  for (auto& v : labelValues) {
    if (auto s = validateLabelValue(v); !s)
      return Status(s.code(), f.desc.name + ": " + s.message());
  }
  for (auto& s : f.series) {
    if (s.labelValues == labelValues) {
      return bad(ErrorCode::kAlreadyExists, f.desc.name + ": label set registered twice");
    }
  }
  if (f.series.size() >= maxSeries_) {
    return bad(ErrorCode::kResourceExhausted,
               f.desc.name + ": more than " + std::to_string(maxSeries_) + " series");
  }
  std::string key;
  if (statsKey.empty()) {
    std::string_view base = f.desc.name;
    if (base.starts_with("braid_")) base.remove_prefix(6);
    base = stripSuffix(base, "_total");
    key = base;
    for (auto& v : labelValues) key += "." + v;
  } else {
    // Substitute {label} placeholders.
    for (size_t i = 0; i < statsKey.size();) {
      size_t close = statsKey[i] == '{' ? statsKey.find('}', i) : std::string::npos;
      if (close != std::string::npos) {
        std::string_view name(statsKey.data() + i + 1, close - i - 1);
        size_t j = 0;
        while (j < f.desc.labelNames.size() && f.desc.labelNames[j] != name) ++j;
        if (j == f.desc.labelNames.size()) {
          return bad(ErrorCode::kInvalidArgument,
                     f.desc.name + ": stats key names unknown label {" + std::string(name) + "}");
        }
        key += labelValues[j];
        i = close + 1;
      } else {
        key += statsKey[i++];
      }
    }
  }
  // The stats file is `name value` lines: no blanks or control characters in a name.
  for (auto& c : key) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) c = '_';
  }
  if (statsKeys_.contains(key)) {
    return bad(ErrorCode::kAlreadyExists, f.desc.name + ": stats key '" + key + "' already used");
  }
  statsKeys_.insert(key);
  Series s;
  s.labelValues = std::move(labelValues);
  s.statsKey = std::move(key);
  if (f.desc.type == Type::kHistogram) s.buckets.assign(f.desc.buckets.size() + 1, 0);
  if (f.desc.type == Type::kInfo) s.u = 1;
  f.series.push_back(std::move(s));
  return SeriesId{family.index, f.series.size() - 1};
}

void Registry::set(SeriesId id, uint64_t v) {
  Series& s = families_[id.family].series[id.index];
  s.isDouble = false;
  s.u = v;
}

void Registry::set(SeriesId id, double v) {
  Series& s = families_[id.family].series[id.index];
  s.isDouble = true;
  s.d = v;
}

void Registry::set(SeriesId id, const Histogram& h) {
  Family& f = families_[id.family];
  Series& s = f.series[id.index];
  assert(h.bounds().size() == f.desc.buckets.size());
  uint64_t cum = 0;
  for (size_t i = 0; i < s.buckets.size(); ++i) {
    cum += h.bucket(i);
    s.buckets[i] = cum;
  }
  s.u = h.count();
  s.sum = h.sum();
}

namespace {
std::string valueString(bool isDouble, uint64_t u, double d) {
  return isDouble ? formatDouble(d) : std::to_string(u);
}
}  // namespace

void Registry::writeText(std::string& out, Format fmt) const {
  const bool om = fmt == Format::kOpenMetrics;
  for (auto& f : families_) {
    const FamilyDesc& d = f.desc;
    std::string_view meta = om ? omFamilyName(d) : std::string_view(d.name);
    std::string_view type = typeName(d.type);
    if (d.type == Type::kInfo && !om) type = "gauge";  // 0.0.4 has no info type
    out += "# HELP ";
    out += meta;
    out += ' ';
    out += escapeHelp(d.help, fmt);
    out += "\n# TYPE ";
    out += meta;
    out += ' ';
    out += type;
    out += '\n';
    if (om && !d.unit.empty()) {
      out += "# UNIT ";
      out += meta;
      out += ' ';
      out += d.unit;
      out += '\n';
    }
    for (auto& s : f.series) {
      if (d.type == Type::kHistogram) {
        for (size_t i = 0; i < s.buckets.size(); ++i) {
          out += d.name;
          out += "_bucket";
          std::string le = i < d.buckets.size() ? leString(d.buckets[i]) : "+Inf";
          writeLabels(out, d.labelNames, s.labelValues, le);
          out += ' ';
          out += std::to_string(s.buckets[i]);
          out += '\n';
        }
        out += d.name;
        out += "_sum";
        writeLabels(out, d.labelNames, s.labelValues);
        out += ' ';
        out += formatDouble(s.sum);
        out += '\n';
        out += d.name;
        out += "_count";
        writeLabels(out, d.labelNames, s.labelValues);
        out += ' ';
        out += std::to_string(s.u);
        out += '\n';
      } else {
        out += d.name;
        writeLabels(out, d.labelNames, s.labelValues);
        out += ' ';
        out += valueString(s.isDouble, s.u, s.d);
        out += '\n';
      }
    }
  }
  if (om) out += "# EOF\n";
}

void Registry::writeStats(std::string& out) const {
  for (auto& f : families_) {
    for (auto& s : f.series) {
      if (f.desc.type == Type::kHistogram) {
        for (size_t i = 0; i < s.buckets.size(); ++i) {
          std::string le = i < f.desc.buckets.size() ? leString(f.desc.buckets[i]) : "+Inf";
          out += s.statsKey + ".bucket." + le + ' ' + std::to_string(s.buckets[i]) + '\n';
        }
        out += s.statsKey + ".sum " + formatDouble(s.sum) + '\n';
        out += s.statsKey + ".count " + std::to_string(s.u) + '\n';
      } else {
        out += s.statsKey + ' ' + valueString(s.isDouble, s.u, s.d) + '\n';
      }
    }
  }
}

void Registry::writeJson(std::string& out) const {
  out += "{\"metrics\":[";
  for (size_t fi = 0; fi < families_.size(); ++fi) {
    const Family& f = families_[fi];
    const FamilyDesc& d = f.desc;
    if (fi) out += ',';
    out += "{\"name\":";
    jsonString(out, d.name);
    out += ",\"type\":";
    jsonString(out, typeName(d.type));
    out += ",\"unit\":";
    jsonString(out, d.unit);
    out += ",\"help\":";
    jsonString(out, d.help);
    out += ",\"series\":[";
    for (size_t si = 0; si < f.series.size(); ++si) {
      const Series& s = f.series[si];
      if (si) out += ',';
      out += "{\"labels\":{";
      for (size_t i = 0; i < d.labelNames.size(); ++i) {
        if (i) out += ',';
        jsonString(out, d.labelNames[i]);
        out += ':';
        jsonString(out, s.labelValues[i]);
      }
      out += '}';
      if (d.type == Type::kHistogram) {
        out += ",\"buckets\":[";
        for (size_t i = 0; i < s.buckets.size(); ++i) {
          if (i) out += ',';
          out += "{\"le\":";
          jsonString(out, i < d.buckets.size() ? leString(d.buckets[i]) : "+Inf");
          out += ",\"count\":" + std::to_string(s.buckets[i]) + '}';
        }
        out += "],\"sum\":";
        jsonNumber(out, s.sum);
        out += ",\"count\":" + std::to_string(s.u);
      } else {
        out += ",\"value\":";
        if (s.isDouble) {
          jsonNumber(out, s.d);
        } else {
          out += std::to_string(s.u);
        }
      }
      out += '}';
    }
    out += "]}";
  }
  out += "]}\n";
}

std::string Registry::format(Format f) const {
  std::string out;
  switch (f) {
    case Format::kPrometheus:
    case Format::kOpenMetrics:
      writeText(out, f);
      break;
    case Format::kStatsFile:
      writeStats(out);
      break;
    case Format::kJson:
      writeJson(out);
      break;
  }
  return out;
}

}  // namespace braid::metrics
