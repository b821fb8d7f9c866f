// Fuzz target: the SIGNATURE_HASH_ALGORITHMS notify (RFC 7427 4) and AUTH payload signature
// verification (RFC 7296 3.8, RFC 4754, RFC 7427 3) with fixed public keys.
//   byte 0: key (0 = ECDSA P-256, 1 = ECDSA P-384, 2 = RSA-2048)
//   byte 1: Auth Method as received (any value)
//   byte 2: n, then n bytes of notify data for parseSignatureHashAlgorithms()
//   rest:   Authentication Data, verified over fixed signed octets (kSignedOctets); the
//           hashes parsed above are the "announced" ones when the notify parsed.
// Checked: the notify parses iff its length is even and encodes back to the same bytes;
// chooseSignature() succeeds for our key types and picks RFC 7427 method 14 exactly when the
// peer announced a hash we sign with (SHA-2).
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "ipsec/ike/auth_signature.hpp"

namespace {

using namespace braid::ike;

// Test keys made for this fuzzer (the seed corpus holds signatures by their private halves).
constexpr std::string_view kP256 = R"(-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEzuuak3DrZAlGlk1UEyZFV6mwNZdo
X957q57J7EGInE/o8zhUJi0m6ZizoDEF5fmdDff0gJEmbItnfoKIrlIvHw==
-----END PUBLIC KEY-----
)";
constexpr std::string_view kP384 = R"(-----BEGIN PUBLIC KEY-----
MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEk3B5LBNw3VQfOa6FgVQX5rdofD+1bv6Z
nIRxFswGIyUFC1ih9YklfUkzvHby13x1Sge3DDbU8PTaHvJy33oWhtDXOy0MZkHf
Q+6bsiCnR1MuMRz2tX9zVxhk//fgR177
-----END PUBLIC KEY-----
)";
constexpr std::string_view kRsa = R"(-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAohQ2+TjKNxepUHZka+qv
ISkAFKuVmtzTQAP98n1avejq93U1taDq3RBVWZWcTIYRqrNbG7bIQTJiDht+oGDp
MmyFjey6wgvTXTLjWd670Mh2NnMKeG1/Y2MYuShaVHFoexEbwlZKSP7VXXaXAkoX
nRkosld+2OPbU5A1+/2Me4evE6Wgho1ccw9Ceno9sOP3J7LsVG5gc08YH9dX0TuJ
pRVQc77Tq3eO6LhdboEAsWpwWa75d/0M0yeY4PqTonHmLlS+WzmLHoJeoWllM/q+
6LMo/X9Vt8Bw6RSj6LrFXhJH2FwfVrt4E2emP0CcjfQxGscDdNA34DaMm5/fiq0O
PwIDAQAB
-----END PUBLIC KEY-----
)";

// The octets the seed signatures cover: 64 bytes, byte i = 7i + 1.
std::array<uint8_t, 64> signedOctets() {
  std::array<uint8_t, 64> o{};
  for (size_t i = 0; i < o.size(); ++i) o[i] = static_cast<uint8_t>(7 * i + 1);
  return o;
}

struct Keys {
  std::array<PublicKey, 3> pub;
  // chooseSignature() looks only at the key type; fresh keys of the same types do.
  std::array<PrivateKey, 3> priv;
};

const Keys& keys() {
  static const Keys k = [] {
    Keys out;
    out.pub = {PublicKey::fromPem(kP256).value(), PublicKey::fromPem(kP384).value(),
               PublicKey::fromPem(kRsa).value()};
    out.priv = {PrivateKey::generateEc(KeyType::kEcP256).value(),
                PrivateKey::generateEc(KeyType::kEcP384).value(),
                PrivateKey::generateRsa(2048).value()};
    return out;
  }();
  return k;
}

void check(bool condition) {
  if (!condition) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const size_t which = data[0] % 3;
  const auto method = static_cast<AuthMethod>(data[1]);
  const size_t n = std::min<size_t>(data[2], size - 3);
  const braid::Bytes notify(data + 3, n);
  const braid::Bytes authData(data + 3 + n, size - 3 - n);
  const Keys& k = keys();

  auto hashes = parseSignatureHashAlgorithms(notify);
  check(hashes.isOk() == (notify.size() % 2 == 0));
  std::vector<HashAlgorithm> announced;
  if (hashes) {
    announced = *hashes;
    const auto encoded = encodeSignatureHashAlgorithms(announced);
    check(std::equal(encoded.begin(), encoded.end(), notify.begin(), notify.end()));
    auto choice = chooseSignature(k.priv[which], announced);
    check(choice.isOk());
    const bool sha2 = std::any_of(announced.begin(), announced.end(), [](HashAlgorithm h) {
      return h == HashAlgorithm::kSha256 || h == HashAlgorithm::kSha384 ||
             h == HashAlgorithm::kSha512;
    });
    check((choice->method == AuthMethod::kDigitalSignature) == sha2);
    if (choice->method == AuthMethod::kDigitalSignature) {
      check(!signatureAlgorithmIdentifier(choice->scheme).empty());
    }
  }

  const auto octets = signedOctets();
  (void)verifyAuth(k.pub[which], method, authData, octets, announced);
  return 0;
}
