#include "edge/netlink.hpp"

#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <netlink/addr.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/inet6.h>
#include <netlink/route/route.h>
#include <sys/socket.h>

#include "core/log.hpp"

namespace braid::edge {
namespace {

std::string nlError(int err) {
  return nl_geterror(err);
}

int family(const IpAddress& a) {
  return a.isV4() ? AF_INET : AF_INET6;
}

nl_addr* toNl(const IpAddress& a, uint8_t prefixLength) {
  Bytes b = a.bytes();
  nl_addr* n = nl_addr_build(family(a), b.data(), b.size());
  if (n != nullptr) nl_addr_set_prefixlen(n, prefixLength);
  return n;
}

// RAII for libnl objects, released with their own put functions.
template <typename T, void (*Put)(T*)>
struct NlPtr {
  T* p = nullptr;
  explicit NlPtr(T* x) : p(x) {}
  ~NlPtr() {
    if (p != nullptr) Put(p);
  }
  NlPtr(const NlPtr&) = delete;
  NlPtr& operator=(const NlPtr&) = delete;
};
using LinkPtr = NlPtr<rtnl_link, rtnl_link_put>;
using AddrPtr = NlPtr<rtnl_addr, rtnl_addr_put>;
using RoutePtr = NlPtr<rtnl_route, rtnl_route_put>;
using NlAddrPtr = NlPtr<nl_addr, nl_addr_put>;

rtnl_route* buildRoute(int ifindex, const IpPrefix& dst, const std::optional<IpAddress>& src) {
  rtnl_route* r = rtnl_route_alloc();
  if (r == nullptr) return nullptr;
  rtnl_route_set_family(r, static_cast<uint8_t>(family(dst.address())));
  rtnl_route_set_table(r, RT_TABLE_MAIN);
  rtnl_route_set_protocol(r, RTPROT_STATIC);
  rtnl_route_set_scope(r, RT_SCOPE_LINK);
  rtnl_route_set_type(r, RTN_UNICAST);
  NlAddrPtr d(toNl(dst.address(), dst.length()));
  rtnl_route_set_dst(r, d.p);
  if (src && src->family() == dst.family()) {
    NlAddrPtr s(toNl(*src, static_cast<uint8_t>(src->bitLength())));
    rtnl_route_set_pref_src(r, s.p);
  }
  rtnl_nexthop* nh = rtnl_route_nh_alloc();
  rtnl_route_nh_set_ifindex(nh, ifindex);
  rtnl_route_add_nexthop(r, nh);  // the route owns nh now
  return r;
}

}  // namespace

Result<std::unique_ptr<Netlink>> Netlink::connect() {
  nl_sock* s = nl_socket_alloc();
  if (s == nullptr) return errorStatus(ErrorCode::kResourceExhausted, "nl_socket_alloc failed");
  int err = nl_connect(s, NETLINK_ROUTE);
  if (err < 0) {
    nl_socket_free(s);
    return errorStatus(ErrorCode::kIoError, "netlink connect: " + nlError(err));
  }
  return std::unique_ptr<Netlink>(new Netlink(s));
}

Netlink::~Netlink() {
  nl_socket_free(sock_);
}

Result<int> Netlink::ifindex(const std::string& name) {
  rtnl_link* raw = nullptr;
  int err = rtnl_link_get_kernel(sock_, 0, name.c_str(), &raw);
  if (err < 0) return errorStatus(ErrorCode::kNotFound, "link " + name + ": " + nlError(err));
  LinkPtr link(raw);
  return rtnl_link_get_ifindex(link.p);
}

Status Netlink::setMtuUp(int ifindex, uint32_t mtu, bool up) {
  rtnl_link* raw = nullptr;
  int err = rtnl_link_get_kernel(sock_, ifindex, nullptr, &raw);
  if (err < 0) return errorStatus(ErrorCode::kNotFound, "link get: " + nlError(err));
  LinkPtr orig(raw);
  LinkPtr change(rtnl_link_alloc());
  if (mtu != 0) rtnl_link_set_mtu(change.p, mtu);
  if (up) {
    rtnl_link_set_flags(change.p, IFF_UP);
  } else {
    rtnl_link_unset_flags(change.p, IFF_UP);
  }
  err = rtnl_link_change(sock_, orig.p, change.p, 0);
  if (err < 0) return errorStatus(ErrorCode::kIoError, "link change: " + nlError(err));
  return Status::ok();
}

Status Netlink::disableLinkLocal(int ifindex) {
  rtnl_link* raw = nullptr;
  int err = rtnl_link_get_kernel(sock_, ifindex, nullptr, &raw);
  if (err < 0) return errorStatus(ErrorCode::kNotFound, "link get: " + nlError(err));
  LinkPtr orig(raw);
  LinkPtr change(rtnl_link_alloc());
  // IN6_ADDR_GEN_MODE_NONE (linux/if_link.h): no fe80:: address, hence no MLD reports or
  // router solicitations written into the TUN (they would count as tx.drop.no_route).
  err = rtnl_link_inet6_set_addr_gen_mode(change.p, 1);
  if (err >= 0) err = rtnl_link_change(sock_, orig.p, change.p, 0);
  if (err < 0) return errorStatus(ErrorCode::kIoError, "addr_gen_mode none: " + nlError(err));
  return Status::ok();
}

Status Netlink::addAddress(int ifindex, const IpAddress& addr, uint8_t prefixLength) {
  AddrPtr a(rtnl_addr_alloc());
  rtnl_addr_set_ifindex(a.p, ifindex);
  rtnl_addr_set_family(a.p, family(addr));
  NlAddrPtr local(toNl(addr, prefixLength));
  rtnl_addr_set_local(a.p, local.p);
  rtnl_addr_set_prefixlen(a.p, prefixLength);
  int err = rtnl_addr_add(sock_, a.p, 0);
  if (err < 0) {
    return errorStatus(ErrorCode::kIoError, "add address " + addr.toString() + ": " + nlError(err));
  }
  return Status::ok();
}

Status Netlink::addRoute(int ifindex, const IpPrefix& dst, const std::optional<IpAddress>& src) {
  RoutePtr r(buildRoute(ifindex, dst, src));
  if (r.p == nullptr) return errorStatus(ErrorCode::kResourceExhausted, "rtnl_route_alloc");
  int err = rtnl_route_add(sock_, r.p, NLM_F_EXCL);
  if (err < 0) {
    return errorStatus(ErrorCode::kIoError, "add route " + dst.toString() + ": " + nlError(err));
  }
  return Status::ok();
}

Status Netlink::deleteRoute(int ifindex, const IpPrefix& dst) {
  RoutePtr r(buildRoute(ifindex, dst, std::nullopt));
  if (r.p == nullptr) return errorStatus(ErrorCode::kResourceExhausted, "rtnl_route_alloc");
  int err = rtnl_route_delete(sock_, r.p, 0);
  if (err < 0) {
    return errorStatus(ErrorCode::kIoError, "delete route " + dst.toString() + ": " + nlError(err));
  }
  return Status::ok();
}

Status OverlaySetup::configure(const std::string& device, uint32_t mtu,
                               const std::optional<IpAddress>& addr, uint8_t prefixLength,
                               const std::vector<IpPrefix>& routes) {
  auto idx = nl_.ifindex(device);
  if (!idx) return idx.status();
  ifindex_ = *idx;
  // Before the device goes up, when the kernel would make its IPv6 link-local address.
  if (Status s = nl_.disableLinkLocal(ifindex_); !s) {
    BRAID_LOG(kDebug, "edge") << device << ": " << s.message();  // e.g. IPv6 disabled
  }
  if (Status s = nl_.setMtuUp(ifindex_, mtu, true); !s) return s;
  upped_ = true;
  if (addr) {
    if (Status s = nl_.addAddress(ifindex_, *addr, prefixLength); !s) return s;
  }
  for (const IpPrefix& p : routes) {
    if (Status s = nl_.addRoute(ifindex_, p, addr); !s) return s;
    routes_.push_back(p);
    BRAID_LOG(kInfo, "edge") << "route " << p.toString() << " dev " << device;
  }
  return Status::ok();
}

void OverlaySetup::undo() {
  for (auto it = routes_.rbegin(); it != routes_.rend(); ++it) {
    if (Status s = nl_.deleteRoute(ifindex_, *it); !s) {
      BRAID_LOG(kWarn, "edge") << s.message();
    }
  }
  routes_.clear();
  if (upped_) {
    (void)nl_.setMtuUp(ifindex_, 0, false);
    upped_ = false;
  }
}

}  // namespace braid::edge
