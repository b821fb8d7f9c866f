#include "ipsec/ike/crypto_cipher.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstring>

namespace braid::ike {
namespace {

struct Free {
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
  void operator()(EVP_CIPHER* p) const { EVP_CIPHER_free(p); }
  void operator()(EVP_MAC_CTX* p) const { EVP_MAC_CTX_free(p); }
  void operator()(EVP_MAC* p) const { EVP_MAC_free(p); }
};
template <typename T>
using Ptr = std::unique_ptr<T, Free>;

Status cryptoError(const char* what) {
  return Status(ErrorCode::kCryptoError, std::string("SK payload: ") + what);
}
Status parseError(const char* what) {
  return Status(ErrorCode::kParseError, std::string("SK payload: ") + what);
}

constexpr size_t kAeadIvLength = 8;
constexpr size_t kAeadTagLength = 16;
constexpr size_t kSaltLength = 4;
constexpr size_t kCbcBlock = 16;

// Checks the Pad Length byte at the end of the decrypted data and strips the padding.
Result<std::vector<uint8_t>> unpad(std::vector<uint8_t> plain) {
  if (plain.empty()) return parseError("empty plaintext");
  const size_t padLength = plain.back();
  if (padLength + 1 > plain.size()) return parseError("pad length exceeds payload");
  plain.resize(plain.size() - padLength - 1);
  return plain;
}

// AES-GCM (RFC 5282) and ChaCha20-Poly1305 (RFC 7634): nonce = salt || IV, tag 16 bytes.
class AeadCipher final : public IkeCipher {
 public:
  AeadCipher(Ptr<EVP_CIPHER> cipher, SecretBytes key, Bytes salt)
      : cipher_(std::move(cipher)), key_(std::move(key)) {
    std::memcpy(salt_, salt.data(), kSaltLength);
  }
  ~AeadCipher() override { secureWipe(salt_, sizeof(salt_)); }

  size_t ivLength() const override { return kAeadIvLength; }
  size_t icvLength() const override { return kAeadTagLength; }
  size_t blockSize() const override { return 1; }
  size_t encryptedLength(size_t n) const override { return kAeadIvLength + n + 1 + kAeadTagLength; }
  size_t maxPlaintextLength(size_t body) const override {
    const size_t overhead = kAeadIvLength + 1 + kAeadTagLength;
    return body > overhead ? body - overhead : 0;
  }
  void setIvGenerator(IvGenerator g) override { ivGen_ = std::move(g); }

  Status encrypt(Bytes aad, Bytes plaintext, MutableBytes out) override {
    if (out.size() != encryptedLength(plaintext.size())) return cryptoError("bad output size");
    uint8_t* iv = out.data();
    if (ivGen_) {
      ivGen_(MutableBytes(iv, kAeadIvLength));
    } else {
      // RFC 5282 3.1 / RFC 7634 2: the IV must not repeat under one key; a counter does that.
      if (++counter_ == 0) return cryptoError("IV counter exhausted");
      storeBe64(iv, counter_);
    }
    uint8_t* ct = out.data() + kAeadIvLength;
    // Inner payloads, then Pad Length 0 (no padding: block size 1).
    const size_t ptLen = plaintext.size() + 1;
    uint8_t* tag = ct + ptLen;
    Ptr<EVP_CIPHER_CTX> ctx = start(iv, true);
    if (!ctx) return cryptoError("cipher init");
    int len = 0;
    const uint8_t padLength = 0;
    if (!aad.empty() && EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad.data(),
                                          static_cast<int>(aad.size())) != 1) {
      return cryptoError("AAD");
    }
    if ((!plaintext.empty() && EVP_EncryptUpdate(ctx.get(), ct, &len, plaintext.data(),
                                                 static_cast<int>(plaintext.size())) != 1) ||
        EVP_EncryptUpdate(ctx.get(), ct + plaintext.size(), &len, &padLength, 1) != 1 ||
        EVP_EncryptFinal_ex(ctx.get(), ct + ptLen, &len) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, kAeadTagLength, tag) != 1) {
      return cryptoError("encrypt");
    }
    return Status::ok();
  }

  Result<std::vector<uint8_t>> decrypt(Bytes aad, Bytes body) const override {
    if (body.size() < kAeadIvLength + 1 + kAeadTagLength) return parseError("too short");
    const uint8_t* iv = body.data();
    const size_t ctLen = body.size() - kAeadIvLength - kAeadTagLength;
    const uint8_t* ct = body.data() + kAeadIvLength;
    uint8_t tag[kAeadTagLength];
    std::memcpy(tag, ct + ctLen, kAeadTagLength);
    Ptr<EVP_CIPHER_CTX> ctx = start(iv, false);
    if (!ctx) return cryptoError("cipher init");
    std::vector<uint8_t> plain(ctLen);
    int len = 0;
    if ((!aad.empty() && EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.data(),
                                           static_cast<int>(aad.size())) != 1) ||
        EVP_DecryptUpdate(ctx.get(), plain.data(), &len, ct, static_cast<int>(ctLen)) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, kAeadTagLength, tag) != 1) {
      return cryptoError("decrypt");
    }
    if (EVP_DecryptFinal_ex(ctx.get(), plain.data() + ctLen, &len) != 1) {
      secureWipe(plain.data(), plain.size());
      return Status(ErrorCode::kCryptoError, "SK payload: ICV mismatch");
    }
    return unpad(std::move(plain));
  }

 private:
  Ptr<EVP_CIPHER_CTX> start(const uint8_t* iv, bool enc) const {
    uint8_t nonce[kSaltLength + kAeadIvLength];
    std::memcpy(nonce, salt_, kSaltLength);
    std::memcpy(nonce + kSaltLength, iv, kAeadIvLength);
    Ptr<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
    // Both ciphers take a 12-byte nonce, which is the default IV length for each.
    if (!ctx || EVP_CipherInit_ex2(ctx.get(), cipher_.get(), key_.data(), nonce, enc ? 1 : 0,
                                   nullptr) != 1) {
      return nullptr;
    }
    return ctx;
  }

  Ptr<EVP_CIPHER> cipher_;
  SecretBytes key_;
  uint8_t salt_[kSaltLength];
  uint64_t counter_ = 0;
  IvGenerator ivGen_;
};

// AES-CBC (RFC 3602) with HMAC-SHA2 truncated ICV (RFC 4868).
class CbcHmacCipher final : public IkeCipher {
 public:
  CbcHmacCipher(Ptr<EVP_CIPHER> cipher, SecretBytes key, Ptr<EVP_MAC> mac, const char* digest,
                SecretBytes integKey, size_t icvLength)
      : cipher_(std::move(cipher)),
        key_(std::move(key)),
        mac_(std::move(mac)),
        digest_(digest),
        integKey_(std::move(integKey)),
        icvLength_(icvLength) {}

  size_t ivLength() const override { return kCbcBlock; }
  size_t icvLength() const override { return icvLength_; }
  size_t blockSize() const override { return kCbcBlock; }
  size_t encryptedLength(size_t n) const override {
    return kCbcBlock + paddedLength(n) + icvLength_;
  }
  size_t maxPlaintextLength(size_t body) const override {
    if (body < kCbcBlock + icvLength_ + kCbcBlock) return 0;
    const size_t ct = (body - kCbcBlock - icvLength_) / kCbcBlock * kCbcBlock;
    return ct - 1;
  }
  void setIvGenerator(IvGenerator g) override { ivGen_ = std::move(g); }

  Status encrypt(Bytes aad, Bytes plaintext, MutableBytes out) override {
    if (out.size() != encryptedLength(plaintext.size())) return cryptoError("bad output size");
    uint8_t* iv = out.data();
    if (ivGen_) {
      ivGen_(MutableBytes(iv, kCbcBlock));
    } else if (RAND_bytes(iv, kCbcBlock) != 1) {
      return cryptoError("RAND_bytes");
    }
    const size_t ctLen = paddedLength(plaintext.size());
    // Padding bytes are zero, then Pad Length (RFC 7296 3.14).
    SecretBytes padded(ctLen);
    if (!plaintext.empty()) std::memcpy(padded.data(), plaintext.data(), plaintext.size());
    padded.data()[ctLen - 1] = static_cast<uint8_t>(ctLen - 1 - plaintext.size());
    uint8_t* ct = out.data() + kCbcBlock;
    Ptr<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
    int len = 0;
    if (!ctx || EVP_EncryptInit_ex2(ctx.get(), cipher_.get(), key_.data(), iv, nullptr) != 1 ||
        EVP_CIPHER_CTX_set_padding(ctx.get(), 0) != 1 ||
        EVP_EncryptUpdate(ctx.get(), ct, &len, padded.data(), static_cast<int>(ctLen)) != 1 ||
        EVP_EncryptFinal_ex(ctx.get(), ct + ctLen, &len) != 1) {
      return cryptoError("encrypt");
    }
    uint8_t icv[EVP_MAX_MD_SIZE];
    if (!computeIcv(aad, Bytes(out.data(), kCbcBlock + ctLen), icv)) return cryptoError("HMAC");
    std::memcpy(ct + ctLen, icv, icvLength_);
    return Status::ok();
  }

  Result<std::vector<uint8_t>> decrypt(Bytes aad, Bytes body) const override {
    if (body.size() < kCbcBlock + kCbcBlock + icvLength_) return parseError("too short");
    const size_t ctLen = body.size() - kCbcBlock - icvLength_;
    if (ctLen % kCbcBlock != 0) return parseError("not a multiple of the block size");
    // Integrity first (RFC 7296 3.14): nothing is decrypted from an unauthenticated message.
    uint8_t icv[EVP_MAX_MD_SIZE];
    if (!computeIcv(aad, body.first(kCbcBlock + ctLen), icv)) return cryptoError("HMAC");
    if (CRYPTO_memcmp(icv, body.data() + kCbcBlock + ctLen, icvLength_) != 0) {
      return Status(ErrorCode::kCryptoError, "SK payload: ICV mismatch");
    }
    std::vector<uint8_t> plain(ctLen + kCbcBlock);
    Ptr<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
    int len = 0, fin = 0;
    if (!ctx ||
        EVP_DecryptInit_ex2(ctx.get(), cipher_.get(), key_.data(), body.data(), nullptr) != 1 ||
        EVP_CIPHER_CTX_set_padding(ctx.get(), 0) != 1 ||
        EVP_DecryptUpdate(ctx.get(), plain.data(), &len, body.data() + kCbcBlock,
                          static_cast<int>(ctLen)) != 1 ||
        EVP_DecryptFinal_ex(ctx.get(), plain.data() + len, &fin) != 1) {
      return cryptoError("decrypt");
    }
    plain.resize(ctLen);
    return unpad(std::move(plain));
  }

 private:
  static size_t paddedLength(size_t n) { return (n + 1 + kCbcBlock - 1) / kCbcBlock * kCbcBlock; }

  bool computeIcv(Bytes aad, Bytes ivAndCt, uint8_t* out) const {
    Ptr<EVP_MAC_CTX> ctx(EVP_MAC_CTX_new(mac_.get()));
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest_), 0),
        OSSL_PARAM_construct_end()};
    size_t len = 0;
    return ctx && EVP_MAC_init(ctx.get(), integKey_.data(), integKey_.size(), params) == 1 &&
           (aad.empty() || EVP_MAC_update(ctx.get(), aad.data(), aad.size()) == 1) &&
           EVP_MAC_update(ctx.get(), ivAndCt.data(), ivAndCt.size()) == 1 &&
           EVP_MAC_final(ctx.get(), out, &len, EVP_MAX_MD_SIZE) == 1 && len >= icvLength_;
  }

  Ptr<EVP_CIPHER> cipher_;
  SecretBytes key_;
  Ptr<EVP_MAC> mac_;
  const char* digest_;
  SecretBytes integKey_;
  size_t icvLength_;
  IvGenerator ivGen_;
};

}  // namespace

Result<std::unique_ptr<IkeCipher>> IkeCipher::create(const Suite& suite, Bytes encrKey,
                                                     Bytes integKey) {
  const size_t keyLen = encrKeyLength(suite.encr, suite.encrKeyBits);
  if (keyLen == 0 || encrKey.size() != keyLen) {
    return Status(ErrorCode::kInvalidArgument, "SK payload: bad encryption key or algorithm");
  }
  if (suite.isAead()) {
    const char* name = suite.encr == EncrId::kChaCha20Poly1305 ? "ChaCha20-Poly1305"
                       : suite.encrKeyBits == 128              ? "AES-128-GCM"
                                                               : "AES-256-GCM";
    Ptr<EVP_CIPHER> cipher(EVP_CIPHER_fetch(nullptr, name, nullptr));
    if (!cipher) return cryptoError("cipher unavailable");
    const size_t k = keyLen - kSaltLength;
    return std::unique_ptr<IkeCipher>(std::make_unique<AeadCipher>(
        std::move(cipher), SecretBytes(encrKey.first(k)), encrKey.subspan(k)));
  }
  const char* digest = nullptr;
  size_t icv = 0;
  switch (suite.integ) {
    case IntegId::kHmacSha256_128:
      digest = "SHA256", icv = 16;
      break;
    case IntegId::kHmacSha384_192:
      digest = "SHA384", icv = 24;
      break;
    case IntegId::kHmacSha512_256:
      digest = "SHA512", icv = 32;
      break;
    default:
      return Status(ErrorCode::kInvalidArgument, "SK payload: bad integrity algorithm");
  }
  if (integKey.size() != integKeyLength(suite.integ)) {
    return Status(ErrorCode::kInvalidArgument, "SK payload: bad integrity key length");
  }
  Ptr<EVP_CIPHER> cipher(
      EVP_CIPHER_fetch(nullptr, suite.encrKeyBits == 128 ? "AES-128-CBC" : "AES-256-CBC", nullptr));
  Ptr<EVP_MAC> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!cipher || !mac) return cryptoError("cipher unavailable");
  return std::unique_ptr<IkeCipher>(std::make_unique<CbcHmacCipher>(
      std::move(cipher), SecretBytes(encrKey), std::move(mac), digest, SecretBytes(integKey), icv));
}

Result<IkeCipherPair> createIkeCiphers(const Suite& suite, const IkeSaKeys& keys,
                                       bool isInitiator) {
  const SecretBytes& outE = isInitiator ? keys.skEi : keys.skEr;
  const SecretBytes& outA = isInitiator ? keys.skAi : keys.skAr;
  const SecretBytes& inE = isInitiator ? keys.skEr : keys.skEi;
  const SecretBytes& inA = isInitiator ? keys.skAr : keys.skAi;
  auto out = IkeCipher::create(suite, outE.bytes(), outA.bytes());
  if (!out) return out.status();
  auto in = IkeCipher::create(suite, inE.bytes(), inA.bytes());
  if (!in) return in.status();
  return IkeCipherPair{std::move(*out), std::move(*in)};
}

Result<std::vector<uint8_t>> sealMessage(IkeCipher& cipher, Bytes prefix, uint8_t firstInnerPayload,
                                         Bytes inner) {
  if (prefix.size() < kIkeHeaderLength) return parseError("prefix shorter than IKE header");
  const size_t body = cipher.encryptedLength(inner.size());
  const size_t skLength = 4 + body;
  const size_t total = prefix.size() + skLength;
  if (skLength > 0xFFFF || total > 0xFFFFFFFFu) return parseError("message too long");
  std::vector<uint8_t> msg(total);
  std::memcpy(msg.data(), prefix.data(), prefix.size());
  storeBe32(msg.data() + 24, static_cast<uint32_t>(total));
  uint8_t* sk = msg.data() + prefix.size();
  sk[0] = firstInnerPayload;
  sk[1] = 0;  // Critical bit clear, RESERVED
  storeBe16(sk + 2, static_cast<uint16_t>(skLength));
  const size_t aadLength = prefix.size() + 4;
  if (Status st = cipher.encrypt(Bytes(msg.data(), aadLength), inner,
                                 MutableBytes(msg.data() + aadLength, body));
      !st) {
    return st;
  }
  return msg;
}

Result<std::vector<uint8_t>> openMessage(const IkeCipher& cipher, Bytes message, size_t skOffset) {
  if (skOffset < kIkeHeaderLength || message.size() < skOffset + 4) {
    return parseError("bad SK payload offset");
  }
  if (loadBe32(message.data() + 24) != message.size()) {
    return parseError("IKE header length does not match the message");
  }
  if (loadBe16(message.data() + skOffset + 2) != message.size() - skOffset) {
    return parseError("SK payload length does not reach the end of the message");
  }
  return cipher.decrypt(message.first(skOffset + 4), message.subspan(skOffset + 4));
}

}  // namespace braid::ike
