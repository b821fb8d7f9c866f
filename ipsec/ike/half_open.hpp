// The responder's half-open IKE SAs (RFC 7296 2.6, RFC 8019 4): SAs created by an
// IKE_SA_INIT that have not completed IKE_AUTH, i.e. that nobody authenticated yet. Indexed
// by our SPI, by (SPIi, initiator address) so a retransmitted IKE_SA_INIT finds its SA
// (RFC 7296 2.1), by source address for the per-source cap, and by age for expiry. Every
// index holds one item per entry, so the SaManager's cap bounds them all.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/ip.hpp"

namespace braid::ike {

class HalfOpenTable {
 public:
  void add(uint64_t ourSpi, uint64_t spiI, const IpAddress& source, TimePoint now);
  // No-op for an SPI that is not half-open.
  void remove(uint64_t ourSpi);
  bool contains(uint64_t ourSpi) const { return bySpi_.count(ourSpi) != 0; }
  std::optional<uint64_t> find(uint64_t spiI, const IpAddress& source) const;
  size_t size() const { return bySpi_.size(); }
  size_t countFor(const IpAddress& source) const;
  size_t sources() const { return perSource_.size(); }
  // Creation time of the oldest entry.
  std::optional<TimePoint> oldest() const;
  // Our SPIs of the entries created at or before `cutoff`, oldest first.
  std::vector<uint64_t> createdBefore(TimePoint cutoff) const;

 private:
  struct Entry {
    uint64_t spiI;
    IpAddress source;
    TimePoint created;
  };
  std::unordered_map<uint64_t, Entry> bySpi_;
  std::map<std::pair<uint64_t, IpAddress>, uint64_t> byInit_;
  std::map<IpAddress, size_t> perSource_;
  std::set<std::pair<TimePoint, uint64_t>> byAge_;
};

}  // namespace braid::ike
