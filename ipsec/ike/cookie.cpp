#include "ipsec/ike/cookie.hpp"

#include <algorithm>

#include "ipsec/ike/auth_psk.hpp"
#include "ipsec/ike/crypto_prf.hpp"

namespace braid::ike {
namespace {
constexpr size_t kSecretLength = 32;
}

CookieSecrets::CookieSecrets(Random& random, Duration lifetime)
    : random_(random), lifetime_(lifetime.count() > 0 ? lifetime : std::chrono::seconds(60)) {}

void CookieSecrets::fresh(Secret& s, uint32_t version) {
  s.version = version;
  s.key = SecretBytes(kSecretLength);
  random_.fill(s.key.mutableBytes());
}

void CookieSecrets::rotate(TimePoint now) {
  if (!started_) {
    started_ = true;
    fresh(current_, random_.u32());
    previous_.version = current_.version - 1;  // no key: nothing verifies against it
    nextRotation_ = now + lifetime_;
    return;
  }
  if (now < nextRotation_) return;
  if (now >= nextRotation_ + lifetime_) {
    // Idle for two lifetimes or more: both secrets are too old.
    previous_.key = SecretBytes();
    previous_.version = current_.version + 1;
    fresh(current_, current_.version + 2);
    nextRotation_ = now + lifetime_;
    return;
  }
  previous_ = std::move(current_);
  fresh(current_, previous_.version + 1);
  nextRotation_ += lifetime_;
}

uint32_t CookieSecrets::version(TimePoint now) {
  rotate(now);
  return current_.version;
}

bool CookieSecrets::compute(const Secret& s, Bytes nonceI, const IpAddress& ipI, uint64_t spiI,
                            uint8_t* out) const {
  ByteVec data(nonceI.begin(), nonceI.end());
  Bytes ip = ipI.bytes();
  data.insert(data.end(), ip.begin(), ip.end());
  uint8_t spi[8];
  storeBe64(spi, spiI);
  data.insert(data.end(), spi, spi + 8);
  auto mac = prf(PrfId::kHmacSha256, s.key.bytes(), data);
  if (!mac || mac->size() != kCookieLength - kVersionLength) return false;
  storeBe32(out, s.version);
  std::copy(mac->data(), mac->data() + mac->size(), out + kVersionLength);
  return true;
}

ByteVec CookieSecrets::make(TimePoint now, Bytes nonceI, const IpAddress& ipI, uint64_t spiI) {
  rotate(now);
  ByteVec cookie(kCookieLength);
  if (!compute(current_, nonceI, ipI, spiI, cookie.data())) cookie.clear();
  return cookie;
}

bool CookieSecrets::verify(TimePoint now, Bytes cookie, Bytes nonceI, const IpAddress& ipI,
                           uint64_t spiI) {
  rotate(now);
  if (cookie.size() != kCookieLength) return false;
  uint32_t v = loadBe32(cookie.data());
  const Secret* s = v == current_.version    ? &current_
                    : v == previous_.version ? &previous_
                                             : nullptr;
  if (s == nullptr || s->key.empty()) return false;
  uint8_t expected[kCookieLength];
  return compute(*s, nonceI, ipI, spiI, expected) &&
         constantTimeEqual(Bytes(expected, kCookieLength), cookie);
}

}  // namespace braid::ike
