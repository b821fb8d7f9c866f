#include "edge/budgets.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "core/log.hpp"

namespace braid::edge {
namespace {

// Sampling period: a used-up budget is noticed this late (the overshoot is what the uplink
// carries meanwhile); reading the counters is a few relaxed loads.
constexpr auto kSamplePeriod = std::chrono::milliseconds(200);
constexpr unsigned kSaveEveryTicks = 300;  // one minute: what a crash can lose
constexpr size_t kMaxStateFile = 4096;

std::string mb(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MB", double(bytes) / 1e6);
  return buf;
}

}  // namespace

policy::LocalSeconds localNow() {
  const std::time_t t = std::time(nullptr);
  std::tm lt{};
  localtime_r(&t, &lt);
  return policy::LocalSeconds{std::chrono::seconds{int64_t(t) + lt.tm_gmtoff}};
}

std::string UplinkBudgets::statePath(const std::string& directory, const std::string& name) {
  std::string safe = name;
  for (char& ch : safe) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.';
    if (!ok) ch = '_';
  }
  return directory + "/budget-" + safe;
}

Result<std::unique_ptr<UplinkBudgets>> UplinkBudgets::open(const Config& cfg,
                                                           const std::vector<PathSpec>& paths,
                                                           policy::LocalSeconds now) {
  std::unique_ptr<UplinkBudgets> b(new UplinkBudgets());
  for (size_t i = 0; i < cfg.uplinks.size(); ++i) {
    const UplinkConfig& uc = cfg.uplinks[i];
    if (!uc.budget.enabled()) continue;
    Uplink u;
    u.index = i;
    u.name = uc.name;
    u.file = statePath(cfg.state.directory, uc.name);
    u.whenExhausted = uc.budgetExhausted;
    for (size_t p = 0; p < paths.size(); ++p) {
      if (paths[p].uplink == i) u.paths.push_back(p);
    }
    u.lastTx.assign(u.paths.size(), 0);
    u.lastRx.assign(u.paths.size(), 0);
    u.budget = std::make_unique<policy::MeteredBudget>(uc.budget);
    std::ifstream in(u.file);
    if (in) {
      std::string text(kMaxStateFile + 1, '\0');
      in.read(text.data(), std::streamsize(text.size()));
      text.resize(size_t(in.gcount()));
      std::optional<std::string> bad = text.size() > kMaxStateFile
                                           ? std::optional<std::string>("larger than 4 KiB")
                                           : u.budget->decode(text, now);
      if (bad) {
        BRAID_LOG(kWarn, "budget") << "uplink " << u.name << ": " << u.file << ": " << *bad
                                   << "; counting this period from zero";
        (void)u.budget->tick(now);
      }
    } else {
      (void)u.budget->tick(now);
    }
    std::error_code ec;
    std::filesystem::create_directories(cfg.state.directory, ec);
    if (Status s = b->save(u); !s) {
      return errorStatus(s.code(), "state.directory: uplink " + u.name + " budget: " + s.message() +
                                       "; expected a writable directory");
    }
    BRAID_LOG(kInfo, "budget") << "uplink " << u.name << ": budget used "
                               << mb(u.budget->used(policy::BudgetPeriod::kDay)) << " today, "
                               << mb(u.budget->used(policy::BudgetPeriod::kMonth))
                               << " this month (" << u.file << ")";
    b->uplinks_.push_back(std::move(u));
  }
  return b;
}

UplinkBudgets::~UplinkBudgets() {
  if (timer_) timer_->cancel();
}

Status UplinkBudgets::save(Uplink& u) {
  const std::string tmp = u.file + ".tmp";
  const std::string text = u.budget->encode();
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errorStatus(ErrorCode::kIoError, tmp + ": " + std::strerror(errno));
  const bool ok = ::write(fd, text.data(), text.size()) == ssize_t(text.size());
  const int err = errno;
  ::close(fd);
  if (!ok || std::rename(tmp.c_str(), u.file.c_str()) != 0) {
    return errorStatus(ErrorCode::kIoError, u.file + ": " + std::strerror(ok ? errno : err));
  }
  u.dirty = false;
  return {};
}

void UplinkBudgets::applyState(Uplink& u) {
  const policy::BudgetUse use = u.budget->exhausted() ? u.whenExhausted : policy::BudgetUse::kOk;
  if (use == u.applied) return;
  u.applied = use;
  if (apply_) apply_(u.index, use);
}

std::vector<std::string> UplinkBudgets::reconfigure(const Config& next) {
  std::vector<std::string> needRestart;
  for (size_t i = 0; i < next.uplinks.size(); ++i) {
    const UplinkConfig& uc = next.uplinks[i];
    Uplink* u = nullptr;
    for (Uplink& x : uplinks_) {
      if (x.index == i) u = &x;
    }
    if (u == nullptr) {
      if (uc.budget.enabled()) needRestart.push_back(uc.name);
      continue;
    }
    const policy::BudgetConfig& was = u->budget->config();
    if (was.dayBytes == uc.budget.dayBytes && was.monthBytes == uc.budget.monthBytes &&
        was.resetDay == uc.budget.resetDay && was.warnPercent == uc.budget.warnPercent &&
        u->whenExhausted == uc.budgetExhausted) {
      continue;
    }
    u->budget->reconfigure(uc.budget);
    u->whenExhausted = uc.budgetExhausted;
    u->dirty = true;
    std::string limits;
    for (auto p : {policy::BudgetPeriod::kDay, policy::BudgetPeriod::kMonth}) {
      limits += std::string(limits.empty() ? "" : ", ") +
                (p == policy::BudgetPeriod::kDay ? "day " : "month ") + mb(u->budget->used(p)) +
                " of " + (u->budget->limit(p) ? mb(u->budget->limit(p)) : "no limit");
    }
    BRAID_LOG(kInfo, "budget") << "uplink " << u->name << ": budget changed (" << limits << ")"
                               << (u->budget->exhausted() ? "; used up" : "");
    applyState(*u);
  }
  return needRestart;
}

void UplinkBudgets::start(boost::asio::io_context& io, const PathActivity& activity, Apply apply) {
  apply_ = std::move(apply);
  activity_ = &activity;
  for (Uplink& u : uplinks_) {
    for (size_t k = 0; k < u.paths.size(); ++k) {
      u.lastTx[k] = activity.txWireBytes[u.paths[k]].load(std::memory_order_relaxed);
      u.lastRx[k] = activity.rxWireBytes[u.paths[k]].load(std::memory_order_relaxed);
    }
    if (u.budget->exhausted()) {
      BRAID_LOG(kWarn, "budget") << "uplink " << u.name << ": budget used up this period; "
                                 << (u.whenExhausted == policy::BudgetUse::kBlocked
                                         ? "no traffic until the next period"
                                         : "a last resort only");
    }
    applyState(u);
  }
  if (uplinks_.empty()) return;
  timer_ = std::make_unique<boost::asio::steady_timer>(io);
  arm();
}

void UplinkBudgets::arm() {
  timer_->expires_after(kSamplePeriod);
  timer_->async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    sample(*activity_, localNow());
    arm();
  });
}

void UplinkBudgets::stop() {
  if (timer_) timer_->cancel();
  if (activity_ != nullptr) sample(*activity_, localNow());
  for (Uplink& u : uplinks_) {
    if (Status s = save(u); !s) {
      BRAID_LOG(kError, "budget") << s.message();
    }
  }
}

void UplinkBudgets::sample(const PathActivity& activity, policy::LocalSeconds now) {
  ++ticks_;
  for (Uplink& u : uplinks_) {
    uint64_t bytes = 0;
    for (size_t k = 0; k < u.paths.size(); ++k) {
      const uint64_t tx = activity.txWireBytes[u.paths[k]].load(std::memory_order_relaxed);
      const uint64_t rx = activity.rxWireBytes[u.paths[k]].load(std::memory_order_relaxed);
      bytes += (tx - u.lastTx[k]) + (rx - u.lastRx[k]);
      u.lastTx[k] = tx;
      u.lastRx[k] = rx;
    }
    const policy::BudgetEvent ev = u.budget->add(bytes, now);
    u.dirty |= bytes != 0 || ev != policy::BudgetEvent::kNone;
    auto figures = [&] {
      std::string s;
      for (auto p : {policy::BudgetPeriod::kDay, policy::BudgetPeriod::kMonth}) {
        if (u.budget->limit(p) == 0) continue;
        s += std::string(s.empty() ? "" : ", ") +
             (p == policy::BudgetPeriod::kDay ? "day " : "month ") + mb(u.budget->used(p)) +
             " of " + mb(u.budget->limit(p));
      }
      return s;
    };
    switch (ev) {
      case policy::BudgetEvent::kNone:
        break;
      case policy::BudgetEvent::kNewPeriod:
        BRAID_LOG(kInfo, "budget")
            << "uplink " << u.name << ": new budget period (" << figures() << ")";
        break;
      case policy::BudgetEvent::kWarn:
        BRAID_LOG(kWarn, "budget")
            << "uplink " << u.name << ": metered budget " << u.budget->config().warnPercent
            << " % used (" << figures() << ")";
        break;
      case policy::BudgetEvent::kExhausted:
        BRAID_LOG(kWarn, "budget")
            << "uplink " << u.name << ": metered budget used up (" << figures() << "); "
            << (u.whenExhausted == policy::BudgetUse::kBlocked
                    ? "no more traffic on it until the next period"
                    : "it is a last resort for every class until the "
                      "next period");
        break;
    }
    applyState(u);
    if (u.dirty && (ev != policy::BudgetEvent::kNone || ticks_ % kSaveEveryTicks == 0)) {
      if (Status s = save(u); !s) {
        if (!u.saveFailed) {
          BRAID_LOG(kError, "budget") << "cannot save: " << s.message();
        }
        u.saveFailed = true;
      } else {
        u.saveFailed = false;
      }
    }
  }
}

std::vector<UplinkBudgetStats> UplinkBudgets::stats() const {
  std::vector<UplinkBudgetStats> out;
  for (const Uplink& u : uplinks_) {
    UplinkBudgetStats s;
    s.uplink = u.name;
    s.dayUsed = u.budget->used(policy::BudgetPeriod::kDay);
    s.dayLimit = u.budget->limit(policy::BudgetPeriod::kDay);
    s.monthUsed = u.budget->used(policy::BudgetPeriod::kMonth);
    s.monthLimit = u.budget->limit(policy::BudgetPeriod::kMonth);
    s.exhausted = u.budget->exhausted();
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace braid::edge
