// Stateless IKE_SA_INIT cookies (RFC 7296 2.6): while many IKE SAs are half-open, the
// responder answers an IKE_SA_INIT without a valid cookie with N(COOKIE) and keeps no state,
// so only initiators that receive at their source address can make it allocate an SA.
//   Cookie = <VersionIDofSecret> | HMAC-SHA256(<secret>, Ni | IPi | SPIi)
// The secret rotates every `lifetime`; cookies from the current and the previous secret are
// accepted, so a cookie stays valid for at least one lifetime.
#pragma once

#include <cstdint>

#include "core/clock.hpp"
#include "core/ip.hpp"
#include "core/secure.hpp"
#include "ipsec/ike/events.hpp"

namespace braid::ike {

class CookieSecrets {
 public:
  static constexpr size_t kVersionLength = 4;
  static constexpr size_t kCookieLength = kVersionLength + 32;

  // `random` must outlive this object.
  CookieSecrets(Random& random, Duration lifetime);

  ByteVec make(TimePoint now, Bytes nonceI, const IpAddress& ipI, uint64_t spiI);
  bool verify(TimePoint now, Bytes cookie, Bytes nonceI, const IpAddress& ipI, uint64_t spiI);
  // The secret in use now (tests: rotation).
  uint32_t version(TimePoint now);

 private:
  struct Secret {
    uint32_t version = 0;
    SecretBytes key;
  };
  void rotate(TimePoint now);
  void fresh(Secret& s, uint32_t version);
  bool compute(const Secret& s, Bytes nonceI, const IpAddress& ipI, uint64_t spiI,
               uint8_t* out) const;

  Random& random_;
  Duration lifetime_;
  Secret current_, previous_;
  bool started_ = false;
  TimePoint nextRotation_{};
};

}  // namespace braid::ike
