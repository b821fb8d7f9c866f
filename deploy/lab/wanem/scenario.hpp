// Scenario files: a timeline of link changes, one or more events per line (separated by ';'):
//
//   # comment
//   t=5s   fiber blackout 3s            # down at 5 s, up again at 8 s
//   t=12s  lte loss 10% for 5s          # "key value" or key=value; reverted after 5 s
//   t=+2s  fiber:ab delay=40ms jitter=5ms
//   t=30s  all reset                    # back to the start-up profile
//
// t= is the offset from the scenario start ("t=+D" is relative to the previous event); an
// event after ';' without its own t= happens at the same time as the one before it.
// "for D" restores, after D, the keys this event changed to the values they had just before
// it. A target is a link, "link:ab" / "link:ba" for one direction, or "all".
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"

namespace braid::wanem {

struct ScenarioEvent {
  Duration at{0};
  std::string target;
  std::vector<std::string> tokens;  // "key=value", "down", "up", "reset"
  std::optional<Duration> revertAfter;
  int line = 0;
};

// Errors are "<name>:<line>: message".
Result<std::vector<ScenarioEvent>> parseScenario(std::string_view text,
                                                 std::string_view name = "scenario");

// Turns "loss 10%", "blackout 3s", "for 5s" and key=value words into an event's tokens and
// revert time. Shared with the control socket's "set" so both accept the same words.
Status normaliseActionWords(const std::vector<std::string>& words, std::vector<std::string>& tokens,
                            std::optional<Duration>& revertAfter);

}  // namespace braid::wanem
