// Virtual IP pools for remote-access clients (RFC 7296 2.19, 3.15): pure bookkeeping, no I/O.
// A lease belongs to an identity. Releasing it (the client's IKE SA ended) leaves the address
// reserved for that identity ("offline"), so a client that reconnects gets its address back;
// an offline address is reused for another identity only when the pool has never-used
// addresses no more, oldest release first. The same identity connected twice shares one
// address (the count of holders drops to zero before it goes offline).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/ip.hpp"
#include "core/result.hpp"

namespace braid::ike {

class AddressPool {
 public:
  // At most this many addresses per pool (a /64 pool is usable; only its first 2^24 hosts).
  static constexpr uint64_t kMaxSize = 1u << 24;

  // The usable hosts of `range`: not its first address (the network), nor for IPv4 its last
  // (broadcast), unless the prefix is /31 or longer.
  static Result<AddressPool> create(std::string name, const IpPrefix& range);

  const std::string& name() const { return name_; }
  const IpPrefix& range() const { return range_; }
  IpFamily family() const { return range_.family(); }
  uint64_t size() const { return size_; }
  size_t online() const { return online_; }  // addresses with at least one holder
  size_t offline() const { return offline_.size(); }
  bool contains(const IpAddress& a) const;

  // The identity's address (the one it had, if still reserved for it), or nullopt when the
  // pool is exhausted (RFC 7296 3.10.1 INTERNAL_ADDRESS_FAILURE).
  std::optional<IpAddress> acquire(const std::string& identity);
  // One holder of `identity`'s address gives it up; false if it holds none.
  bool release(const std::string& identity);
  // The identity's address, online or offline (stats, tests).
  std::optional<IpAddress> addressOf(const std::string& identity) const;

 private:
  AddressPool(std::string name, const IpPrefix& range, uint64_t firstOffset, uint64_t size);
  IpAddress at(uint64_t index) const;

  struct Lease {
    uint64_t index = 0;
    uint32_t holders = 0;
    uint64_t releasedSeq = 0;  // order of going offline
  };
  std::string name_;
  IpPrefix range_;
  uint64_t firstOffset_ = 0;  // offset of index 0 from the range's first address
  uint64_t size_ = 0;
  uint64_t next_ = 0;  // indices below were handed out at least once
  size_t online_ = 0;
  uint64_t seq_ = 0;
  std::unordered_map<std::string, Lease> leases_;
  // Offline leases by release order -> identity (the oldest is reclaimed first).
  std::map<uint64_t, std::string> offline_;
};

// A held address: releases it when destroyed (the IKE SA that holds it ended). Shared by
// an IKE SA and the IKE SA that replaces it by a rekey (RFC 7296 1.3.2).
class AddressLease {
 public:
  AddressLease(std::shared_ptr<AddressPool> pool, std::string identity, IpAddress address)
      : pool_(std::move(pool)), identity_(std::move(identity)), address_(address) {}
  ~AddressLease() {
    if (pool_) pool_->release(identity_);
  }
  AddressLease(const AddressLease&) = delete;
  AddressLease& operator=(const AddressLease&) = delete;
  const IpAddress& address() const { return address_; }
  const std::string& identity() const { return identity_; }

 private:
  std::shared_ptr<AddressPool> pool_;
  std::string identity_;
  IpAddress address_;
};

}  // namespace braid::ike
