// Interface, address and route changes through rtnetlink (libnl-route-3), never by running
// `ip`. OverlaySetup undoes everything it did, in reverse, when destroyed.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/ip.hpp"
#include "core/result.hpp"

struct nl_sock;

namespace braid::edge {

class Netlink {
 public:
  static Result<std::unique_ptr<Netlink>> connect();
  ~Netlink();

  Result<int> ifindex(const std::string& name);
  Status setMtuUp(int ifindex, uint32_t mtu, bool up);
  // IPv6 address generation mode "none" (no link-local address on the device).
  Status disableLinkLocal(int ifindex);
  Status addAddress(int ifindex, const IpAddress& addr, uint8_t prefixLength);
  Status addRoute(int ifindex, const IpPrefix& dst, const std::optional<IpAddress>& src);
  Status deleteRoute(int ifindex, const IpPrefix& dst);

 private:
  explicit Netlink(nl_sock* s) : sock_(s) {}
  nl_sock* sock_;
};

// Brings the overlay device up and routes the remote subnets through it.
class OverlaySetup {
 public:
  explicit OverlaySetup(Netlink& nl) : nl_(nl) {}
  ~OverlaySetup() { undo(); }
  OverlaySetup(const OverlaySetup&) = delete;
  OverlaySetup& operator=(const OverlaySetup&) = delete;

  Status configure(const std::string& device, uint32_t mtu, const std::optional<IpAddress>& addr,
                   uint8_t prefixLength, const std::vector<IpPrefix>& routes);
  // Removes the routes and takes the device down; idempotent.
  void undo();

 private:
  Netlink& nl_;
  int ifindex_ = 0;
  bool upped_ = false;
  std::vector<IpPrefix> routes_;
};

}  // namespace braid::edge
