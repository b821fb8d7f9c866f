// Inbound ESP SPIs (RFC 4303 2.1: the receiver picks them; >= 256). A site demultiplexes
// inbound ESP by SPI whatever uplink it arrived on, so one SPI space is shared by every
// uplink's SaManager and by the manually keyed SAs: edge gives all of them one SpiRegistry.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_set>

#include "ipsec/ike/events.hpp"

namespace braid::ike {

class SpiAllocator {
 public:
  virtual ~SpiAllocator() = default;
  // A fresh SPI (>= 256) nobody sharing this allocator uses, drawn from `random`; 0 only if
  // the whole space is taken.
  virtual uint32_t allocate(Random& random) = 0;
  virtual void release(uint32_t spi) = 0;
  // A fixed SPI (manual keying); false if it is below 256 or taken.
  virtual bool reserve(uint32_t spi) = 0;
  virtual bool inUse(uint32_t spi) const = 0;
};

class SpiRegistry final : public SpiAllocator {
 public:
  uint32_t allocate(Random& random) override;
  void release(uint32_t spi) override;
  bool reserve(uint32_t spi) override;
  bool inUse(uint32_t spi) const override;
  size_t size() const;
  // Random draws that hit an SPI in use (each was drawn again).
  uint64_t collisions() const;

 private:
  mutable std::mutex mutex_;  // SaManagers of several threads may share one registry
  std::unordered_set<uint32_t> used_;
  uint64_t collisions_ = 0;
};

}  // namespace braid::ike
