// A metered uplink's byte budget (LTE plans bill per day or per month). Pure: edge feeds it
// the bytes its data threads counted on the uplink's paths (both directions, ESP with its
// IP/UDP headers, probes, copies and FEC parity included: the carrier bills all of them)
// and the local wall-clock time, because plans reset at local midnight.
//
// Periods: the day (00:00 local) and the month, which starts on `resetDay` (the billing
// day, 1..28 so that every month has it). A period that has ended starts again at zero.
// The state survives restarts through encode()/decode() (edge writes it to a file).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace braid::policy {

struct BudgetConfig {
  uint64_t dayBytes = 0;      // 0: no daily limit
  uint64_t monthBytes = 0;    // 0: no monthly limit
  unsigned resetDay = 1;      // the day of the month a monthly period starts
  unsigned warnPercent = 80;  // logged once per period when crossed
  bool enabled() const { return dayBytes != 0 || monthBytes != 0; }
};

enum class BudgetPeriod : uint8_t { kDay, kMonth };

// What add() observed; at most one event per call, the most severe.
enum class BudgetEvent : uint8_t {
  kNone,
  kNewPeriod,  // a period ended: its count starts again (the uplink may be usable again)
  kWarn,       // a period crossed warnPercent
  kExhausted,  // a period reached its limit
};

// Local civil time as a count of seconds (the UTC epoch shifted by the zone's offset).
using LocalSeconds = std::chrono::sys_seconds;

class MeteredBudget {
 public:
  explicit MeteredBudget(const BudgetConfig& cfg) : cfg_(cfg) {}

  // Rolls over ended periods, then adds `bytes` to both periods.
  BudgetEvent add(uint64_t bytes, LocalSeconds now);
  // Rolls over without adding (a quiet uplink at midnight).
  BudgetEvent tick(LocalSeconds now) { return add(0, now); }

  uint64_t used(BudgetPeriod p) const { return p == BudgetPeriod::kDay ? day_.used : month_.used; }
  uint64_t limit(BudgetPeriod p) const {
    return p == BudgetPeriod::kDay ? cfg_.dayBytes : cfg_.monthBytes;
  }
  // Used over limit for the period, 0 without a limit.
  double ratio(BudgetPeriod p) const;
  // Some period with a limit is used up.
  bool exhausted() const;
  // The start (local midnight, as days since the epoch) of the current period.
  std::chrono::sys_days periodStart(BudgetPeriod p) const {
    return p == BudgetPeriod::kDay ? day_.start : month_.start;
  }
  const BudgetConfig& config() const { return cfg_; }
  // The plan changed under a running braidd (reload): the counts of the current periods
  // are kept (bytes already carried are billed), the new limits decide exhaustion at once,
  // and a crossing that already happened is not logged again. A new billing day moves the
  // month's start, the count going with it.
  void reconfigure(const BudgetConfig& cfg);

  // "day 2026-12-06 1234\nmonth 2026-12-01 56789\n". decode() takes the counts of periods
  // that are still current at `now` and ignores ended ones. It returns what is wrong with
  // malformed text (and changes nothing), or std::nullopt.
  std::string encode() const;
  std::optional<std::string> decode(std::string_view text, LocalSeconds now);

  // The period containing local day `d` (exposed for tests).
  static std::chrono::sys_days monthStart(std::chrono::sys_days d, unsigned resetDay);

 private:
  struct Period {
    std::chrono::sys_days start{};
    uint64_t used = 0;
    bool warned = false;
    bool exhausted = false;
    bool started = false;
  };
  bool roll(LocalSeconds now);
  BudgetEvent account(Period& p, uint64_t limit);

  BudgetConfig cfg_;
  Period day_, month_;
};

}  // namespace braid::policy
