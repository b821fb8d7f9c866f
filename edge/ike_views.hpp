// What the IKE driver shows, read from its state on the Asio thread: the stats file's
// lines, the scrape endpoint's values, braidctl sas and the paths' last peer message.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "edge/control_commands.hpp"
#include "edge/ike_driver.hpp"
#include "edge/ike_state.hpp"

namespace braid::edge {

class IkeViews {
 public:
  IkeViews(const IkeState& state, const Clock& clock) : state_(state), clock_(clock) {}

  IkeStats stats() const;
  // "name value" lines for the stats file (docs/configuration.md "IKE counters").
  std::string formatStats(const IkeStats& stats) const;
  std::vector<ControlIkeSa> describeSas(std::string_view path) const;
  TimePoint lastPeerMessage(size_t path) const;
  // Its last authenticated response to one of our requests (both directions work).
  TimePoint lastPeerResponse(size_t path) const;

 private:
  const ike::IkeSa* saOf(size_t path) const;
  const IkeState& state_;
  const Clock& clock_;
};

}  // namespace braid::edge
