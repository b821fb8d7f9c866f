// Where an IKE setup's time goes: the crypto steps of IKE_SA_INIT + IKE_AUTH one at a time,
// with the same algorithms as the setup/... cases. Per setup, each side does one D-H keygen
// and one derive, the IKE and Child SA key schedules, builds one AUTH and checks the peer's
// (PSK: two MACs; certificates: one signature, one chain verification and one signature
// verification), and seals/opens its IKE_AUTH message.
//
//   dh/<group>/keygen     KeyExchange::create + publicValue (RFC 7296 3.4)
//   dh/<group>/derive     computeSharedSecret incl. the RFC 6989 peer-value checks
//   kdf/ike_sa_keys       SKEYSEED + the seven SK_* (RFC 7296 2.14), PRF HMAC-SHA-256
//   kdf/child_sa_keys     KEYMAT for an AES-GCM-256 Child SA (RFC 7296 2.17)
//   auth/psk              signed octets + AUTH MIC (RFC 7296 2.15)
//   auth/sign/<key>       RFC 7427 method 14 signature
//   auth/verify/<key>     its verification
//   cert/parse/<key>      CERT payload DER -> Certificate -> public key
//   cert/chain/<key>      leaf verified up to the CA (X509_verify_cert)
//   cert/certreq/<key>    CERTREQ data: SHA-1 of each CA's SPKI (RFC 7296 3.7), sent and
//                         checked once per side and exchange
//   cert/certreq_direct/<key>  the same hash over i2d_X509_PUBKEY (no OSSL_ENCODER): what
//                         compare with certreq/, which returns hashes cached per CA
//   sk/seal+open          SK payload (AES-GCM-256) of a 600-byte IKE_AUTH body, both ways
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <array>
#include <string>
#include <vector>

#include "bench/ike_setup_support.hpp"
#include "ipsec/ike/auth_psk.hpp"
#include "ipsec/ike/auth_signature.hpp"
#include "ipsec/ike/crypto_cipher.hpp"
#include "ipsec/ike/crypto_dh.hpp"
#include "ipsec/ike/crypto_keys.hpp"

namespace braid::ike::bench {
namespace {

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 13);
  return v;
}

Suite ikeSuite() {
  return suiteOf(parseProposal("aes256gcm16-prfsha256-x25519", ProtocolId::kIke).value()).value();
}

// The octets an AUTH covers for a typical IKE_SA_INIT (~300 bytes) and 32-byte nonces.
std::vector<uint8_t> signedOctets() {
  auto octets = authSignedOctets(PrfId::kHmacSha256, pattern(300, 1), pattern(32, 2),
                                 pattern(32, 3), pattern(16, 4));
  return octets ? *octets : std::vector<uint8_t>{};
}

void dhKeygen(benchmark::State& state, DhGroup group) {
  for (auto _ : state) {
    auto kx = KeyExchange::create(group);
    if (!kx) {
      state.SkipWithError("keygen failed");
      break;
    }
    benchmark::DoNotOptimize((*kx)->publicValue().data());
  }
}

void dhDerive(benchmark::State& state, DhGroup group) {
  auto ours = KeyExchange::create(group);
  auto peer = KeyExchange::create(group);
  if (!ours || !peer) {
    state.SkipWithError("keygen failed");
    return;
  }
  std::vector<uint8_t> peerValue((*peer)->publicValue().begin(), (*peer)->publicValue().end());
  for (auto _ : state) {
    auto secret = (*ours)->computeSharedSecret(peerValue);
    if (!secret) {
      state.SkipWithError("derive failed");
      break;
    }
    benchmark::DoNotOptimize(secret->data());
  }
}

void ikeSaKeys(benchmark::State& state) {
  const Suite suite = ikeSuite();
  auto secret = pattern(32, 5), ni = pattern(32, 6), nr = pattern(32, 7);
  for (auto _ : state) {
    auto keys =
        deriveInitialIkeSaKeys(suite, secret, ni, nr, 0x1122334455667788ull, 0x99aabbccddeeff00ull);
    benchmark::DoNotOptimize(keys->skD.data());
  }
}

void childSaKeys(benchmark::State& state) {
  const Suite child = suiteOf(parseProposal("aes256gcm16", ProtocolId::kEsp).value()).value();
  auto skD = pattern(32, 8), ni = pattern(32, 6), nr = pattern(32, 7);
  for (auto _ : state) {
    auto keys = deriveChildSaKeys(PrfId::kHmacSha256, skD, child, {}, ni, nr);
    benchmark::DoNotOptimize(keys->encrI.data());
  }
}

void pskAuth(benchmark::State& state) {
  const std::string psk = "bench-psk-0123456789abcdef0123456789abcdef";
  for (auto _ : state) {
    auto octets = authSignedOctets(PrfId::kHmacSha256, pattern(300, 1), pattern(32, 2),
                                   pattern(32, 3), pattern(16, 4));
    auto mic = pskAuthData(PrfId::kHmacSha256, asBytes(psk), *octets);
    benchmark::DoNotOptimize(mic->data());
  }
}

const BenchCreds* leafOf(benchmark::State& state, BenchAuth auth) {
  const BenchIdentities* ids = cachedIdentities(auth);
  if (ids == nullptr) state.SkipWithError("no credentials");
  return ids ? &ids->initiator : nullptr;
}

void sign(benchmark::State& state, BenchAuth auth) {
  const BenchCreds* c = leafOf(state, auth);
  if (c == nullptr) return;
  auto choice = chooseSignature(c->key, supportedSignatureHashes());
  const auto octets = signedOctets();
  for (auto _ : state) {
    auto sig = signAuth(c->key, *choice, octets);
    if (!sig) {
      state.SkipWithError("sign failed");
      break;
    }
    benchmark::DoNotOptimize(sig->data());
  }
}

void verify(benchmark::State& state, BenchAuth auth) {
  const BenchCreds* c = leafOf(state, auth);
  if (c == nullptr) return;
  auto choice = chooseSignature(c->key, supportedSignatureHashes());
  const auto octets = signedOctets();
  auto sig = signAuth(c->key, *choice, octets);
  PublicKey pub = c->cert.publicKey();
  for (auto _ : state) {
    Status s = verifyAuth(pub, choice->method, *sig, octets, supportedSignatureHashes());
    if (!s) {
      state.SkipWithError("verify failed");
      break;
    }
  }
}

void certParse(benchmark::State& state, BenchAuth auth) {
  const BenchCreds* c = leafOf(state, auth);
  if (c == nullptr) return;
  const auto der = c->cert.der();
  for (auto _ : state) {
    auto cert = Certificate::fromDer(der);
    if (!cert) {
      state.SkipWithError("parse failed");
      break;
    }
    benchmark::DoNotOptimize(cert->publicKey().get());
  }
}

void certChain(benchmark::State& state, BenchAuth auth) {
  const BenchCreds* c = leafOf(state, auth);
  if (c == nullptr) return;
  const BenchIdentities* ids = cachedIdentities(auth);
  for (auto _ : state) {
    if (Status s = ids->cas->verify(c->cert); !s) {
      state.SkipWithError(s.message().c_str());
      break;
    }
  }
}

void certReq(benchmark::State& state, BenchAuth auth) {
  const BenchIdentities* ids = cachedIdentities(auth);
  if (ids == nullptr) {
    state.SkipWithError("no credentials");
    return;
  }
  for (auto _ : state) {
    auto data = ids->cas->certReqData();
    benchmark::DoNotOptimize(data.data());
  }
}

void certReqDirect(benchmark::State& state, BenchAuth auth) {
  const BenchIdentities* ids = cachedIdentities(auth);
  if (ids == nullptr) {
    state.SkipWithError("no credentials");
    return;
  }
  auto direct = [&] {
    std::vector<uint8_t> out;
    for (const Certificate& ca : ids->cas->cas()) {
      unsigned char* der = nullptr;
      int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(ca.get()), &der);
      std::array<uint8_t, kCertReqHashLength> h{};
      unsigned hl = 0;
      EVP_Digest(der, static_cast<size_t>(len), h.data(), &hl, EVP_sha1(), nullptr);
      OPENSSL_free(der);
      out.insert(out.end(), h.begin(), h.end());
    }
    return out;
  };
  if (direct() != ids->cas->certReqData()) {
    state.SkipWithError("not the same hash as TrustStore::certReqData()");
    return;
  }
  for (auto _ : state) {
    auto out = direct();
    benchmark::DoNotOptimize(out.data());
  }
}

void skSealOpen(benchmark::State& state) {
  Suite s = ikeSuite();
  auto key = pattern(36, 9);
  auto out = IkeCipher::create(s, key, {});
  auto in = IkeCipher::create(s, key, {});
  std::vector<uint8_t> prefix(kIkeHeaderLength, 0);
  prefix[16] = kPayloadTypeSk;  // Next Payload of the IKE header
  prefix[17] = 0x20;            // version 2.0
  prefix[18] = 35;              // IKE_AUTH
  const auto inner = pattern(600, 10);
  for (auto _ : state) {
    auto sealed = sealMessage(**out, prefix, 35, inner);
    auto opened = openMessage(**in, *sealed, kIkeHeaderLength);
    if (!opened) {
      state.SkipWithError("open failed");
      break;
    }
    benchmark::DoNotOptimize(opened->data());
  }
}

}  // namespace

void registerMicroBenchmarks() {
  auto us = [](benchmark::internal::Benchmark* b) { b->Unit(benchmark::kMicrosecond); };
  const std::pair<const char*, DhGroup> groups[] = {{"x25519", DhGroup::kCurve25519},
                                                    {"ecp256", DhGroup::kEcp256},
                                                    {"modp2048", DhGroup::kModp2048}};
  for (const auto& [name, g] : groups) {
    us(benchmark::RegisterBenchmark((std::string("dh/") + name + "/keygen").c_str(), dhKeygen, g));
    us(benchmark::RegisterBenchmark((std::string("dh/") + name + "/derive").c_str(), dhDerive, g));
  }
  us(benchmark::RegisterBenchmark("kdf/ike_sa_keys", ikeSaKeys));
  us(benchmark::RegisterBenchmark("kdf/child_sa_keys", childSaKeys));
  us(benchmark::RegisterBenchmark("auth/psk", pskAuth));
  for (BenchAuth a : {BenchAuth::kEcdsaP256, BenchAuth::kRsa3072}) {
    std::string n = benchAuthName(a);
    us(benchmark::RegisterBenchmark(("auth/sign/" + n).c_str(), sign, a));
    us(benchmark::RegisterBenchmark(("auth/verify/" + n).c_str(), verify, a));
    us(benchmark::RegisterBenchmark(("cert/parse/" + n).c_str(), certParse, a));
    us(benchmark::RegisterBenchmark(("cert/chain/" + n).c_str(), certChain, a));
    us(benchmark::RegisterBenchmark(("cert/certreq/" + n).c_str(), certReq, a));
    us(benchmark::RegisterBenchmark(("cert/certreq_direct/" + n).c_str(), certReqDirect, a));
  }
  us(benchmark::RegisterBenchmark("sk/seal+open", skSealOpen));
}

}  // namespace braid::ike::bench
