// Settings of one direction of one emulated WAN link, and their text form ("delay=40ms
// jitter=5ms loss=2%") shared by the control socket, the profile file and scenario files.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"

namespace braid::wanem {

// Jitter J is the largest deviation from `delay`: uniform draws from [-J, +J]; normal draws
// from N(0, (J/2)^2) truncated to [-J, +J] (resampled), so both honour "delay +- J".
enum class JitterDist : uint8_t { kUniform, kNormal };

// Gilbert-Elliott two-state loss model: per packet, Good->Bad with probability p,
// Bad->Good with probability r; a packet is lost with lossGood / lossBad in that state.
struct GilbertElliott {
  bool enabled = false;
  double p = 0.0;
  double r = 1.0;
  double lossGood = 0.0;
  double lossBad = 1.0;
  // Stationary loss rate p/(p+r)*lossBad + r/(p+r)*lossGood.
  double meanLoss() const;
  // Parameters for a mean loss `loss` in bursts of mean length `burstLen` packets
  // (lossGood=0, lossBad=1): r = 1/burstLen, p = loss*r/(1-loss).
  static GilbertElliott fromMeanLoss(double loss, double burstLen);
};

struct LinkParams {
  bool down = false;  // blackout: every packet dropped, in-flight ones flushed
  Duration delay{0};
  Duration jitter{0};
  JitterDist dist = JitterDist::kUniform;
  double loss = 0.0;  // independent random loss probability
  GilbertElliott ge;
  uint64_t rateBps = 0;        // token bucket rate in bit/s over IP bytes; 0 = unlimited
  uint32_t bucketBytes = 0;    // token bucket depth; 0 = max(2 * 1514, 1 ms at rate)
  uint32_t queueLimit = 1000;  // packets waiting for tokens; more is a tail drop
  double reorder = 0.0;        // probability that a packet skips the delay line
  double duplicate = 0.0;      // probability that a packet is sent twice
  uint32_t mtu = 0;            // largest IP packet forwarded; 0 = no limit

  uint32_t effectiveBucketBytes() const;
};

// Names accepted by applySetting/getSetting, in display order.
const std::vector<std::string_view>& settingNames();

// Sets one key from its text form. Units: durations "40ms", "0.5ms", "250us", "3s";
// probabilities in percent "2%" (the % is optional); rates "30mbit", "500kbit", "1gbit",
// "off"; "state=down|up"; "burst=1%:4" (mean loss : mean burst length) or "burst=off".
Status applySetting(LinkParams& p, std::string_view key, std::string_view value);
// Text form of one key, re-parseable by applySetting. Empty for unknown keys.
std::string getSetting(const LinkParams& p, std::string_view key);
// Applies tokens "key=value", "down", "up". Stops at the first bad token; `p` is only
// changed if all tokens are good. Keys changed are appended to `changed` if given.
Status applyTokens(LinkParams& p, const std::vector<std::string>& tokens,
                   std::vector<std::string>* changed = nullptr);
// "state=up delay=4ms jitter=0.5ms dist=uniform loss=0% burst=off rate=500mbit ..."
std::string formatParams(const LinkParams& p);

// Unit parsers, exposed for scenario files and tests.
bool parseDuration(std::string_view text, Duration& out);
bool parsePercent(std::string_view text, double& out);  // "2%" -> 0.02
bool parseRate(std::string_view text, uint64_t& bps);
bool parseUint(std::string_view text, uint64_t& out);
std::string formatDuration(Duration d);
std::string formatPercent(double probability);
std::string formatRate(uint64_t bps);

std::vector<std::string> splitWords(std::string_view line);

}  // namespace braid::wanem
