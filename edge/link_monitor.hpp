// LinkMonitor: rtnetlink link and address events for the uplinks (RFC 3549's netlink, the
// kernel's RTNLGRP_LINK and RTNLGRP_IPV4/6_IFADDR groups). A carrier loss, an interface
// taken down, or the uplink's local address removed marks every path of that uplink down
// at once (pathmon's kLinkDown) instead of waiting for missed probes; the path comes back
// through probing when the link and the address are there again.
//
// The parsing (LinkEventParser) is pure: bytes in, uplink states out, unit-tested without
// sockets. The monitor owns a NETLINK_ROUTE socket read on the control (Asio) thread.
#pragma once

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "core/bytes.hpp"
#include "core/ip.hpp"
#include "core/result.hpp"

namespace braid::edge {

// Tracks, per uplink, the interface that holds its local address, whether that interface
// is up with carrier, and whether the address is still configured.
class LinkEventParser {
 public:
  explicit LinkEventParser(std::vector<IpAddress> uplinkAddresses);

  // One or more netlink messages (a recv() buffer). Calls changed(uplink, usable) for each
  // uplink whose usability changed. Malformed input is ignored (counted).
  void feed(Bytes buffer, const std::function<void(size_t uplink, bool usable)>& changed);

  // Renumbering (UplinkConfig::followAddress): the uplink follows its interface. When its
  // address goes and the interface has another of the same family (global scope, not
  // tentative/deprecated), or gets one while the uplink has none, the uplink takes it and
  // moved(uplink, address) is called before any usability change (none if it stays usable).
  using Moved = std::function<void(size_t uplink, const IpAddress& address)>;
  void follow(size_t uplink) { state_[uplink].follow = true; }
  void setMovedHandler(Moved moved) { moved_ = std::move(moved); }
  const IpAddress& address(size_t uplink) const { return state_[uplink].address; }

  size_t size() const { return state_.size(); }
  bool usable(size_t uplink) const { return state_[uplink].usable(); }
  int ifindex(size_t uplink) const { return state_[uplink].ifindex; }
  uint64_t malformed() const { return malformed_; }

 private:
  struct Uplink {
    IpAddress address;
    int ifindex = 0;  // 0: not known yet (no RTM_NEWADDR seen)
    bool hasAddress = false;
    bool linkUp = true;  // until an RTM_NEWLINK says otherwise
    bool follow = false;
    std::vector<IpAddress> others;  // follow: the interface's other addresses of the family
    bool usable() const { return hasAddress && linkUp; }
  };
  void onLink(const uint8_t* msg, size_t len, uint16_t type,
              const std::function<void(size_t, bool)>& changed);
  void onAddress(const uint8_t* msg, size_t len, uint16_t type,
                 const std::function<void(size_t, bool)>& changed);
  std::vector<Uplink> state_;
  Moved moved_;
  uint64_t malformed_ = 0;
};

class LinkMonitor {
 public:
  using Handler = std::function<void(size_t uplink, bool usable)>;
  // Subscribes, then dumps the current addresses and links (their events fill the parser).
  // `follow`: the uplinks that follow their interface's address (moved() as above).
  static Result<std::unique_ptr<LinkMonitor>> open(boost::asio::io_context& io,
                                                   std::vector<IpAddress> uplinkAddresses,
                                                   Handler handler,
                                                   const std::vector<bool>& follow = {},
                                                   LinkEventParser::Moved moved = {});
  ~LinkMonitor();
  const LinkEventParser& parser() const { return parser_; }

 private:
  LinkMonitor(boost::asio::io_context& io, int fd, std::vector<IpAddress> addrs, Handler h);
  void read();
  Status dump(uint16_t type, uint8_t family);
  void drain(bool notify);

  boost::asio::posix::stream_descriptor sock_;
  LinkEventParser parser_;
  Handler handler_;
  std::array<uint8_t, 16384> buf_{};
  uint32_t seq_ = 1;
};

}  // namespace braid::edge
