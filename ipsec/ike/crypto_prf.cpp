#include "ipsec/ike/crypto_prf.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <memory>

namespace braid::ike {
namespace {

const char* digestName(PrfId id) {
  switch (id) {
    case PrfId::kHmacSha256:
      return "SHA256";
    case PrfId::kHmacSha384:
      return "SHA384";
    case PrfId::kHmacSha512:
      return "SHA512";
    default:
      return nullptr;
  }
}

struct MacDeleter {
  void operator()(EVP_MAC* m) const { EVP_MAC_free(m); }
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};

EVP_MAC* hmac() {
  // Fetched once; EVP_MAC objects are immutable and thread-safe to share.
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  return mac;
}

// HMAC(key, part1 | part2 | part3) into out (prfOutputLength bytes).
bool hmacParts(PrfId id, Bytes key, std::initializer_list<Bytes> parts, uint8_t* out) {
  const char* md = digestName(id);
  if (md == nullptr || hmac() == nullptr) return false;
  std::unique_ptr<EVP_MAC_CTX, MacDeleter> ctx(EVP_MAC_CTX_new(hmac()));
  if (!ctx) return false;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(md), 0),
      OSSL_PARAM_construct_end()};
  // An empty key is legal for HMAC; OpenSSL wants a non-null pointer.
  static const uint8_t kEmpty = 0;
  if (EVP_MAC_init(ctx.get(), key.empty() ? &kEmpty : key.data(), key.size(), params) != 1) {
    return false;
  }
  for (Bytes part : parts) {
    if (!part.empty() && EVP_MAC_update(ctx.get(), part.data(), part.size()) != 1) return false;
  }
  size_t len = 0;
  return EVP_MAC_final(ctx.get(), out, &len, prfOutputLength(id)) == 1 &&
         len == prfOutputLength(id);
}

}  // namespace

bool isPrfSupported(PrfId prf) {
  return digestName(prf) != nullptr;
}

// RFC 7296 2.13: an HMAC PRF's preferred key length is its hash output length.
size_t prfOutputLength(PrfId prf) {
  return prfKeyLength(prf);
}

Result<SecretBytes> prf(PrfId id, Bytes key, Bytes data) {
  if (!isPrfSupported(id)) return Status(ErrorCode::kInvalidArgument, "unsupported PRF");
  SecretBytes out(prfOutputLength(id));
  if (!hmacParts(id, key, {data}, out.data())) {
    return Status(ErrorCode::kCryptoError, "HMAC failed");
  }
  return out;
}

Result<SecretBytes> prfPlus(PrfId id, Bytes key, Bytes seed, size_t length) {
  const size_t block = prfOutputLength(id);
  if (block == 0) return Status(ErrorCode::kInvalidArgument, "unsupported PRF");
  // RFC 7296 2.13: the counter is one octet, so at most 255 blocks.
  if (length > 255 * block) {
    return Status(ErrorCode::kInvalidArgument, "prf+ output longer than 255 blocks");
  }
  const size_t blocks = (length + block - 1) / block;
  SecretBytes out(blocks * block);
  for (size_t n = 1; n <= blocks; ++n) {
    const uint8_t counter = static_cast<uint8_t>(n);
    Bytes previous = n == 1 ? Bytes() : Bytes(out.data() + (n - 2) * block, block);
    if (!hmacParts(id, key, {previous, seed, Bytes(&counter, 1)}, out.data() + (n - 1) * block)) {
      return Status(ErrorCode::kCryptoError, "HMAC failed");
    }
  }
  return out.slice(0, length);
}

}  // namespace braid::ike
