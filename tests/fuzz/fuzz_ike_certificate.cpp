// Fuzz target: certificates from CERT payloads (RFC 7296 3.6, encoding 4: DER X.509) and the
// identity checks made on them (RFC 4945 3.1), chain verification against a fixed CA, and
// CERTREQ data (RFC 7296 3.7).
//   byte 0: ID Type of the peer's IDi/IDr (any value)
//   byte 1: n, then n bytes of identification data (also tried as CERTREQ data)
//   rest:   the CERT payload data for Certificate::fromDer()
// Checked: a certificate vouches for each of its own non-empty dNSName, rfc822Name and
// iPAddress subjectAltNames (matchesIdentity), and nothing is accepted as an identity with
// no data.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "ipsec/ike/auth_cert.hpp"

namespace {

using namespace braid::ike;

// The CA that issued the seed corpus' leaves (made for this fuzzer; P-256, valid to 2126).
constexpr std::string_view kCa = R"(-----BEGIN CERTIFICATE-----
MIIBwTCCAWegAwIBAgIUNf/4keEjWleZeCV8vmTc1amt8LAwCgYIKoZIzj0EAwIw
LTETMBEGA1UECgwKYnJhaWQgZnV6ejEWMBQGA1UEAwwNYnJhaWQgZnV6eiBDQTAg
Fw0yNjExMjYxODMwNTZaGA8yMTI2MTEwMjE4MzA1NlowLTETMBEGA1UECgwKYnJh
aWQgZnV6ejEWMBQGA1UEAwwNYnJhaWQgZnV6eiBDQTBZMBMGByqGSM49AgEGCCqG
SM49AwEHA0IABN4C2EbuHf5hJpyCpgFYVp210+nWJTRVZLwnV8Gv9x1xWycho5uE
G8grfFhcNKzIgwdm2Ae8zgRAuRtkg3yiZYijYzBhMB0GA1UdDgQWBBT8zagndYkV
wPKh+a9X8l7aVM5G8jAfBgNVHSMEGDAWgBT8zagndYkVwPKh+a9X8l7aVM5G8jAP
BgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQEAwIBBjAKBggqhkjOPQQDAgNIADBF
AiEA0QOqyJhMix7tQPPXqGm7CWZDUGMQHjKQqy1D4LWjiYUCIB1qeIo4GetiLF//
7u5MgNJSnTvisF4imYkG3iIFu4qp
-----END CERTIFICATE-----
)";
constexpr int64_t kVerifyTime = 1830297600;  // 2028-01-01: the same result on every run

const TrustStore& store() {
  static const std::unique_ptr<TrustStore> s = [] {
    auto t = std::make_unique<TrustStore>();
    if (!t->addCa(Certificate::fromPem(kCa).value())) __builtin_trap();
    return t;
  }();
  return *s;
}

void check(bool condition) {
  if (!condition) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t idType = data[0];
  const size_t n = std::min<size_t>(data[1], size - 2);
  const braid::Bytes idData(data + 2, n);
  const braid::Bytes der(data + 2 + n, size - 2 - n);
  (void)store().certReqNamesOurCa(idData);

  auto cert = Certificate::fromDer(der);
  if (!cert) return 0;
  const Certificate& c = *cert;
  (void)c.matchesIdentity(idType, idData);
  check(!c.matchesIdentity(idType, {}));

  // Everything IKE_AUTH and the logs read from a peer's certificate.
  (void)c.subjectText();
  (void)c.issuerText();
  (void)c.der();
  const auto subject = c.subjectDer();
  (void)c.matchesIdentity(id_type::kDerAsn1Dn, subject);
  for (const auto& name : c.dnsNames()) {
    if (!name.empty()) check(c.matchesIdentity(id_type::kFqdn, braid::asBytes(name)));
  }
  for (const auto& mail : c.emailNames()) {
    if (!mail.empty()) check(c.matchesIdentity(id_type::kRfc822Addr, braid::asBytes(mail)));
  }
  for (const auto& ip : c.ipAddresses()) {
    check(c.matchesIdentity(ip.isV4() ? id_type::kIpv4Addr : id_type::kIpv6Addr, ip.bytes()));
  }
  const PublicKey key = c.publicKey();
  if (key.valid()) {
    (void)key.type();
    (void)c.spkiSha1();
  }
  (void)store().verify(c, {}, kVerifyTime);
  // The leaf also as its own intermediate (a peer may send the same CERT twice).
  const Certificate twice[] = {c};
  (void)store().verify(c, twice, kVerifyTime);
  return 0;
}
