#include "ipsec/ike/crypto_keys.hpp"

#include "ipsec/ike/crypto_prf.hpp"

namespace braid::ike {
namespace {

// Concatenation for PRF seeds; wiped because it may hold g^ir.
SecretBytes concat(std::initializer_list<Bytes> parts) {
  size_t n = 0;
  for (Bytes p : parts) n += p.size();
  SecretBytes out(n);
  size_t off = 0;
  for (Bytes p : parts) {
    if (!p.empty()) std::memcpy(out.data() + off, p.data(), p.size());
    off += p.size();
  }
  return out;
}

Status checkSuite(const Suite& s) {
  if (encrKeyLength(s.encr, s.encrKeyBits) == 0) {
    return Status(ErrorCode::kInvalidArgument, "unsupported encryption algorithm");
  }
  if (!s.isAead() && integKeyLength(s.integ) == 0) {
    return Status(ErrorCode::kInvalidArgument, "missing integrity algorithm");
  }
  return Status::ok();
}

}  // namespace

Result<SecretBytes> computeSkeyseed(PrfId prfId, Bytes ni, Bytes nr, Bytes sharedSecret) {
  SecretBytes key = concat({ni, nr});
  return prf(prfId, key.bytes(), sharedSecret);
}

Result<IkeSaKeys> deriveIkeSaKeys(const Suite& suite, Bytes skeyseed, Bytes ni, Bytes nr,
                                  uint64_t spiI, uint64_t spiR) {
  if (Status st = checkSuite(suite); !st) return st;
  const size_t dLen = prfKeyLength(suite.prf);
  if (dLen == 0) return Status(ErrorCode::kInvalidArgument, "unsupported PRF");
  const size_t aLen = suite.isAead() ? 0 : integKeyLength(suite.integ);
  const size_t eLen = encrKeyLength(suite.encr, suite.encrKeyBits);
  uint8_t spis[16];
  storeBe64(spis, spiI);
  storeBe64(spis + 8, spiR);
  SecretBytes seed = concat({ni, nr, Bytes(spis, 16)});
  auto stream = prfPlus(suite.prf, skeyseed, seed.bytes(), 3 * dLen + 2 * aLen + 2 * eLen);
  if (!stream) return stream.status();
  IkeSaKeys k;
  size_t off = 0;
  auto take = [&](size_t n) {
    SecretBytes s = stream->slice(off, n);
    off += n;
    return s;
  };
  k.skD = take(dLen);
  k.skAi = take(aLen);
  k.skAr = take(aLen);
  k.skEi = take(eLen);
  k.skEr = take(eLen);
  k.skPi = take(dLen);
  k.skPr = take(dLen);
  return k;
}

Result<IkeSaKeys> deriveInitialIkeSaKeys(const Suite& suite, Bytes sharedSecret, Bytes ni, Bytes nr,
                                         uint64_t spiI, uint64_t spiR) {
  auto skeyseed = computeSkeyseed(suite.prf, ni, nr, sharedSecret);
  if (!skeyseed) return skeyseed.status();
  return deriveIkeSaKeys(suite, skeyseed->bytes(), ni, nr, spiI, spiR);
}

Result<SecretBytes> computeRekeySkeyseed(PrfId oldPrf, Bytes oldSkD, Bytes newSharedSecret,
                                         Bytes ni, Bytes nr) {
  SecretBytes data = concat({newSharedSecret, ni, nr});
  return prf(oldPrf, oldSkD, data.bytes());
}

Result<SecretBytes> computeChildKeymat(PrfId prfId, Bytes skD, Bytes sharedSecret, Bytes ni,
                                       Bytes nr, size_t length) {
  SecretBytes seed = concat({sharedSecret, ni, nr});
  return prfPlus(prfId, skD, seed.bytes(), length);
}

Result<ChildSaKeys> deriveChildSaKeys(PrfId prfId, Bytes skD, const Suite& childSuite,
                                      Bytes sharedSecret, Bytes ni, Bytes nr) {
  if (Status st = checkSuite(childSuite); !st) return st;
  const size_t eLen = encrKeyLength(childSuite.encr, childSuite.encrKeyBits);
  const size_t aLen = childSuite.isAead() ? 0 : integKeyLength(childSuite.integ);
  auto keymat = computeChildKeymat(prfId, skD, sharedSecret, ni, nr, 2 * (eLen + aLen));
  if (!keymat) return keymat.status();
  ChildSaKeys k;
  k.encrI = keymat->slice(0, eLen);
  k.integI = keymat->slice(eLen, aLen);
  k.encrR = keymat->slice(eLen + aLen, eLen);
  k.integR = keymat->slice(2 * eLen + aLen, aLen);
  return k;
}

}  // namespace braid::ike
