#include "deploy/lab/wanem/scenario.hpp"

#include <algorithm>

#include "deploy/lab/wanem/params.hpp"

namespace braid::wanem {
namespace {

bool isSettingName(std::string_view w) {
  const auto& names = settingNames();
  return std::find(names.begin(), names.end(), w) != names.end();
}

}  // namespace

Status normaliseActionWords(const std::vector<std::string>& words, std::vector<std::string>& tokens,
                            std::optional<Duration>& revertAfter) {
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    auto needArg = [&](std::string_view what) -> Status {
      if (i + 1 >= words.size()) {
        return errorStatus(ErrorCode::kInvalidArgument, "'" + w + "' needs " + std::string(what));
      }
      return Status::ok();
    };
    if (w == "for" || w == "blackout") {
      if (Status st = needArg("a duration"); !st) return st;
      Duration d;
      if (!parseDuration(words[i + 1], d) || d <= Duration::zero()) {
        return errorStatus(ErrorCode::kInvalidArgument, "bad duration '" + words[i + 1] + "'");
      }
      if (revertAfter) {
        return errorStatus(ErrorCode::kInvalidArgument, "more than one 'for'/'blackout'");
      }
      revertAfter = d;
      if (w == "blackout") tokens.emplace_back("down");
      ++i;
    } else if (w == "down" || w == "up" || w == "reset" || w.find('=') != std::string::npos) {
      tokens.push_back(w);
    } else if (isSettingName(w)) {
      if (Status st = needArg("a value"); !st) return st;
      tokens.push_back(w + "=" + words[i + 1]);
      ++i;
    } else {
      return errorStatus(ErrorCode::kInvalidArgument, "unknown word '" + w + "'");
    }
  }
  if (tokens.empty()) return errorStatus(ErrorCode::kInvalidArgument, "no change given");
  // Validate values now, so a bad file fails before anything runs.
  LinkParams scratch;
  std::vector<std::string> plain;
  for (const auto& t : tokens) {
    if (t != "reset") plain.push_back(t);
  }
  return applyTokens(scratch, plain);
}

Result<std::vector<ScenarioEvent>> parseScenario(std::string_view text, std::string_view name) {
  std::vector<ScenarioEvent> events;
  Duration previous{0};
  int lineNo = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? text.npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    ++lineNo;
    if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    auto fail = [&](const std::string& msg) -> Status {
      return errorStatus(ErrorCode::kParseError,
                         std::string(name) + ":" + std::to_string(lineNo) + ": " + msg);
    };
    size_t start = 0;
    std::optional<Duration> lineTime;  // later parts of a line may omit t=
    while (start <= line.size()) {
      size_t semi = line.find(';', start);
      std::string_view part = line.substr(start, semi == line.npos ? line.npos : semi - start);
      start = semi == line.npos ? line.size() + 1 : semi + 1;
      std::vector<std::string> words = splitWords(part);
      if (words.empty()) continue;
      Duration at;
      if (words[0].starts_with("t=")) {
        std::string_view when = std::string_view(words[0]).substr(2);
        bool relative = when.starts_with('+');
        if (relative) when.remove_prefix(1);
        if (!parseDuration(when, at) || at < Duration::zero()) {
          return fail("bad time '" + words[0] + "' (like t=5s, t=1500ms, t=+2s)");
        }
        if (relative) at += previous;
        words.erase(words.begin());
      } else if (lineTime) {
        at = *lineTime;
      } else {
        return fail("an event starts with t=<time>");
      }
      lineTime = at;
      if (words.size() < 2) return fail("expected: t=<time> <link>[:ab|:ba] <change...>");
      ScenarioEvent ev;
      ev.at = at;
      ev.target = words[0];
      ev.line = lineNo;
      std::vector<std::string> action(words.begin() + 1, words.end());
      if (Status st = normaliseActionWords(action, ev.tokens, ev.revertAfter); !st) {
        return fail(st.message());
      }
      previous = at;
      events.push_back(std::move(ev));
    }
  }
  // Stable: events at the same time run in file order.
  std::stable_sort(events.begin(), events.end(),
                   [](const ScenarioEvent& a, const ScenarioEvent& b) { return a.at < b.at; });
  return events;
}

}  // namespace braid::wanem
