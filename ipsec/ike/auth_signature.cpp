#include "ipsec/ike/auth_signature.hpp"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <sstream>

namespace braid::ike {
namespace {

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
  void operator()(BIGNUM* p) const { BN_free(p); }
};
template <typename T>
using Ptr = std::unique_ptr<T, Free>;

std::shared_ptr<EVP_PKEY> share(EVP_PKEY* p) {
  return {p, [](EVP_PKEY* k) { EVP_PKEY_free(k); }};
}

KeyType keyTypeOf(EVP_PKEY* pkey) {
  if (pkey == nullptr) return KeyType::kUnsupported;
  if (EVP_PKEY_is_a(pkey, "RSA")) return KeyType::kRsa;
  if (!EVP_PKEY_is_a(pkey, "EC")) return KeyType::kUnsupported;
  char name[64] = {};
  size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name), &len) !=
      1) {
    return KeyType::kUnsupported;
  }
  const std::string_view n(name, len);
  if (n == "prime256v1" || n == "P-256") return KeyType::kEcP256;
  if (n == "secp384r1" || n == "P-384") return KeyType::kEcP384;
  if (n == "secp521r1" || n == "P-521") return KeyType::kEcP521;
  return KeyType::kUnsupported;
}

bool isEc(KeyType t) {
  return t == KeyType::kEcP256 || t == KeyType::kEcP384 || t == KeyType::kEcP521;
}
size_t ecFieldBytes(KeyType t) {
  return t == KeyType::kEcP256 ? 32 : t == KeyType::kEcP384 ? 48 : 66;
}

struct SchemeInfo {
  SignatureScheme scheme;
  HashAlgorithm hash;
  const char* md;
  bool rsa;
  bool pss;
};
constexpr std::array kSchemes{
    SchemeInfo{SignatureScheme::kRsaPkcs1Sha1, HashAlgorithm::kSha1, "SHA1", true, false},
    SchemeInfo{SignatureScheme::kRsaPkcs1Sha256, HashAlgorithm::kSha256, "SHA256", true, false},
    SchemeInfo{SignatureScheme::kRsaPkcs1Sha384, HashAlgorithm::kSha384, "SHA384", true, false},
    SchemeInfo{SignatureScheme::kRsaPkcs1Sha512, HashAlgorithm::kSha512, "SHA512", true, false},
    SchemeInfo{SignatureScheme::kRsaPssSha256, HashAlgorithm::kSha256, "SHA256", true, true},
    SchemeInfo{SignatureScheme::kEcdsaSha256, HashAlgorithm::kSha256, "SHA256", false, false},
    SchemeInfo{SignatureScheme::kEcdsaSha384, HashAlgorithm::kSha384, "SHA384", false, false},
    SchemeInfo{SignatureScheme::kEcdsaSha512, HashAlgorithm::kSha512, "SHA512", false, false},
};
const SchemeInfo& schemeInfo(SignatureScheme s) {
  return kSchemes[static_cast<size_t>(s)];
}

// RFC 7427 appendix A AlgorithmIdentifier encodings.
struct AlgId {
  SignatureScheme scheme;
  std::string_view hex;
};
constexpr std::array kAlgIds{
    AlgId{SignatureScheme::kRsaPkcs1Sha256, "300d06092a864886f70d01010b0500"},
    AlgId{SignatureScheme::kRsaPkcs1Sha384, "300d06092a864886f70d01010c0500"},
    AlgId{SignatureScheme::kRsaPkcs1Sha512, "300d06092a864886f70d01010d0500"},
    AlgId{SignatureScheme::kRsaPssSha256,
          "304106092a864886f70d01010a3034a00f300d06096086480165030402010500a11c301a06092a864886"
          "f70d010108300d06096086480165030402010500a203020120"},
    AlgId{SignatureScheme::kEcdsaSha256, "300a06082a8648ce3d040302"},
    AlgId{SignatureScheme::kEcdsaSha384, "300a06082a8648ce3d040303"},
    AlgId{SignatureScheme::kEcdsaSha512, "300a06082a8648ce3d040304"},
    // Same RSA algorithms with absent (instead of NULL) parameters, as some peers send.
    AlgId{SignatureScheme::kRsaPkcs1Sha256, "300b06092a864886f70d01010b"},
    AlgId{SignatureScheme::kRsaPkcs1Sha384, "300b06092a864886f70d01010c"},
    AlgId{SignatureScheme::kRsaPkcs1Sha512, "300b06092a864886f70d01010d"},
};

std::vector<uint8_t> unhex(std::string_view hex) {
  std::vector<uint8_t> out(hex.size() / 2);
  auto nib = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<uint8_t>(nib(hex[2 * i]) << 4 | nib(hex[2 * i + 1]));
  }
  return out;
}

Status sigError(const std::string& m) {
  return Status(ErrorCode::kCryptoError, "AUTH: " + m);
}
Status badInput(const std::string& m) {
  return Status(ErrorCode::kInvalidArgument, "AUTH: " + m);
}

bool setupPss(EVP_PKEY_CTX* pctx) {
  return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) == 1 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, "SHA256", nullptr) == 1;
}

// Raw EVP signature (PKCS#1 block, or DER Ecdsa-Sig-Value for EC).
Result<std::vector<uint8_t>> evpSign(EVP_PKEY* key, const SchemeInfo& si, Bytes data) {
  Ptr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx || EVP_DigestSignInit_ex(ctx.get(), &pctx, si.md, nullptr, nullptr, key, nullptr) != 1 ||
      (si.pss && !setupPss(pctx))) {
    return sigError("sign init");
  }
  size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, data.data(), data.size()) != 1) {
    return sigError("sign");
  }
  std::vector<uint8_t> sig(len);
  if (EVP_DigestSign(ctx.get(), sig.data(), &len, data.data(), data.size()) != 1) {
    return sigError("sign");
  }
  sig.resize(len);
  return sig;
}

bool evpVerify(EVP_PKEY* key, const SchemeInfo& si, Bytes sig, Bytes data) {
  Ptr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx ||
      EVP_DigestVerifyInit_ex(ctx.get(), &pctx, si.md, nullptr, nullptr, key, nullptr) != 1 ||
      (si.pss && !setupPss(pctx))) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), sig.data(), sig.size(), data.data(), data.size()) == 1;
}

// RFC 4754 7: the signature is r || s, each left-padded to the field size.
Result<std::vector<uint8_t>> derToRaw(Bytes der, size_t field) {
  const uint8_t* p = der.data();
  Ptr<ECDSA_SIG> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) return sigError("bad ECDSA signature encoding");
  std::vector<uint8_t> raw(2 * field);
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), raw.data(), static_cast<int>(field)) < 0 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), raw.data() + field, static_cast<int>(field)) < 0) {
    return sigError("ECDSA signature encoding");
  }
  return raw;
}

std::optional<std::vector<uint8_t>> rawToDer(Bytes raw) {
  const size_t field = raw.size() / 2;
  Ptr<ECDSA_SIG> sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(raw.data(), static_cast<int>(field), nullptr);
  BIGNUM* s = BN_bin2bn(raw.data() + field, static_cast<int>(field), nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return std::nullopt;
  }
  const int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return std::nullopt;
  std::vector<uint8_t> der(static_cast<size_t>(len));
  uint8_t* p = der.data();
  i2d_ECDSA_SIG(sig.get(), &p);
  return der;
}

// Classic method -> (scheme, required key type).
std::optional<std::pair<SignatureScheme, KeyType>> classic(AuthMethod m) {
  switch (m) {
    case AuthMethod::kEcdsaSha256P256:
      return {{SignatureScheme::kEcdsaSha256, KeyType::kEcP256}};
    case AuthMethod::kEcdsaSha384P384:
      return {{SignatureScheme::kEcdsaSha384, KeyType::kEcP384}};
    case AuthMethod::kEcdsaSha512P521:
      return {{SignatureScheme::kEcdsaSha512, KeyType::kEcP521}};
    default:
      return std::nullopt;
  }
}

}  // namespace

// ---- notify ------------------------------------------------------------------------------
std::vector<uint8_t> encodeSignatureHashAlgorithms(std::span<const HashAlgorithm> hashes) {
  std::vector<uint8_t> out(hashes.size() * 2);
  for (size_t i = 0; i < hashes.size(); ++i) {
    storeBe16(out.data() + 2 * i, static_cast<uint16_t>(hashes[i]));
  }
  return out;
}

Result<std::vector<HashAlgorithm>> parseSignatureHashAlgorithms(Bytes data) {
  if (data.size() % 2 != 0) {
    return Status(ErrorCode::kParseError, "SIGNATURE_HASH_ALGORITHMS: odd length");
  }
  std::vector<HashAlgorithm> out;
  for (size_t i = 0; i < data.size(); i += 2) {
    out.push_back(static_cast<HashAlgorithm>(loadBe16(data.data() + i)));
  }
  return out;
}

std::span<const HashAlgorithm> supportedSignatureHashes() {
  static constexpr std::array kHashes{HashAlgorithm::kSha256, HashAlgorithm::kSha384,
                                      HashAlgorithm::kSha512};
  return kHashes;
}

// ---- keys --------------------------------------------------------------------------------
Result<PublicKey> PublicKey::fromDer(Bytes spki) {
  const uint8_t* p = spki.data();
  EVP_PKEY* pkey = d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size()));
  if (pkey == nullptr || p != spki.data() + spki.size()) {
    EVP_PKEY_free(pkey);
    return Status(ErrorCode::kParseError, "bad SubjectPublicKeyInfo");
  }
  PublicKey k;
  k.pkey_ = share(pkey);
  return k;
}

Result<PublicKey> PublicKey::fromPem(std::string_view pem) {
  Ptr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EVP_PKEY* pkey = bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (pkey == nullptr) return Status(ErrorCode::kParseError, "no PEM public key");
  PublicKey k;
  k.pkey_ = share(pkey);
  return k;
}

PublicKey PublicKey::fromEvp(EVP_PKEY* pkey) {
  PublicKey k;
  if (pkey != nullptr && EVP_PKEY_up_ref(pkey) == 1) k.pkey_ = share(pkey);
  return k;
}

KeyType PublicKey::type() const {
  return keyTypeOf(pkey_.get());
}

std::vector<uint8_t> PublicKey::spkiDer() const {
  if (!pkey_) return {};
  const int len = i2d_PUBKEY(pkey_.get(), nullptr);
  if (len <= 0) return {};
  std::vector<uint8_t> out(static_cast<size_t>(len));
  uint8_t* p = out.data();
  i2d_PUBKEY(pkey_.get(), &p);
  return out;
}

Result<PrivateKey> PrivateKey::fromPem(std::string_view pem) {
  Ptr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EVP_PKEY* pkey = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (pkey == nullptr) {
    return Status(ErrorCode::kParseError, "no unencrypted PEM private key");
  }
  PrivateKey k;
  k.pkey_ = share(pkey);
  return k;
}

Result<PrivateKey> PrivateKey::loadPemFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(ErrorCode::kIoError, path + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  auto key = fromPem(text);
  secureWipe(text.data(), text.size());
  if (!key) return Status(key.status().code(), path + ": " + key.status().message());
  return key;
}

Result<PrivateKey> PrivateKey::generateRsa(int bits) {
  EVP_PKEY* pkey = EVP_RSA_gen(static_cast<unsigned>(bits));
  if (pkey == nullptr) return sigError("RSA key generation");
  PrivateKey k;
  k.pkey_ = share(pkey);
  return k;
}

Result<PrivateKey> PrivateKey::generateEc(KeyType curve) {
  const char* name = curve == KeyType::kEcP256   ? "P-256"
                     : curve == KeyType::kEcP384 ? "P-384"
                     : curve == KeyType::kEcP521 ? "P-521"
                                                 : nullptr;
  if (name == nullptr) return badInput("not an EC curve");
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", name);
  if (pkey == nullptr) return sigError("EC key generation");
  PrivateKey k;
  k.pkey_ = share(pkey);
  return k;
}

PrivateKey PrivateKey::fromEvp(EVP_PKEY* pkey) {
  PrivateKey k;
  if (pkey != nullptr && EVP_PKEY_up_ref(pkey) == 1) k.pkey_ = share(pkey);
  return k;
}

KeyType PrivateKey::type() const {
  return keyTypeOf(pkey_.get());
}

PublicKey PrivateKey::publicKey() const {
  // Round trip through SPKI so the public handle holds no private material.
  PublicKey pub;
  if (!pkey_) return pub;
  const int len = i2d_PUBKEY(pkey_.get(), nullptr);
  if (len <= 0) return pub;
  std::vector<uint8_t> der(static_cast<size_t>(len));
  uint8_t* p = der.data();
  i2d_PUBKEY(pkey_.get(), &p);
  auto r = PublicKey::fromDer(der);
  return r ? *r : pub;
}

std::string PrivateKey::toPem() const {
  Ptr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!pkey_ || !bio ||
      PEM_write_bio_PrivateKey(bio.get(), pkey_.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
          1) {
    return {};
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  std::string out(data, static_cast<size_t>(len));
  // The BIO's copy is cleared before it is freed.
  secureWipe(data, static_cast<size_t>(len));
  return out;
}

// ---- signatures --------------------------------------------------------------------------
std::string_view signatureSchemeName(SignatureScheme s) {
  switch (s) {
    case SignatureScheme::kRsaPkcs1Sha1:
      return "rsa-pkcs1-sha1";
    case SignatureScheme::kRsaPkcs1Sha256:
      return "rsa-pkcs1-sha256";
    case SignatureScheme::kRsaPkcs1Sha384:
      return "rsa-pkcs1-sha384";
    case SignatureScheme::kRsaPkcs1Sha512:
      return "rsa-pkcs1-sha512";
    case SignatureScheme::kRsaPssSha256:
      return "rsa-pss-sha256";
    case SignatureScheme::kEcdsaSha256:
      return "ecdsa-sha256";
    case SignatureScheme::kEcdsaSha384:
      return "ecdsa-sha384";
    case SignatureScheme::kEcdsaSha512:
      return "ecdsa-sha512";
  }
  return "unknown";
}

std::vector<uint8_t> signatureAlgorithmIdentifier(SignatureScheme scheme) {
  for (const auto& a : kAlgIds) {
    if (a.scheme == scheme) return unhex(a.hex);
  }
  return {};
}

Result<SignatureChoice> chooseSignature(const PrivateKey& key,
                                        std::span<const HashAlgorithm> peerHashes, bool preferPss) {
  const KeyType type = key.type();
  auto peerHas = [&](HashAlgorithm h) {
    return std::find(peerHashes.begin(), peerHashes.end(), h) != peerHashes.end();
  };
  using S = SignatureScheme;
  if (type == KeyType::kRsa) {
    if (preferPss && peerHas(HashAlgorithm::kSha256)) {
      return SignatureChoice{AuthMethod::kDigitalSignature, S::kRsaPssSha256};
    }
    for (S s : {S::kRsaPkcs1Sha256, S::kRsaPkcs1Sha384, S::kRsaPkcs1Sha512}) {
      if (peerHas(schemeInfo(s).hash)) return SignatureChoice{AuthMethod::kDigitalSignature, s};
    }
    return SignatureChoice{AuthMethod::kRsaSignature, S::kRsaPkcs1Sha1};
  }
  if (!isEc(type)) return badInput("unsupported private key type");
  // The curve's own hash first (RFC 4754 pairing), then the others.
  std::array<S, 3> order =
      type == KeyType::kEcP256   ? std::array{S::kEcdsaSha256, S::kEcdsaSha384, S::kEcdsaSha512}
      : type == KeyType::kEcP384 ? std::array{S::kEcdsaSha384, S::kEcdsaSha512, S::kEcdsaSha256}
                                 : std::array{S::kEcdsaSha512, S::kEcdsaSha384, S::kEcdsaSha256};
  for (S s : order) {
    if (peerHas(schemeInfo(s).hash)) return SignatureChoice{AuthMethod::kDigitalSignature, s};
  }
  const AuthMethod m = type == KeyType::kEcP256   ? AuthMethod::kEcdsaSha256P256
                       : type == KeyType::kEcP384 ? AuthMethod::kEcdsaSha384P384
                                                  : AuthMethod::kEcdsaSha512P521;
  return SignatureChoice{m, order[0]};
}

Result<std::vector<uint8_t>> signAuth(const PrivateKey& key, const SignatureChoice& choice,
                                      Bytes signedOctets) {
  const KeyType type = key.type();
  const SchemeInfo& si = schemeInfo(choice.scheme);
  if (si.rsa != (type == KeyType::kRsa) || (!si.rsa && !isEc(type))) {
    return badInput("signature scheme " + std::string(signatureSchemeName(choice.scheme)) +
                    " does not fit the key");
  }
  switch (choice.method) {
    case AuthMethod::kRsaSignature:
      if (choice.scheme != SignatureScheme::kRsaPkcs1Sha1) {
        return badInput("method 1 is RSA PKCS#1 v1.5 with SHA-1");
      }
      return evpSign(key.get(), si, signedOctets);
    case AuthMethod::kEcdsaSha256P256:
    case AuthMethod::kEcdsaSha384P384:
    case AuthMethod::kEcdsaSha512P521: {
      auto c = classic(choice.method);
      if (c->first != choice.scheme || c->second != type) {
        return badInput("method " + std::to_string(static_cast<int>(choice.method)) +
                        " needs its own curve and hash");
      }
      auto der = evpSign(key.get(), si, signedOctets);
      if (!der) return der.status();
      return derToRaw(*der, ecFieldBytes(type));
    }
    case AuthMethod::kDigitalSignature: {
      if (choice.scheme == SignatureScheme::kRsaPkcs1Sha1) {
        return badInput("SHA-1 is not offered with RFC 7427 signatures");
      }
      auto algId = signatureAlgorithmIdentifier(choice.scheme);
      auto sig = evpSign(key.get(), si, signedOctets);
      if (!sig) return sig.status();
      // RFC 7427 3: ASN.1 Length (1 octet) | AlgorithmIdentifier | Signature Value.
      std::vector<uint8_t> out;
      out.reserve(1 + algId.size() + sig->size());
      out.push_back(static_cast<uint8_t>(algId.size()));
      out.insert(out.end(), algId.begin(), algId.end());
      out.insert(out.end(), sig->begin(), sig->end());
      return out;
    }
    default:
      return badInput("not a signature method");
  }
}

Status verifyAuth(const PublicKey& key, AuthMethod method, Bytes authData, Bytes signedOctets,
                  std::span<const HashAlgorithm> allowedHashes) {
  const KeyType type = key.type();
  if (type == KeyType::kUnsupported) return badInput("unsupported peer key type");
  const Status badSig(ErrorCode::kPermissionDenied, "AUTH: signature verification failed");
  switch (method) {
    case AuthMethod::kRsaSignature: {
      if (type != KeyType::kRsa) return badInput("method 1 with a non-RSA key");
      return evpVerify(key.get(), schemeInfo(SignatureScheme::kRsaPkcs1Sha1), authData,
                       signedOctets)
                 ? Status::ok()
                 : badSig;
    }
    case AuthMethod::kEcdsaSha256P256:
    case AuthMethod::kEcdsaSha384P384:
    case AuthMethod::kEcdsaSha512P521: {
      auto c = classic(method);
      if (c->second != type) return badInput("ECDSA method does not match the key's curve");
      if (authData.size() != 2 * ecFieldBytes(type)) {
        return Status(ErrorCode::kParseError, "AUTH: bad ECDSA signature length");
      }
      auto der = rawToDer(authData);
      if (!der) return badSig;
      return evpVerify(key.get(), schemeInfo(c->first), *der, signedOctets) ? Status::ok() : badSig;
    }
    case AuthMethod::kDigitalSignature: {
      if (authData.empty() || authData[0] + size_t{1} > authData.size()) {
        return Status(ErrorCode::kParseError, "AUTH: bad RFC 7427 AlgorithmIdentifier length");
      }
      const Bytes algId = authData.subspan(1, authData[0]);
      const Bytes sig = authData.subspan(1 + authData[0]);
      const AlgId* found = nullptr;
      for (const auto& a : kAlgIds) {
        const auto der = unhex(a.hex);
        if (std::equal(der.begin(), der.end(), algId.begin(), algId.end())) {
          found = &a;
          break;
        }
      }
      if (found == nullptr) return badInput("unsupported RFC 7427 signature algorithm");
      const SchemeInfo& si = schemeInfo(found->scheme);
      if (si.rsa != (type == KeyType::kRsa)) {
        return badInput("RFC 7427 signature algorithm does not match the key");
      }
      if (!allowedHashes.empty() &&
          std::find(allowedHashes.begin(), allowedHashes.end(), si.hash) == allowedHashes.end()) {
        return badInput("RFC 7427 hash not among those we announced");
      }
      return evpVerify(key.get(), si, sig, signedOctets) ? Status::ok() : badSig;
    }
    default:
      return badInput("not a signature method");
  }
}

}  // namespace braid::ike
