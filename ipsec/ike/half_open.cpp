#include "ipsec/ike/half_open.hpp"

namespace braid::ike {

void HalfOpenTable::add(uint64_t ourSpi, uint64_t spiI, const IpAddress& source, TimePoint now) {
  remove(ourSpi);
  bySpi_.emplace(ourSpi, Entry{spiI, source, now});
  byInit_[{spiI, source}] = ourSpi;
  ++perSource_[source];
  byAge_.emplace(now, ourSpi);
}

void HalfOpenTable::remove(uint64_t ourSpi) {
  auto it = bySpi_.find(ourSpi);
  if (it == bySpi_.end()) return;
  const Entry& e = it->second;
  if (auto i = byInit_.find({e.spiI, e.source}); i != byInit_.end() && i->second == ourSpi) {
    byInit_.erase(i);
  }
  if (auto s = perSource_.find(e.source); s != perSource_.end() && --s->second == 0) {
    perSource_.erase(s);
  }
  byAge_.erase({e.created, ourSpi});
  bySpi_.erase(it);
}

std::optional<uint64_t> HalfOpenTable::find(uint64_t spiI, const IpAddress& source) const {
  auto it = byInit_.find({spiI, source});
  if (it == byInit_.end()) return std::nullopt;
  return it->second;
}

size_t HalfOpenTable::countFor(const IpAddress& source) const {
  auto it = perSource_.find(source);
  return it == perSource_.end() ? 0 : it->second;
}

std::optional<TimePoint> HalfOpenTable::oldest() const {
  if (byAge_.empty()) return std::nullopt;
  return byAge_.begin()->first;
}

std::vector<uint64_t> HalfOpenTable::createdBefore(TimePoint cutoff) const {
  std::vector<uint64_t> out;
  for (const auto& [t, spi] : byAge_) {
    if (t > cutoff) break;
    out.push_back(spi);
  }
  return out;
}

}  // namespace braid::ike
