#include "deploy/lab/wanem/links.hpp"

#include <algorithm>
#include <sstream>

namespace braid::wanem {
namespace {

std::string err(const Status& st) {
  return "ERR " + st.message() + "\n";
}

uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

const char* kHelp =
    "commands:\n"
    "  set TARGET CHANGE...   TARGET = link | link:ab | link:ba | all; CHANGE = down | up |\n"
    "                         reset | key=value | key value | dir=ab|ba | for DURATION |\n"
    "                         blackout DURATION\n"
    "  show [TARGET]          settings and counters\n"
    "  get LINK:DIR NAME      one counter or setting\n"
    "  run                    scenario text follows on the next lines\n"
    "  stop                   stop the running scenario\n"
    "  links | seed | ping | help\n";

}  // namespace

uint64_t Counters::drops() const {
  return dropDown + dropMtu + dropLoss + dropBurst + dropQueue + dropNoBuf + dropTooLong + dropTx;
}

const std::vector<CounterField>& counterFields() {
  static const std::vector<CounterField> kFields = {
      {"rx", &Counters::rx},
      {"rx_bytes", &Counters::rxBytes},
      {"fwd", &Counters::fwd},
      {"fwd_bytes", &Counters::fwdBytes},
      {"dup", &Counters::dup},
      {"reordered", &Counters::reordered},
      {"queued", &Counters::rateQueued},
      {"held", &Counters::held},
      {"drop_down", &Counters::dropDown},
      {"drop_mtu", &Counters::dropMtu},
      {"drop_loss", &Counters::dropLoss},
      {"drop_burst", &Counters::dropBurst},
      {"drop_queue", &Counters::dropQueue},
      {"drop_nobuf", &Counters::dropNoBuf},
      {"drop_toolong", &Counters::dropTooLong},
      {"drop_tx", &Counters::dropTx},
  };
  return kFields;
}

uint64_t directionSeed(uint64_t runSeed, size_t linkIndex, int dir) {
  return mix(runSeed ^ mix(linkIndex * 2 + static_cast<uint64_t>(dir) + 1));
}

Direction::Direction(std::string link, std::string dir, std::string inIf, std::string outIf,
                     uint64_t seed)
    : link_(std::move(link)),
      dir_(std::move(dir)),
      inIf_(std::move(inIf)),
      outIf_(std::move(outIf)),
      seed_(seed) {}

LinkParams Direction::params() const {
  std::lock_guard lock(mu_);
  return params_;
}

void Direction::setBaseline(const LinkParams& p) {
  std::lock_guard lock(mu_);
  params_ = p;
  baseline_ = p;
  version_.fetch_add(1, std::memory_order_release);
}

Status Direction::apply(const std::vector<std::string>& tokens, std::vector<std::string>* undo) {
  std::lock_guard lock(mu_);
  LinkParams next = params_;
  std::vector<std::string> plain, changed;
  for (const auto& t : tokens) {
    if (t == "reset") {
      next = baseline_;
      for (auto name : settingNames()) changed.emplace_back(name);
    } else {
      plain.push_back(t);
    }
  }
  if (Status st = applyTokens(next, plain, &changed); !st) return st;
  if (undo != nullptr) {
    // "burst" is restored last so that it wins over the raw ge_* keys it is made of.
    std::vector<std::string> seen;
    for (const auto& k : changed) {
      if (std::find(seen.begin(), seen.end(), k) != seen.end()) continue;
      seen.push_back(k);
    }
    std::stable_partition(seen.begin(), seen.end(),
                          [](const std::string& k) { return k != "burst"; });
    for (const auto& k : seen) {
      std::string old = getSetting(params_, k);
      if (k == "burst" && old == "custom") {
        for (auto g : {"ge_p", "ge_r", "ge_good", "ge_bad"}) {
          undo->push_back(std::string(g) + "=" + getSetting(params_, g));
        }
        continue;
      }
      undo->push_back(k + "=" + old);
    }
  }
  params_ = next;
  version_.fetch_add(1, std::memory_order_release);
  return Status::ok();
}

Controller::Controller(std::vector<std::unique_ptr<Link>>& links, uint64_t seed,
                       std::function<void()> notify)
    : links_(links), seed_(seed), notify_(std::move(notify)) {}

Status Controller::resolve(std::string_view target, std::vector<Direction*>& out) {
  std::string_view name = target, dir;
  if (auto colon = target.find(':'); colon != std::string_view::npos) {
    name = target.substr(0, colon);
    dir = target.substr(colon + 1);
    if (dir != "ab" && dir != "ba") {
      return errorStatus(ErrorCode::kInvalidArgument,
                         "direction must be ab or ba, got '" + std::string(dir) + "'");
    }
  }
  size_t before = out.size();
  for (auto& l : links_) {
    if (name != "all" && l->name != name) continue;
    if (dir.empty() || dir == "ab") out.push_back(l->ab.get());
    if (dir.empty() || dir == "ba") out.push_back(l->ba.get());
  }
  if (out.size() == before) {
    std::string known;
    for (auto& l : links_) known += " " + l->name;
    return errorStatus(ErrorCode::kNotFound,
                       "no link '" + std::string(name) + "' (links:" + known + ")");
  }
  return Status::ok();
}

Status Controller::applyNow(const std::vector<Direction*>& dirs,
                            const std::vector<std::string>& tokens,
                            std::optional<Duration> revertAfter, TimePoint now, bool scenario) {
  // Validate against every direction first so a change applies everywhere or nowhere.
  for (Direction* d : dirs) {
    LinkParams scratch = d->params();
    std::vector<std::string> plain;
    for (const auto& t : tokens) {
      if (t != "reset") plain.push_back(t);
    }
    if (Status st = applyTokens(scratch, plain); !st) return st;
  }
  for (Direction* d : dirs) {
    std::vector<std::string> undo;
    if (Status st = d->apply(tokens, revertAfter ? &undo : nullptr); !st) return st;
    if (revertAfter) {
      auto id = std::make_shared<TimerId>(kNoTimer);
      *id = timers_.schedule(now + *revertAfter, [this, d, undo, id, scenario] {
        (void)d->apply(undo, nullptr);
        if (scenario) std::erase(scenarioTimers_, *id);
        notify_();
      });
      if (scenario) scenarioTimers_.push_back(*id);
    }
  }
  notify_();
  return Status::ok();
}

Status Controller::set(std::string_view target, const std::vector<std::string>& words,
                       TimePoint now) {
  std::vector<std::string> rest;
  std::string dirFilter;
  for (const auto& w : words) {
    if (w.starts_with("dir="))
      dirFilter = w.substr(4);
    else
      rest.push_back(w);
  }
  std::string fullTarget(target);
  if (!dirFilter.empty()) {
    if (fullTarget.find(':') != std::string::npos) {
      return errorStatus(ErrorCode::kInvalidArgument, "give the direction once");
    }
    fullTarget += ":" + dirFilter;
  }
  std::vector<Direction*> dirs;
  if (Status st = resolve(fullTarget, dirs); !st) return st;
  std::vector<std::string> tokens;
  std::optional<Duration> revertAfter;
  if (Status st = normaliseActionWords(rest, tokens, revertAfter); !st) return st;
  return applyNow(dirs, tokens, revertAfter, now, false);
}

Status Controller::runScenario(std::vector<ScenarioEvent> events, TimePoint now) {
  for (const auto& ev : events) {
    std::vector<Direction*> dirs;
    if (Status st = resolve(ev.target, dirs); !st) {
      return errorStatus(st.code(), "line " + std::to_string(ev.line) + ": " + st.message());
    }
  }
  stopScenario();
  scenarioEvents_ = events.size();
  scenarioDone_ = 0;
  for (auto& ev : events) {
    auto id = std::make_shared<TimerId>(kNoTimer);
    // Reverts are timed from the event's scheduled time, so they keep the file's spacing.
    TimePoint at = now + ev.at;
    *id = timers_.schedule(at, [this, ev, id, at] {
      std::erase(scenarioTimers_, *id);
      ++scenarioDone_;
      std::vector<Direction*> dirs;
      if (!resolve(ev.target, dirs)) return;
      (void)applyNow(dirs, ev.tokens, ev.revertAfter, at, true);
    });
    scenarioTimers_.push_back(*id);
  }
  return Status::ok();
}

void Controller::stopScenario() {
  for (TimerId id : scenarioTimers_) timers_.cancel(id);
  scenarioTimers_.clear();
}

std::string Controller::show(std::string_view target) {
  std::vector<Direction*> dirs;
  if (Status st = resolve(target.empty() ? "all" : target, dirs); !st) return err(st);
  std::ostringstream out;
  out << "seed=" << seed_ << " scenario=";
  if (scenarioRunning()) {
    out << "running(" << scenarioDone_ << "/" << scenarioEvents_ << " events)";
  } else {
    out << "idle";
  }
  out << "\n";
  for (Direction* d : dirs) {
    out << d->label() << "  " << d->inIf() << " -> " << d->outIf() << "\n";
    out << "  set   " << formatParams(d->params()) << "\n";
    out << "  count";
    for (const auto& f : counterFields()) {
      out << " " << f.name << "=" << (d->counters.*(f.field)).load(std::memory_order_relaxed);
    }
    out << "\n";
  }
  return out.str();
}

std::string Controller::execute(std::string_view request, TimePoint now) {
  std::string_view first = request.substr(0, request.find('\n'));
  std::string_view rest =
      first.size() < request.size() ? request.substr(first.size() + 1) : std::string_view();
  std::vector<std::string> words = splitWords(first);
  if (words.empty()) return "ERR empty request\n";
  const std::string& cmd = words[0];
  if (cmd == "ping") return "pong\n";
  if (cmd == "help") return kHelp;
  if (cmd == "seed") return std::to_string(seed_) + "\n";
  if (cmd == "links") {
    std::string out;
    for (auto& l : links_) out += l->name + " " + l->ifA + " " + l->ifB + "\n";
    return out;
  }
  if (cmd == "show") return show(words.size() > 1 ? words[1] : "all");
  if (cmd == "set") {
    if (words.size() < 3) return "ERR usage: set TARGET CHANGE...\n";
    std::vector<std::string> change(words.begin() + 2, words.end());
    if (Status st = set(words[1], change, now); !st) return err(st);
    return show(words[1]);
  }
  if (cmd == "get") {
    if (words.size() != 3) return "ERR usage: get LINK:DIR NAME\n";
    std::vector<Direction*> dirs;
    if (Status st = resolve(words[1], dirs); !st) return err(st);
    if (dirs.size() != 1) return "ERR get needs one direction, like fiber:ab\n";
    for (const auto& f : counterFields()) {
      if (f.name == words[2]) {
        return std::to_string((dirs[0]->counters.*(f.field)).load(std::memory_order_relaxed)) +
               "\n";
      }
    }
    std::string v = getSetting(dirs[0]->params(), words[2]);
    if (v.empty()) return "ERR unknown counter or setting '" + words[2] + "'\n";
    return v + "\n";
  }
  if (cmd == "run") {
    auto events = parseScenario(rest, words.size() > 1 ? words[1] : "scenario");
    if (!events) return err(events.status());
    size_t n = events->size();
    Duration last = n ? events->back().at : Duration::zero();
    if (Status st = runScenario(std::move(*events), now); !st) return err(st);
    return "scenario started: " + std::to_string(n) + " events, last at " + formatDuration(last) +
           "\n";
  }
  if (cmd == "stop") {
    bool was = scenarioRunning();
    stopScenario();
    return was ? "scenario stopped\n" : "no scenario running\n";
  }
  return "ERR unknown command '" + cmd + "' (try help)\n";
}

}  // namespace braid::wanem
