#include "policy/budget.hpp"

#include <charconv>
#include <cstdio>

namespace braid::policy {

using std::chrono::days;
using std::chrono::sys_days;
using std::chrono::year_month_day;

sys_days MeteredBudget::monthStart(sys_days d, unsigned resetDay) {
  const year_month_day ymd{d};
  const std::chrono::day reset{resetDay};
  if (ymd.day() >= reset) return sys_days{ymd.year() / ymd.month() / reset};
  const auto prev = ymd.year() / ymd.month() - std::chrono::months{1};
  return sys_days{prev / reset};
}

bool MeteredBudget::roll(LocalSeconds now) {
  const sys_days today = std::chrono::floor<days>(now);
  bool ended = false;
  // Periods only move forward: a clock stepped back (NTP) must not hand out a fresh budget.
  auto start = [&](Period& p, sys_days s) {
    if (p.started && s <= p.start) return;
    ended |= p.started;
    p = Period{};
    p.start = s;
    p.started = true;
  };
  start(day_, today);
  start(month_, monthStart(today, cfg_.resetDay));
  return ended;
}

BudgetEvent MeteredBudget::account(Period& p, uint64_t limit) {
  if (limit == 0) return BudgetEvent::kNone;
  if (!p.exhausted && p.used >= limit) {
    p.exhausted = p.warned = true;
    return BudgetEvent::kExhausted;
  }
  // Doubles are exact here up to 2^53 / 100 bytes (90 TB).
  if (!p.warned && double(p.used) * 100 >= double(limit) * cfg_.warnPercent) {
    p.warned = true;
    return BudgetEvent::kWarn;
  }
  return BudgetEvent::kNone;
}

BudgetEvent MeteredBudget::add(uint64_t bytes, LocalSeconds now) {
  BudgetEvent ev = roll(now) ? BudgetEvent::kNewPeriod : BudgetEvent::kNone;
  day_.used += bytes;
  month_.used += bytes;
  // Both periods are accounted (each logs once); the more severe event is reported.
  const BudgetEvent d = account(day_, cfg_.dayBytes);
  const BudgetEvent m = account(month_, cfg_.monthBytes);
  if (d > ev) ev = d;
  if (m > ev) ev = m;
  return ev;
}

void MeteredBudget::reconfigure(const BudgetConfig& cfg) {
  cfg_ = cfg;
  if (month_.started) month_.start = monthStart(day_.start, cfg_.resetDay);
  auto settle = [&](Period& p, uint64_t limit) {
    p.exhausted = limit != 0 && p.used >= limit;
    p.warned = limit != 0 && double(p.used) * 100 >= double(limit) * cfg_.warnPercent;
  };
  settle(day_, cfg_.dayBytes);
  settle(month_, cfg_.monthBytes);
}

double MeteredBudget::ratio(BudgetPeriod p) const {
  const uint64_t l = limit(p);
  return l == 0 ? 0.0 : double(used(p)) / double(l);
}

bool MeteredBudget::exhausted() const {
  return (cfg_.dayBytes != 0 && day_.used >= cfg_.dayBytes) ||
         (cfg_.monthBytes != 0 && month_.used >= cfg_.monthBytes);
}

namespace {

std::string date(sys_days d) {
  const year_month_day ymd{d};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", int(ymd.year()), unsigned(ymd.month()),
                unsigned(ymd.day()));
  return buf;
}

template <typename T>
bool number(std::string_view s, T& out) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && end == s.data() + s.size();
}

std::optional<sys_days> parseDate(std::string_view s) {
  int y = 0;
  unsigned m = 0, d = 0;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-' || !number(s.substr(0, 4), y) ||
      !number(s.substr(5, 2), m) || !number(s.substr(8, 2), d)) {
    return std::nullopt;
  }
  const year_month_day ymd{std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}};
  if (!ymd.ok()) return std::nullopt;
  return sys_days{ymd};
}

}  // namespace

std::string MeteredBudget::encode() const {
  return "day " + date(day_.start) + ' ' + std::to_string(day_.used) + "\nmonth " +
         date(month_.start) + ' ' + std::to_string(month_.used) + '\n';
}

std::optional<std::string> MeteredBudget::decode(std::string_view text, LocalSeconds now) {
  struct Line {
    sys_days start;
    uint64_t used;
  };
  std::optional<Line> day, month;
  size_t lineNo = 0;
  while (!text.empty()) {
    ++lineNo;
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (line.empty()) continue;
    const size_t a = line.find(' ');
    const size_t b = a == std::string_view::npos ? a : line.find(' ', a + 1);
    std::optional<sys_days> start;
    uint64_t used = 0;
    if (b == std::string_view::npos || !(start = parseDate(line.substr(a + 1, b - a - 1))) ||
        !number(line.substr(b + 1), used)) {
      return "line " + std::to_string(lineNo) + ": expected '<day|month> YYYY-MM-DD <bytes>'";
    }
    const std::string_view kind = line.substr(0, a);
    if (kind == "day") {
      day = Line{*start, used};
    } else if (kind == "month") {
      month = Line{*start, used};
    } else {
      return "line " + std::to_string(lineNo) + ": unknown period '" + std::string(kind) +
             "'; expected day or month";
    }
  }
  roll(now);
  // A saved period still current keeps its count; its warning and exhaustion are not
  // logged again.
  auto restore = [&](Period& p, const std::optional<Line>& l, uint64_t limit) {
    if (!l || l->start != p.start) return;
    p.used = l->used;
    (void)account(p, limit);
  };
  restore(day_, day, cfg_.dayBytes);
  restore(month_, month, cfg_.monthBytes);
  return std::nullopt;
}

}  // namespace braid::policy
