#include "ipsec/ike/remote_access.hpp"

#include "ipsec/ike/config.hpp"
#include "ipsec/ike/ike_sa.hpp"
#include "ipsec/ike/message.hpp"

namespace braid::ike {

std::vector<IpAddress> RemoteAccessState::virtualIps() const {
  std::vector<IpAddress> out;
  for (const auto& l : leases) out.push_back(l->address());
  if (received) {
    for (const auto& a : received->ip4Addresses) out.push_back(a);
    for (const auto& a : received->ip6Addresses) out.push_back(a.address);
  }
  return out;
}

const std::vector<IpPrefix>* RemoteAccessConfig::subnetsOf(std::string_view group) const {
  if (group.empty()) return nullptr;
  auto it = groupSubnets.find(group);
  return it == groupSubnets.end() ? nullptr : &it->second;
}

ConfigAnswer answerConfigRequest(const RemoteAccessConfig& config, const std::string& identity,
                                 const Message& request, std::string_view group) {
  ConfigAnswer answer;
  const CpPayload* cp = request.get<CpPayload>(PayloadType::kCp);
  std::optional<ConfigPayload> req;
  if (cp != nullptr) {
    if (auto parsed = ConfigPayload::fromPayload(*cp); parsed && parsed->cfgType == kCfgRequest) {
      req = std::move(*parsed);
    }
  }
  if (!req) {
    // RFC 7296 3.10.1: this config hands out addresses; a client that asks for none cannot
    // use the Child SA it would get (its TSi would be its outer address).
    answer.error = notify::kFailedCpRequired;
    answer.reason = cp == nullptr ? "no CP(CFG_REQUEST)" : "CP is not a valid CFG_REQUEST";
    return answer;
  }
  // RFC 7296 3.15.1: an empty or an address-valued INTERNAL_IP*_ADDRESS both ask for one;
  // the address the client names is only a wish, and the pool decides.
  const bool want4 = req->wantIp4Address || !req->ip4Addresses.empty();
  const bool want6 = req->wantIp6Address || !req->ip6Addresses.empty();
  auto state = std::make_shared<RemoteAccessState>();
  ConfigPayload reply;
  reply.cfgType = kCfgReply;
  std::string exhausted;
  for (const auto& pool : config.pools) {
    const bool v4 = pool->family() == IpFamily::kV4;
    if (!(v4 ? want4 : want6)) continue;
    auto addr = pool->acquire(identity);
    if (!addr) {
      exhausted += (exhausted.empty() ? "" : ", ") + pool->name() + " (" +
                   std::to_string(pool->size()) + " addresses) exhausted";
      continue;
    }
    state->leases.push_back(std::make_unique<AddressLease>(pool, identity, *addr));
    if (v4) {
      reply.ip4Addresses.push_back(*addr);
    } else {
      reply.ip6Addresses.push_back({*addr, 128});
    }
  }
  if (state->leases.empty()) {
    // RFC 7296 3.15.4: no address could be assigned; the IKE SA stays, the Child SA does not.
    answer.error = notify::kInternalAddressFailure;
    answer.reason = exhausted.empty() ? std::string("no pool serves the address families asked for")
                                      : "pool " + exhausted;
    return answer;
  }
  const bool got4 = !reply.ip4Addresses.empty(), got6 = !reply.ip6Addresses.empty();
  for (const auto& d : config.dns) {
    if (d.isV4() && got4) reply.ip4Dns.push_back(d);
    if (d.isV6() && got6) reply.ip6Dns.push_back(d);
  }
  const std::vector<IpPrefix>* groupNets = config.subnetsOf(group);
  for (const auto& s : groupNets != nullptr ? *groupNets : config.splitSubnets) {
    if (s.family() == IpFamily::kV4 && got4) reply.ip4Subnets.push_back(s);
    if (s.family() == IpFamily::kV6 && got6) reply.ip6Subnets.push_back(s);
  }
  answer.reply = std::move(reply);
  answer.state = std::move(state);
  return answer;
}

ConfigPayload virtualIpRequest() {
  ConfigPayload req;
  req.cfgType = kCfgRequest;
  req.wantIp4Address = req.wantIp6Address = true;
  req.wantIp4Dns = req.wantIp6Dns = true;
  return req;
}

std::vector<TrafficSelector> peerSelectors(const IkeSa& sa, const ChildConfig& child) {
  if (sa.remoteAccess == nullptr || sa.remoteAccess->leases.empty()) return child.remoteTs;
  std::vector<TrafficSelector> out;
  for (const auto& l : sa.remoteAccess->leases) out.push_back(TrafficSelector::host(l->address()));
  return out;
}

std::vector<TrafficSelector> ourSelectors(const IkeSa& sa, const ChildConfig& child) {
  const RemoteAccessConfig* ra = sa.config() ? sa.config()->remoteAccess.get() : nullptr;
  if (ra == nullptr || sa.remoteAccess == nullptr) return child.localTs;
  const std::vector<IpPrefix>* nets = ra->subnetsOf(sa.remoteAccess->group);
  if (nets == nullptr) return child.localTs;
  std::vector<TrafficSelector> out;
  for (const auto& p : *nets) out.push_back(TrafficSelector::fromPrefix(p));
  return out;
}

}  // namespace braid::ike
