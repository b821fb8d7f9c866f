// Certificate credentials of the two fragmentation test files (one binary): an RSA-2048 leaf
// sent with the CA after it as a (redundant) chain member, about 1.5 kB of CERT payloads plus
// a 256-byte signature in each IKE_AUTH message: big enough to need fragments.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ike_harness.hpp"

namespace braid::ike::test {

struct FragmentCreds {
  PrivateKey key;
  std::vector<Certificate> chain;
};

inline const TestPki& fragmentPki() {
  static const TestPki p = makePki();
  return p;
}

inline const FragmentCreds& fragmentCreds(const std::string& fqdn) {
  static std::map<std::string, FragmentCreds> cache;
  auto it = cache.find(fqdn);
  if (it == cache.end()) {
    FragmentCreds c;
    c.key = *PrivateKey::generateRsa(2048);
    c.chain = {issueLeaf(fragmentPki(), c.key, fqdn), fragmentPki().ca};
    it = cache.emplace(fqdn, std::move(c)).first;
  }
  return it->second;
}

inline void useFragmentCreds(PeerConfig& pc, const std::string& fqdn) {
  const FragmentCreds& c = fragmentCreds(fqdn);
  pc.localAuth.kind = AuthKind::kPubkey;
  pc.localAuth.key = c.key;
  pc.localAuth.certs = c.chain;
  pc.remoteAuth.kind = AuthKind::kPubkey;
  pc.remoteAuth.cas = fragmentPki().store;
}

}  // namespace braid::ike::test
