#include "ipsec/ike/nat.hpp"

#include <openssl/evp.h>

#include <sstream>

namespace braid::ike {

ByteVec natDetectionHash(uint64_t spiI, uint64_t spiR, const Endpoint& e) {
  uint8_t buf[8 + 8 + 16 + 2];
  storeBe64(buf, spiI);
  storeBe64(buf + 8, spiR);
  Bytes a = e.address.bytes();
  std::copy(a.begin(), a.end(), buf + 16);
  storeBe16(buf + 16 + a.size(), e.port);
  ByteVec out(20);
  unsigned int len = 0;
  if (EVP_Digest(buf, 16 + a.size() + 2, out.data(), &len, EVP_sha1(), nullptr) != 1) {
    out.clear();
  }
  return out;
}

std::string Endpoint::toString() const {
  std::ostringstream o;
  o << address.toString() << "[" << port << "]";
  return o.str();
}

}  // namespace braid::ike
