#include "deploy/lab/wanem/params.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <functional>

namespace braid::wanem {
namespace {

bool parseDouble(std::string_view text, double& out) {
  if (text.empty()) return false;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end && std::isfinite(out);
}

// Splits "40ms" into number "40" and unit "ms".
void splitUnit(std::string_view text, std::string_view& number, std::string_view& unit) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.' ||
                             text[i] == '-' || text[i] == '+')) {
    ++i;
  }
  number = text.substr(0, i);
  unit = text.substr(i);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string formatDouble(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

Status bad(std::string_view key, std::string_view value, std::string_view expected) {
  return errorStatus(ErrorCode::kInvalidArgument, std::string(key) + ": bad value '" +
                                                      std::string(value) + "' (expected " +
                                                      std::string(expected) + ")");
}

bool parseProbability(std::string_view v, double& out) {
  return parsePercent(v, out) && out >= 0.0 && out <= 1.0;
}

struct Setting {
  std::string_view name;
  std::function<Status(LinkParams&, std::string_view)> set;
  std::function<std::string(const LinkParams&)> get;
};

Status setDuration(Duration& d, std::string_view key, std::string_view v) {
  Duration x;
  if (!parseDuration(v, x) || x < Duration::zero() || x > std::chrono::seconds(60)) {
    return bad(key, v, "a duration 0..60s like 40ms, 0.5ms, 250us");
  }
  d = x;
  return Status::ok();
}

Status setProbability(double& d, std::string_view key, std::string_view v) {
  double x;
  if (!parseProbability(v, x)) return bad(key, v, "a percentage 0..100 like 2%");
  d = x;
  return Status::ok();
}

Status setU32(uint32_t& d, std::string_view key, std::string_view v, uint64_t max) {
  uint64_t x;
  if (v == "off")
    x = 0;
  else if (!parseUint(v, x) || x > max)
    return bad(key, v, "an integer 0.." + std::to_string(max));
  d = static_cast<uint32_t>(x);
  return Status::ok();
}

const std::vector<Setting>& settings() {
  static const std::vector<Setting> kSettings = {
      {"state",
       [](LinkParams& p, std::string_view v) {
         if (v == "down")
           p.down = true;
         else if (v == "up")
           p.down = false;
         else
           return bad("state", v, "up or down");
         return Status::ok();
       },
       [](const LinkParams& p) { return std::string(p.down ? "down" : "up"); }},
      {"delay", [](LinkParams& p, std::string_view v) { return setDuration(p.delay, "delay", v); },
       [](const LinkParams& p) { return formatDuration(p.delay); }},
      {"jitter",
       [](LinkParams& p, std::string_view v) { return setDuration(p.jitter, "jitter", v); },
       [](const LinkParams& p) { return formatDuration(p.jitter); }},
      {"dist",
       [](LinkParams& p, std::string_view v) {
         if (v == "uniform")
           p.dist = JitterDist::kUniform;
         else if (v == "normal")
           p.dist = JitterDist::kNormal;
         else
           return bad("dist", v, "uniform or normal");
         return Status::ok();
       },
       [](const LinkParams& p) {
         return std::string(p.dist == JitterDist::kNormal ? "normal" : "uniform");
       }},
      {"loss", [](LinkParams& p, std::string_view v) { return setProbability(p.loss, "loss", v); },
       [](const LinkParams& p) { return formatPercent(p.loss); }},
      {"burst",
       [](LinkParams& p, std::string_view v) {
         if (v == "off" || v == "0" || v == "0%") {
           p.ge = GilbertElliott{};
           return Status::ok();
         }
         std::string_view lossText = v, lenText;
         if (auto colon = v.find(':'); colon != std::string_view::npos) {
           lossText = v.substr(0, colon);
           lenText = v.substr(colon + 1);
         }
         double loss = 0, len = 4.0;
         if (!parseProbability(lossText, loss) || loss >= 1.0 ||
             (!lenText.empty() && (!parseDouble(lenText, len) || len < 1.0))) {
           return bad("burst", v, "LOSS%[:MEAN_BURST_PACKETS] like 1%:4, or off");
         }
         p.ge = GilbertElliott::fromMeanLoss(loss, len);
         return Status::ok();
       },
       [](const LinkParams& p) -> std::string {
         if (!p.ge.enabled) return "off";
         if (p.ge.lossGood == 0.0 && p.ge.lossBad == 1.0 && p.ge.r > 0) {
           return formatPercent(p.ge.meanLoss()) + ":" + formatDouble(1.0 / p.ge.r);
         }
         return "custom";
       }},
      {"ge_p",
       [](LinkParams& p, std::string_view v) {
         p.ge.enabled = true;
         return setProbability(p.ge.p, "ge_p", v);
       },
       [](const LinkParams& p) { return formatPercent(p.ge.p); }},
      {"ge_r",
       [](LinkParams& p, std::string_view v) {
         p.ge.enabled = true;
         return setProbability(p.ge.r, "ge_r", v);
       },
       [](const LinkParams& p) { return formatPercent(p.ge.r); }},
      {"ge_good",
       [](LinkParams& p, std::string_view v) {
         p.ge.enabled = true;
         return setProbability(p.ge.lossGood, "ge_good", v);
       },
       [](const LinkParams& p) { return formatPercent(p.ge.lossGood); }},
      {"ge_bad",
       [](LinkParams& p, std::string_view v) {
         p.ge.enabled = true;
         return setProbability(p.ge.lossBad, "ge_bad", v);
       },
       [](const LinkParams& p) { return formatPercent(p.ge.lossBad); }},
      {"rate",
       [](LinkParams& p, std::string_view v) {
         uint64_t x;
         if (!parseRate(v, x)) return bad("rate", v, "a rate like 30mbit, 500kbit, 1gbit, off");
         p.rateBps = x;
         return Status::ok();
       },
       [](const LinkParams& p) { return formatRate(p.rateBps); }},
      {"bucket",
       [](LinkParams& p, std::string_view v) {
         return setU32(p.bucketBytes, "bucket", v, 64u << 20);
       },
       [](const LinkParams& p) {
         return p.bucketBytes == 0 ? std::string("auto") : std::to_string(p.bucketBytes);
       }},
      {"queue",
       [](LinkParams& p, std::string_view v) { return setU32(p.queueLimit, "queue", v, 1u << 20); },
       [](const LinkParams& p) { return std::to_string(p.queueLimit); }},
      {"reorder",
       [](LinkParams& p, std::string_view v) { return setProbability(p.reorder, "reorder", v); },
       [](const LinkParams& p) { return formatPercent(p.reorder); }},
      {"dup",
       [](LinkParams& p, std::string_view v) { return setProbability(p.duplicate, "dup", v); },
       [](const LinkParams& p) { return formatPercent(p.duplicate); }},
      {"mtu", [](LinkParams& p, std::string_view v) { return setU32(p.mtu, "mtu", v, 65535); },
       [](const LinkParams& p) { return p.mtu == 0 ? std::string("off") : std::to_string(p.mtu); }},
  };
  return kSettings;
}

const Setting* findSetting(std::string_view key) {
  for (const auto& s : settings()) {
    if (s.name == key) return &s;
  }
  return nullptr;
}

}  // namespace

double GilbertElliott::meanLoss() const {
  if (!enabled) return 0.0;
  if (p + r <= 0.0) return lossGood;
  double bad = p / (p + r);
  return bad * lossBad + (1.0 - bad) * lossGood;
}

GilbertElliott GilbertElliott::fromMeanLoss(double loss, double burstLen) {
  GilbertElliott ge;
  ge.enabled = loss > 0.0;
  ge.r = 1.0 / burstLen;
  ge.p = loss * ge.r / (1.0 - loss);
  ge.lossGood = 0.0;
  ge.lossBad = 1.0;
  return ge;
}

uint32_t LinkParams::effectiveBucketBytes() const {
  if (bucketBytes != 0) return bucketBytes;
  uint64_t oneMs = rateBps / 8 / 1000;
  return static_cast<uint32_t>(std::max<uint64_t>(2 * 1514, std::min<uint64_t>(oneMs, 1u << 24)));
}

const std::vector<std::string_view>& settingNames() {
  static const std::vector<std::string_view> kNames = [] {
    std::vector<std::string_view> v;
    for (const auto& s : settings()) v.push_back(s.name);
    return v;
  }();
  return kNames;
}

Status applySetting(LinkParams& p, std::string_view key, std::string_view value) {
  const Setting* s = findSetting(key);
  if (s == nullptr) {
    return errorStatus(ErrorCode::kInvalidArgument, "unknown setting '" + std::string(key) + "'");
  }
  return s->set(p, value);
}

std::string getSetting(const LinkParams& p, std::string_view key) {
  const Setting* s = findSetting(key);
  return s == nullptr ? std::string() : s->get(p);
}

Status applyTokens(LinkParams& p, const std::vector<std::string>& tokens,
                   std::vector<std::string>* changed) {
  LinkParams next = p;
  std::vector<std::string> keys;
  for (const auto& tok : tokens) {
    std::string_view key, value;
    if (tok == "down" || tok == "up") {
      key = "state";
      value = tok;
    } else if (auto eq = tok.find('='); eq != std::string::npos) {
      key = std::string_view(tok).substr(0, eq);
      value = std::string_view(tok).substr(eq + 1);
    } else {
      return errorStatus(ErrorCode::kInvalidArgument,
                         "expected key=value, 'down' or 'up', got '" + tok + "'");
    }
    if (Status st = applySetting(next, key, value); !st) return st;
    keys.emplace_back(key);
  }
  p = next;
  if (changed != nullptr) changed->insert(changed->end(), keys.begin(), keys.end());
  return Status::ok();
}

std::string formatParams(const LinkParams& p) {
  std::string out;
  for (const auto& s : settings()) {
    // The raw Gilbert-Elliott keys are shown only when "burst" cannot express them.
    if (s.name.starts_with("ge_") && (!p.ge.enabled || getSetting(p, "burst") != "custom")) {
      continue;
    }
    if (!out.empty()) out += ' ';
    out += std::string(s.name) + "=" + s.get(p);
  }
  return out;
}

bool parseUint(std::string_view text, uint64_t& out) {
  if (text.empty()) return false;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end;
}

bool parseDuration(std::string_view text, Duration& out) {
  std::string_view num, unit;
  splitUnit(text, num, unit);
  double v;
  if (!parseDouble(num, v)) return false;
  std::string u = lower(unit);
  double scale;
  if (u == "s")
    scale = 1e9;
  else if (u == "ms")
    scale = 1e6;
  else if (u == "us")
    scale = 1e3;
  else if (u == "ns")
    scale = 1.0;
  else if (u.empty() && v == 0.0)
    scale = 0.0;
  else
    return false;
  double ns = v * scale;
  if (std::fabs(ns) > 1e15) return false;
  out = Duration(static_cast<int64_t>(std::llround(ns)));
  return true;
}

bool parsePercent(std::string_view text, double& out) {
  if (text.ends_with('%')) text.remove_suffix(1);
  double v;
  if (!parseDouble(text, v) || v < 0.0) return false;
  out = v / 100.0;
  return true;
}

bool parseRate(std::string_view text, uint64_t& bps) {
  if (text == "off" || text == "0") {
    bps = 0;
    return true;
  }
  std::string_view num, unit;
  splitUnit(text, num, unit);
  double v;
  if (!parseDouble(num, v) || v < 0.0) return false;
  std::string u = lower(unit);
  double scale;
  if (u == "bit" || u.empty())
    scale = 1.0;
  else if (u == "kbit" || u == "k")
    scale = 1e3;
  else if (u == "mbit" || u == "m")
    scale = 1e6;
  else if (u == "gbit" || u == "g")
    scale = 1e9;
  else
    return false;
  double r = v * scale;
  if (r > 1e12) return false;
  bps = static_cast<uint64_t>(std::llround(r));
  return true;
}

std::string formatDuration(Duration d) {
  int64_t ns = d.count();
  if (ns == 0) return "0ms";
  if (ns % 1000000000 == 0) return std::to_string(ns / 1000000000) + "s";
  if (ns % 1000 != 0) return std::to_string(ns) + "ns";
  if (ns % 1000000 != 0 && std::llabs(ns) < 1000000) return std::to_string(ns / 1000) + "us";
  return formatDouble(static_cast<double>(ns) / 1e6) + "ms";
}

std::string formatPercent(double probability) {
  return formatDouble(probability * 100.0) + "%";
}

std::string formatRate(uint64_t bps) {
  if (bps == 0) return "off";
  if (bps % 1000000000 == 0) return std::to_string(bps / 1000000000) + "gbit";
  if (bps % 1000000 == 0) return std::to_string(bps / 1000000) + "mbit";
  if (bps % 1000 == 0) return std::to_string(bps / 1000) + "kbit";
  return std::to_string(bps) + "bit";
}

std::vector<std::string> splitWords(std::string_view line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    size_t j = i;
    while (j < line.size() && !std::isspace(static_cast<unsigned char>(line[j]))) ++j;
    if (j > i) out.emplace_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace braid::wanem
