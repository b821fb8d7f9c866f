// Fuzz target: a CP payload body (RFC 7296 3.15) as a peer may send it. Checked: the raw
// codec re-serializes what it parsed to the same bytes; the typed layer (payload_cp.hpp), when
// it accepts the attributes, survives its own wire form unchanged; as a client's request to a
// gateway with two tiny pools (remote_access.hpp), the answer holds at most one address per
// family, each from its pool, and the leases go back when the answer is dropped.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/bytes.hpp"
#include "ipsec/ike/message.hpp"
#include "ipsec/ike/payload.hpp"
#include "ipsec/ike/payload_cp.hpp"
#include "ipsec/ike/remote_access.hpp"

namespace {

using namespace braid::ike;

void check(bool condition) {
  if (!condition) __builtin_trap();
}

std::vector<uint8_t> serialize(const CpPayload& cp) {
  std::vector<uint8_t> buf(70000);
  braid::ByteWriter w(buf);
  check(cp.serialize(w));
  buf.resize(w.position());
  return buf;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const braid::Bytes in(data, size);
  auto body = parsePayloadBody(PayloadType::kCp, in);
  if (!body) return 0;
  const CpPayload* cp = std::get_if<CpPayload>(&*body);
  check(cp != nullptr);
  // The reserved octets and the attribute types' R bit are not kept; the rest is.
  std::vector<uint8_t> again = serialize(*cp);
  check(again.size() == size);
  auto reparsed = parsePayloadBody(PayloadType::kCp, again);
  check(reparsed && std::get<CpPayload>(*reparsed) == *cp);

  // The gateway's side: pools of 2 IPv4 and 1 IPv6 address, one lease held by someone else.
  static RemoteAccessConfig ra = [] {
    RemoteAccessConfig c;
    c.pools.push_back(std::make_shared<AddressPool>(
        AddressPool::create("v4", *braid::IpPrefix::parse("10.90.0.0/30")).value()));
    c.pools.push_back(std::make_shared<AddressPool>(
        AddressPool::create("v6", *braid::IpPrefix::parse("fd00::7/128")).value()));
    c.dns = {*braid::IpAddress::parse("10.2.0.53"), *braid::IpAddress::parse("fd00::53")};
    (void)c.pools[0]->acquire("other");
    return c;
  }();
  {
    Message request(ExchangeType::kIkeAuth, false, 1);
    request.add(PayloadType::kCp, *cp);
    ConfigAnswer a = answerConfigRequest(ra, "client", request);
    check((a.error == 0) == a.reply.has_value());
    if (a.reply) {
      check(a.reply->cfgType == kCfgReply && a.reply->ip4Addresses.size() <= 1 &&
            a.reply->ip6Addresses.size() <= 1 && a.state && !a.state->leases.empty());
      for (const auto& v : a.reply->ip4Addresses) check(ra.pools[0]->contains(v));
      for (const auto& v : a.reply->ip6Addresses) check(ra.pools[1]->contains(v.address));
      check(ra.pools[0]->online() + ra.pools[1]->online() == 1 + a.state->leases.size());
    }
  }
  check(ra.pools[0]->online() == 1 && ra.pools[1]->online() == 0);

  auto typed = ConfigPayload::fromPayload(*cp);
  if (!typed) return 0;
  auto wire = parsePayloadBody(PayloadType::kCp, serialize(typed->toPayload()));
  check(wire.has_value());
  auto back = ConfigPayload::fromPayload(std::get<CpPayload>(*wire));
  check(back.isOk() && *back == *typed);
  return 0;
}
