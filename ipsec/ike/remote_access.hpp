// Remote access in the IKE core (RFC 7296 2.19, 3.15.4): a responder config with address
// pools answers the client's CP(CFG_REQUEST) in IKE_AUTH with CFG_REPLY, and the client's
// Child SAs are narrowed to its virtual IPs (TSi); an initiator may ask for a virtual IP.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/ip.hpp"
#include "ipsec/ike/address_pool.hpp"
#include "ipsec/ike/payload_cp.hpp"
#include "ipsec/ike/traffic_selector.hpp"

namespace braid::ike {

class IkeSa;
class Message;
struct ChildConfig;

// PeerConfig::remoteAccess: set on a responder config for road-warrior clients.
struct RemoteAccessConfig {
  std::vector<std::shared_ptr<AddressPool>> pools;  // at most one per address family
  std::vector<IpAddress> dns;                       // INTERNAL_IP4/6_DNS
  std::vector<IpPrefix> splitSubnets;               // INTERNAL_IP4/6_SUBNET
  // Per-group policy: what the clients of a group (EAP credentials) may reach, instead of
  // the child config's local selectors (their TSr) and of splitSubnets.
  std::map<std::string, std::vector<IpPrefix>, std::less<>> groupSubnets;
  const std::vector<IpPrefix>* subnetsOf(std::string_view group) const;
};

// IkeSa::remoteAccess: what the CP exchange of this IKE SA settled. Kept across IKE SA
// rekeys (the new SA shares it), so the leases are released when the last SA holding
// them ends.
struct RemoteAccessState {
  std::vector<std::unique_ptr<AddressLease>> leases;  // responder: the client's addresses
  std::optional<ConfigPayload> received;              // initiator: the gateway's CFG_REPLY
  std::string group;  // responder: the client's group (EAP credentials), empty if none
  // The peer's virtual IPs (responder) or ours (initiator).
  std::vector<IpAddress> virtualIps() const;
};

struct ConfigAnswer {
  uint16_t error = 0;  // INTERNAL_ADDRESS_FAILURE or FAILED_CP_REQUIRED (RFC 7296 3.10.1)
  std::string reason;  // for the log line when error != 0
  std::optional<ConfigPayload> reply;
  std::shared_ptr<RemoteAccessState> state;
};

// Responder: leases an address per requested family the pools serve (the identity's
// previous one when still reserved) and builds the CFG_REPLY with DNS and split subnets.
// `group`: the client's group (per-group split subnets), empty if none.
ConfigAnswer answerConfigRequest(const RemoteAccessConfig& config, const std::string& identity,
                                 const Message& request, std::string_view group = {});

// Initiator: the CFG_REQUEST (IPv4 and IPv6 address and DNS).
ConfigPayload virtualIpRequest();

// The selectors a peer may use as its side of a Child SA: its virtual IPs (host selectors)
// once it has leases, else the child config's remote selectors.
std::vector<TrafficSelector> peerSelectors(const IkeSa& sa, const ChildConfig& child);
// Our side (TSr of a client's Child SA): its group's subnets when its group has a policy,
// else the child config's local selectors.
std::vector<TrafficSelector> ourSelectors(const IkeSa& sa, const ChildConfig& child);

}  // namespace braid::ike
